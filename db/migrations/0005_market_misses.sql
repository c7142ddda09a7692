-- Condition ids Gamma did not know when asked: not asked again for a day (they would otherwise
-- be re-fetched by every markets loop forever and crowd out new ones).
CREATE TABLE market_misses (
    condition_id text        PRIMARY KEY,
    missed_at    timestamptz NOT NULL
);
