-- Category boards: one snapshot per (category, period); 'overall' is the main leaderboard.
-- pending_count / thin_count: traders on the board without a copy-score rank because their
-- details are not loaded yet / they have too little evidence (bot/leaderboard/evidence.py).
ALTER TABLE leaderboard_snapshots ADD COLUMN category text NOT NULL DEFAULT 'overall';
ALTER TABLE leaderboard_snapshots ADD COLUMN pending_count integer NOT NULL DEFAULT 0;
ALTER TABLE leaderboard_snapshots ADD COLUMN thin_count integer NOT NULL DEFAULT 0;
DROP INDEX leaderboard_snapshots_period_status;
CREATE INDEX leaderboard_snapshots_board
    ON leaderboard_snapshots (category, period, status, id DESC);

-- A trader without enough evidence keeps its pnl and volume ranks and has no score rank.
ALTER TABLE leaderboard_entries ALTER COLUMN rank_score DROP NOT NULL;
-- Boards stored before the evidence thresholds ranked every trader by score, and their stored
-- trader stats lack the 90-day figures (they are fetched again): until the first refresh
-- replaces them, those boards keep their pnl and volume ranks and count everyone as pending.
UPDATE leaderboard_entries SET rank_score = NULL;
UPDATE leaderboard_snapshots SET pending_count = trader_count;

-- The score's own record: once a week the top 10 of the month's overall board by score, by
-- PnL and by volume; how each did since is read from trader_daily_stats.
CREATE TABLE score_picks (
    picked_on  date    NOT NULL,
    metric     text    NOT NULL CHECK (metric IN ('score', 'pnl', 'volume')),
    rank       integer NOT NULL CHECK (rank >= 1),
    wallet     text    NOT NULL,
    PRIMARY KEY (picked_on, metric, rank)
);
