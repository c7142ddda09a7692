"""leaderboard feature."""
