"""trades feature."""
