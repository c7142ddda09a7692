-- One row per running process of the bot: several processes with the same DATABASE_URL form one
-- bot (shards split between them). Each refreshes its row every few seconds; /admin status lists
-- them, the leader and the stale ones (no beat for three intervals: killed, or cut off).
CREATE TABLE cluster_members (
    process_id  text        PRIMARY KEY,
    host        text        NOT NULL,
    pid         integer     NOT NULL,
    shards      integer[]   NOT NULL DEFAULT '{}',  -- empty: every shard of shard_count, or unsharded
    shard_count integer,
    role        text        NOT NULL CHECK (role IN ('leader', 'follower')),
    started_at  timestamptz NOT NULL,
    last_beat   timestamptz NOT NULL DEFAULT now()
);
