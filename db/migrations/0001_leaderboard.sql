-- Leaderboard snapshots: one meta row per period per refresh, one entry per trader per snapshot.
CREATE TABLE leaderboard_snapshots (
    id            bigserial PRIMARY KEY,
    period        text        NOT NULL CHECK (period IN ('day', 'week', 'month', 'all')),
    status        text        NOT NULL CHECK (status IN ('IN_PROGRESS', 'SUCCESS', 'FAILED')),
    started_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz,
    trader_count  integer     NOT NULL DEFAULT 0,
    duration_ms   integer,
    error         text,
    component_names text[]    NOT NULL DEFAULT '{}'
);
CREATE INDEX leaderboard_snapshots_period_status ON leaderboard_snapshots (period, status, id DESC);
CREATE INDEX leaderboard_snapshots_started ON leaderboard_snapshots (started_at);

-- One row per (snapshot, trader) carrying its rank by every metric: within a snapshot each rank
-- column is a permutation of 1..trader_count (write_boards checks this before writing), so
-- metric M's page N is WHERE snapshot_id = $1 AND rank_M BETWEEN ... ORDER BY rank_M.
-- Deliberately no foreign key and no index: the per-row FK check was most of the COPY's server
-- time, and each index on (snapshot_id, rank_*) added ~15 ms to writing 6,668 rows, while the
-- table only ever holds about two snapshots per period (prune deletes the entries of replaced
-- snapshots explicitly, before their meta rows expire) and is read whole, by snapshot, only on
-- a warm start: sequential scans of it are cheap.
CREATE TABLE leaderboard_entries (
    snapshot_id   bigint           NOT NULL,
    rank_pnl      integer          NOT NULL,
    rank_volume   integer          NOT NULL,
    rank_score    integer          NOT NULL,
    verified      boolean          NOT NULL DEFAULT false,
    pnl           double precision NOT NULL,
    volume        double precision NOT NULL,
    score         double precision NOT NULL,
    wallet        text             NOT NULL,
    user_name     text             NOT NULL DEFAULT '',
    x_username    text             NOT NULL DEFAULT '',
    -- the meta row's component_names values, in that order, as little-endian float8 (8 bytes each)
    components    bytea            NOT NULL DEFAULT '\x'
);

-- Per-trader aggregates the copy score needs, shared by all periods, refreshed on a TTL.
CREATE TABLE trader_stats (
    wallet      text        PRIMARY KEY,
    fetched_at  timestamptz NOT NULL,
    stats       jsonb       NOT NULL
);

-- Small key/value state (e.g. the hash of the last synced command tree).
CREATE TABLE bot_state (
    key         text        PRIMARY KEY,
    value       text        NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);
