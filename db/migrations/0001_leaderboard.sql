-- Leaderboard snapshots: one meta row per period per refresh, entries per (metric, rank).
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

CREATE TABLE leaderboard_entries (
    snapshot_id   bigint           NOT NULL REFERENCES leaderboard_snapshots (id) ON DELETE CASCADE,
    metric        text             NOT NULL CHECK (metric IN ('pnl', 'volume', 'score')),
    rank          integer          NOT NULL,
    wallet        text             NOT NULL,
    user_name     text             NOT NULL DEFAULT '',
    x_username    text             NOT NULL DEFAULT '',
    verified      boolean          NOT NULL DEFAULT false,
    pnl           double precision NOT NULL,
    volume        double precision NOT NULL,
    score         double precision NOT NULL,
    components    double precision[] NOT NULL DEFAULT '{}',  -- values for the meta row's component_names
    PRIMARY KEY (snapshot_id, metric, rank)
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
