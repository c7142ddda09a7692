-- Stored trades of followed wallets (and whale trades), keyed by the fill's natural key.
CREATE TABLE trades (
    trade_key        text PRIMARY KEY,
    wallet           text             NOT NULL,
    asset            text             NOT NULL,
    condition_id     text             NOT NULL DEFAULT '',
    side             text             NOT NULL CHECK (side IN ('BUY', 'SELL')),
    size             double precision NOT NULL,
    price            double precision NOT NULL,
    traded_at        timestamptz      NOT NULL,
    transaction_hash text             NOT NULL,
    outcome          text             NOT NULL DEFAULT '',
    title            text             NOT NULL DEFAULT '',
    slug             text             NOT NULL DEFAULT '',
    event_slug       text             NOT NULL DEFAULT '',
    name             text             NOT NULL DEFAULT '',
    pseudonym        text             NOT NULL DEFAULT '',
    source           text             NOT NULL CHECK (source IN ('stream', 'backfill')),
    received_at      timestamptz      NOT NULL DEFAULT now()
);
CREATE INDEX trades_wallet_time ON trades (wallet, traded_at DESC);
CREATE INDEX trades_received ON trades (received_at);

-- Follows: alerts for one wallet's trades in one channel.
CREATE TABLE follows (
    id              bigserial PRIMARY KEY,
    guild_id        bigint           NOT NULL,
    channel_id      bigint           NOT NULL,
    wallet          text             NOT NULL,
    label           text             NOT NULL DEFAULT '',
    min_usd         double precision NOT NULL DEFAULT 0,
    side            text             NOT NULL DEFAULT 'both' CHECK (side IN ('buy', 'sell', 'both')),
    created_by      bigint           NOT NULL,
    created_at      timestamptz      NOT NULL DEFAULT now(),
    enabled         boolean          NOT NULL DEFAULT true,
    disabled_reason text,
    alerts_sent     bigint           NOT NULL DEFAULT 0,
    UNIQUE (channel_id, wallet)
);
CREATE INDEX follows_guild ON follows (guild_id);

-- Whale watches: any wallet's trade of at least min_usd, per channel.
CREATE TABLE whale_watches (
    channel_id            bigint PRIMARY KEY,
    guild_id              bigint           NOT NULL,
    min_usd               double precision NOT NULL,
    include_near_certain  boolean          NOT NULL DEFAULT false,
    created_by            bigint           NOT NULL,
    created_at            timestamptz      NOT NULL DEFAULT now(),
    enabled               boolean          NOT NULL DEFAULT true,
    disabled_reason       text,
    alerts_sent           bigint           NOT NULL DEFAULT 0
);

-- Outbox: one Discord message (up to 10 embeds) per row, sent with its nonce so a resend after
-- a crash is recognised by Discord (enforce_nonce) instead of posted twice.
CREATE TABLE alert_messages (
    id                 bigserial PRIMARY KEY,
    channel_id         bigint      NOT NULL,
    nonce              text        NOT NULL UNIQUE,
    status             text        NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'SENT', 'FAILED')),
    attempts           integer     NOT NULL DEFAULT 0,
    created_at         timestamptz NOT NULL DEFAULT now(),
    sent_at            timestamptz,
    discord_message_id bigint,
    error              text
);
CREATE INDEX alert_messages_pending ON alert_messages (channel_id, id) WHERE status = 'PENDING';

-- One row per (trade, channel): the exactly-once key of alert delivery.
CREATE TABLE alert_deliveries (
    trade_key   text        NOT NULL REFERENCES trades (trade_key) ON DELETE CASCADE,
    channel_id  bigint      NOT NULL,
    guild_id    bigint      NOT NULL,
    kind        text        NOT NULL CHECK (kind IN ('follow', 'whale')),
    follow_id   bigint,
    delayed     boolean     NOT NULL DEFAULT false,
    message_id  bigint      REFERENCES alert_messages (id) ON DELETE SET NULL,
    status      text        NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'SENT', 'FAILED')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    sent_at     timestamptz,
    PRIMARY KEY (trade_key, channel_id)
);
CREATE INDEX alert_deliveries_pending ON alert_deliveries (channel_id, created_at) WHERE status = 'PENDING';
