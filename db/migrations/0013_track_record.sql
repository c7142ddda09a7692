-- The follow-through of every alerted trade (bot/trackrecord/): its alert price, its marks at
-- +1 h and +24 h, its latest mark and, once the market resolved, its payout per share.
-- Copied from the alert outbox (trades + alert_deliveries, which are pruned after
-- TRADES_RETENTION_DAYS) so the record outlives them; one row per trade, however many
-- servers and channels were alerted.
CREATE TABLE alert_outcomes (
    trade_key       text             PRIMARY KEY,
    wallet          text             NOT NULL,
    asset           text             NOT NULL,
    condition_id    text             NOT NULL,
    side            text             NOT NULL CHECK (side IN ('BUY', 'SELL')),
    alert_price     double precision NOT NULL CHECK (alert_price > 0 AND alert_price < 1),
    alerted_at      timestamptz      NOT NULL,
    title           text             NOT NULL DEFAULT '',
    outcome         text             NOT NULL DEFAULT '',
    price_1h        double precision CHECK (price_1h BETWEEN 0 AND 1),
    price_24h       double precision CHECK (price_24h BETWEEN 0 AND 1),
    last_price      double precision CHECK (last_price BETWEEN 0 AND 1),
    last_marked_at  timestamptz,
    payout          double precision CHECK (payout BETWEEN 0 AND 1),
    settled_at      timestamptz
);
CREATE INDEX alert_outcomes_open ON alert_outcomes (condition_id) WHERE payout IS NULL;
CREATE INDEX alert_outcomes_wallet ON alert_outcomes (wallet, alerted_at DESC);
CREATE INDEX alert_outcomes_alerted ON alert_outcomes (alerted_at);

-- Which servers were alerted of which trade, and how (follow, whale, fresh, smart, consensus):
-- /track-record counts a server's own alerts.
CREATE TABLE alert_outcome_guilds (
    guild_id    bigint      NOT NULL,
    kind        text        NOT NULL,
    trade_key   text        NOT NULL REFERENCES alert_outcomes (trade_key) ON DELETE CASCADE,
    alerted_at  timestamptz NOT NULL,
    PRIMARY KEY (guild_id, kind, trade_key)
);
CREATE INDEX alert_outcome_guilds_time ON alert_outcome_guilds (guild_id, alerted_at DESC);
