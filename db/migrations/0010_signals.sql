-- Signals (fresh wallets, smart money, consensus), market categories, server-local trader labels.

-- A delivery may now be a signal as well as a follow or a whale alert; still one per
-- (trade, channel).
ALTER TABLE alert_deliveries DROP CONSTRAINT alert_deliveries_kind_check;
ALTER TABLE alert_deliveries ADD CONSTRAINT alert_deliveries_kind_check
    CHECK (kind IN ('follow', 'whale', 'fresh', 'smart', 'consensus'));

-- Optional category filters (NULL: every market).
ALTER TABLE follows ADD COLUMN category text;
ALTER TABLE whale_watches ADD COLUMN category text;

-- One channel per server and kind of signal.
CREATE TABLE signal_watches (
    guild_id        bigint           NOT NULL,
    kind            text             NOT NULL CHECK (kind IN ('fresh', 'smart', 'consensus')),
    channel_id      bigint           NOT NULL,
    min_usd         double precision NOT NULL CHECK (min_usd > 0),
    category        text,
    created_by      bigint           NOT NULL,
    created_at      timestamptz      NOT NULL DEFAULT now(),
    enabled         boolean          NOT NULL DEFAULT true,
    disabled_reason text,
    PRIMARY KEY (guild_id, kind)
);
CREATE INDEX signal_watches_channel ON signal_watches (channel_id);

-- A server's own name for a wallet, shown on that server's cards, /alerts and autocomplete.
CREATE TABLE trader_labels (
    guild_id    bigint      NOT NULL,
    wallet      text        NOT NULL,
    name        text        NOT NULL CHECK (name <> ''),
    created_by  bigint      NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (guild_id, wallet)
);

-- When a wallet's Polymarket account began (profile createdAt, else its first trade): learnt
-- once per wallet, so a restart does not look every big trader up again.
CREATE TABLE wallet_ages (
    wallet      text        PRIMARY KEY,
    created_at  timestamptz NOT NULL,
    source      text        NOT NULL CHECK (source IN ('profile', 'first_trade', 'first_seen')),
    checked_at  timestamptz NOT NULL DEFAULT now()
);

-- What a card and the category filters need to know of a market, learnt once from its tags.
CREATE TABLE market_facts (
    condition_id text             PRIMARY KEY,
    categories   text[]           NOT NULL DEFAULT '{}',
    icon         text             NOT NULL DEFAULT '',
    tick_size    double precision,
    learnt_at    timestamptz      NOT NULL DEFAULT now()
);

-- A consensus alert fired in a channel for an outcome, with who made it. Written in the same
-- transaction as the trade that completed it; an advisory lock on the outcome and the 24 h
-- look-back make a duplicate trade, a retry or a restart unable to fire a second one.
CREATE TABLE consensus_alerts (
    id            bigserial   PRIMARY KEY,
    channel_id    bigint      NOT NULL,
    guild_id      bigint      NOT NULL,
    asset         text        NOT NULL,
    trade_key     text        NOT NULL REFERENCES trades (trade_key) ON DELETE CASCADE,
    fired_at      timestamptz NOT NULL,
    participants  jsonb       NOT NULL,
    UNIQUE (trade_key, channel_id)
);
CREATE INDEX consensus_alerts_recent ON consensus_alerts (asset, channel_id, fired_at DESC);

-- When a wallet's open positions were last read whole (its follow), so a card can tell a new
-- position from an added one even for a wallet that held nothing.
CREATE TABLE position_syncs (
    wallet     text        PRIMARY KEY,
    synced_at  timestamptz NOT NULL
);
