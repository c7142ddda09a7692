-- Trader profiles: identity, the aggregates a profile shows, and when they were last fetched.
CREATE TABLE traders (
    wallet         text        PRIMARY KEY,
    user_name      text        NOT NULL DEFAULT '',
    pseudonym      text        NOT NULL DEFAULT '',
    profile_image  text        NOT NULL DEFAULT '',
    stats          jsonb       NOT NULL DEFAULT '{}'::jsonb,
    latest_trades  jsonb       NOT NULL DEFAULT '[]'::jsonb,
    markets_traded integer     NOT NULL DEFAULT 0,
    first_seen     timestamptz NOT NULL DEFAULT now(),
    last_seen      timestamptz NOT NULL DEFAULT now(),
    details_at     timestamptz
);

-- One row per trader per day: the chart's data (realized PnL, volume, trades).
CREATE TABLE trader_daily_stats (
    wallet        text             NOT NULL,
    day           date             NOT NULL,
    realized_pnl  double precision NOT NULL DEFAULT 0,
    volume        double precision NOT NULL DEFAULT 0,
    trades        integer          NOT NULL DEFAULT 0,
    PRIMARY KEY (wallet, day)
);

-- Open positions as last synced.
CREATE TABLE trader_positions (
    wallet         text             NOT NULL,
    asset          text             NOT NULL,
    condition_id   text             NOT NULL DEFAULT '',
    title          text             NOT NULL DEFAULT '',
    slug           text             NOT NULL DEFAULT '',
    outcome        text             NOT NULL DEFAULT '',
    size           double precision NOT NULL,
    avg_price      double precision NOT NULL,
    cur_price      double precision NOT NULL,
    current_value  double precision NOT NULL,
    cash_pnl       double precision NOT NULL,
    updated_at     timestamptz      NOT NULL DEFAULT now(),
    PRIMARY KEY (wallet, asset)
);

-- Markets seen in trades, positions and searches.
CREATE TABLE markets (
    condition_id      text PRIMARY KEY,
    gamma_id          text             NOT NULL DEFAULT '',
    slug              text             NOT NULL DEFAULT '',
    question          text             NOT NULL DEFAULT '',
    outcomes          text[]           NOT NULL DEFAULT '{}',
    token_ids         text[]           NOT NULL DEFAULT '{}',
    prices            double precision[] NOT NULL DEFAULT '{}',
    volume            double precision NOT NULL DEFAULT 0,
    liquidity         double precision NOT NULL DEFAULT 0,
    end_date          text             NOT NULL DEFAULT '',
    closed            boolean          NOT NULL DEFAULT false,
    resolved          boolean          NOT NULL DEFAULT false,
    winner_index      integer,
    event_slug        text             NOT NULL DEFAULT '',
    image             text             NOT NULL DEFAULT '',
    prices_at         timestamptz,
    updated_at        timestamptz      NOT NULL DEFAULT now(),
    last_requested_at timestamptz
);
CREATE INDEX markets_slug ON markets (slug);
CREATE INDEX markets_tokens ON markets USING gin (token_ids);
