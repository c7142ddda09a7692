-- Paper copy-trading: a user's paper portfolio, the traders it copies, the paper orders that
-- mirror each copied trade, the positions they build, settlements and hourly value snapshots.
-- Every money movement is guarded here (status/version checks, UNIQUE keys) so that a retried
-- write, a restarted sync or two bot processes can never fill or settle anything twice.

-- One paper portfolio per Discord user per guild. Cash starts at the first copy's budget and
-- every further copy deposits its own budget; `deposited` keeps that sum, so
-- cash + cost basis of open positions - realized_pnl = deposited holds at all times.
CREATE TABLE portfolios (
    id            bigserial PRIMARY KEY,
    guild_id      bigint           NOT NULL,
    user_id       bigint           NOT NULL,
    cash          double precision NOT NULL DEFAULT 0,
    deposited     double precision NOT NULL DEFAULT 0,
    realized_pnl  double precision NOT NULL DEFAULT 0,
    created_at    timestamptz      NOT NULL DEFAULT now(),
    UNIQUE (guild_id, user_id)
);

-- What a user copies: one trader wallet, a total budget and a size per copied trade.
CREATE TABLE copy_configs (
    id             bigserial PRIMARY KEY,
    portfolio_id   bigint           NOT NULL REFERENCES portfolios (id),
    guild_id       bigint           NOT NULL,
    user_id        bigint           NOT NULL,
    wallet         text             NOT NULL,
    budget_usd     double precision NOT NULL CHECK (budget_usd > 0),
    per_trade_usd  double precision NOT NULL CHECK (per_trade_usd > 0),
    active         boolean          NOT NULL DEFAULT true,
    created_at     timestamptz      NOT NULL DEFAULT now(),
    stopped_at     timestamptz
);
-- A user copies a trader at most once at a time (a stopped copy may be started again).
CREATE UNIQUE INDEX copy_configs_one_active ON copy_configs (guild_id, user_id, wallet) WHERE active;
CREATE INDEX copy_configs_wallet ON copy_configs (wallet) WHERE active;

-- One paper order per (copy config, copied trade): the idempotency key makes a duplicate trade
-- (stream + backfill, a retried write, two processes) collapse into the first order.
-- `version` grows with every update; fills and transitions update WHERE status = expected AND
-- version = expected, so two syncs racing over one order can apply at most one of them.
CREATE TABLE paper_orders (
    id               bigserial PRIMARY KEY,
    idempotency_key  text             NOT NULL UNIQUE,
    config_id        bigint           NOT NULL REFERENCES copy_configs (id),
    portfolio_id     bigint           NOT NULL REFERENCES portfolios (id),
    trade_key        text             NOT NULL,
    wallet           text             NOT NULL,
    asset            text             NOT NULL,
    condition_id     text             NOT NULL DEFAULT '',
    title            text             NOT NULL DEFAULT '',
    outcome          text             NOT NULL DEFAULT '',
    side             text             NOT NULL CHECK (side IN ('BUY', 'SELL')),
    trade_price      double precision NOT NULL,
    limit_price      double precision NOT NULL,
    size_usd         double precision NOT NULL DEFAULT 0,   -- BUY: dollars to spend
    size_shares      double precision NOT NULL DEFAULT 0,   -- SELL: shares to sell
    filled_shares    double precision NOT NULL DEFAULT 0,
    filled_usd       double precision NOT NULL DEFAULT 0,   -- BUY: cost, SELL: proceeds
    -- Shares this order took per price level ({"0.510000": 12.5}): a later try sees the book
    -- minus its own earlier take, so an unchanged book cannot fill the same liquidity twice.
    taken            jsonb            NOT NULL DEFAULT '{}'::jsonb,
    status           text             NOT NULL DEFAULT 'PLACED'
        CHECK (status IN ('PLACED', 'PENDING', 'PARTIAL', 'FILLED', 'CANCELLED', 'LOST')),
    reason           text             NOT NULL DEFAULT '',
    version          integer          NOT NULL DEFAULT 0,
    attempts         integer          NOT NULL DEFAULT 0,
    missing_syncs    integer          NOT NULL DEFAULT 0,
    created_at       timestamptz      NOT NULL DEFAULT now(),
    updated_at       timestamptz      NOT NULL DEFAULT now()
);
CREATE INDEX paper_orders_open ON paper_orders (asset)
    WHERE status IN ('PLACED', 'PENDING', 'PARTIAL');
CREATE INDEX paper_orders_portfolio ON paper_orders (portfolio_id, id DESC);
CREATE INDEX paper_orders_config ON paper_orders (config_id, side);

-- Holdings per portfolio and outcome token. A position sold to zero or settled keeps its row
-- (closed_at set) for the realized PnL and the win rate.
CREATE TABLE paper_positions (
    portfolio_id  bigint           NOT NULL REFERENCES portfolios (id),
    asset         text             NOT NULL,
    condition_id  text             NOT NULL DEFAULT '',
    title         text             NOT NULL DEFAULT '',
    outcome       text             NOT NULL DEFAULT '',
    size          double precision NOT NULL DEFAULT 0 CHECK (size >= 0),
    cost_basis    double precision NOT NULL DEFAULT 0,
    avg_price     double precision NOT NULL DEFAULT 0,
    realized_pnl  double precision NOT NULL DEFAULT 0,
    last_price    double precision,
    settled       boolean          NOT NULL DEFAULT false,
    opened_at     timestamptz      NOT NULL DEFAULT now(),
    closed_at     timestamptz,
    updated_at    timestamptz      NOT NULL DEFAULT now(),
    PRIMARY KEY (portfolio_id, asset)
);
CREATE INDEX paper_positions_open ON paper_positions (asset) WHERE size > 0;

-- A resolved position paid out at 1 or 0 per share, exactly once per (portfolio, token).
CREATE TABLE settlements (
    portfolio_id  bigint           NOT NULL REFERENCES portfolios (id),
    asset         text             NOT NULL,
    condition_id  text             NOT NULL DEFAULT '',
    size          double precision NOT NULL,
    payout        double precision NOT NULL,
    proceeds      double precision NOT NULL,
    realized_pnl  double precision NOT NULL,
    settled_at    timestamptz      NOT NULL DEFAULT now(),
    PRIMARY KEY (portfolio_id, asset)
);

-- Portfolio value once an hour: the /portfolio chart.
CREATE TABLE portfolio_snapshots (
    portfolio_id  bigint           NOT NULL REFERENCES portfolios (id),
    hour          timestamptz      NOT NULL,
    cash          double precision NOT NULL,
    value         double precision NOT NULL,
    PRIMARY KEY (portfolio_id, hour)
);
