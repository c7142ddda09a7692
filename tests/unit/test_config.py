from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, Settings


def test_defaults_match_the_design_contract() -> None:
    s = Settings.from_env({})
    assert s.discord_token is None and s.database_url is None
    assert s.data_dir == Path("./data")
    assert s.data_api_url == "https://data-api.polymarket.com"
    assert s.gamma_api_url == "https://gamma-api.polymarket.com"
    assert s.clob_api_url == "https://clob.polymarket.com"
    assert s.rtds_url == "wss://ws-live-data.polymarket.com"
    assert s.leaderboard_refresh_seconds == 60 and s.order_sync_seconds == 60
    assert s.leaderboard_candidates == 200 and s.trader_detail_ttl_seconds == 600
    assert s.log_level == "INFO" and s.guild_ids == ()


def test_values_are_parsed_and_trailing_slashes_dropped() -> None:
    s = Settings.from_env(
        {
            "DISCORD_TOKEN": " abc ",
            "DISCORD_GUILD_IDS": "1, 2,3",
            "BOT_OWNER_IDS": "42",
            "POLYMARKET_DATA_API_URL": "http://127.0.0.1:1/",
            "LEADERBOARD_REFRESH_SECONDS": "0.5",
            "LOG_LEVEL": "debug",
        }
    )
    assert s.discord_token == "abc" and s.guild_ids == (1, 2, 3) and s.owner_ids == (42,)
    assert s.data_api_url == "http://127.0.0.1:1"
    assert s.leaderboard_refresh_seconds == 0.5 and s.log_level == "DEBUG"


@pytest.mark.parametrize(
    "env",
    [
        {"DISCORD_GUILD_IDS": "abc"},
        {"LEADERBOARD_REFRESH_SECONDS": "soon"},
        {"LEADERBOARD_REFRESH_SECONDS": "-1"},
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env(env)
    assert next(iter(env)) in str(info.value)


def test_score_and_track_record_settings() -> None:
    defaults = Settings.from_env({})
    assert (defaults.score_min_closed, defaults.score_min_volume) == (5, 1_000.0)
    assert defaults.category_refresh_seconds == 600 and defaults.track_record_seconds == 300
    s = Settings.from_env(
        {
            "SCORE_MIN_CLOSED": "8",
            "SCORE_MIN_VOLUME": "2500",
            "CATEGORY_REFRESH_SECONDS": "900",
            "TRACK_RECORD_SECONDS": "60",
        }
    )
    assert (s.score_min_closed, s.score_min_volume) == (8, 2_500.0)
    assert s.category_refresh_seconds == 900 and s.track_record_seconds == 60
    for name in ("SCORE_MIN_CLOSED", "SCORE_MIN_VOLUME", "TRACK_RECORD_SECONDS"):
        with pytest.raises(ConfigError, match=name):
            Settings.from_env({name: "-3"})


def test_fresh_wallet_days() -> None:
    assert Settings.from_env({}).fresh_wallet_days == 14
    assert Settings.from_env({"FRESH_WALLET_DAYS": "3.5"}).fresh_wallet_days == 3.5
    with pytest.raises(ConfigError, match="FRESH_WALLET_DAYS"):
        Settings.from_env({"FRESH_WALLET_DAYS": "soon"})
    with pytest.raises(ConfigError, match="FRESH_WALLET_DAYS"):
        Settings.from_env({"FRESH_WALLET_DAYS": "0"})


def test_shards_and_metrics_settings() -> None:
    s = Settings.from_env(
        {"SHARD_COUNT": "4", "SHARD_IDS": "3, 1", "DATABASE_URL": "postgresql://db/bot"}
    )
    assert s.shard_count == 4 and s.shard_ids == (1, 3)
    assert s.metrics_port is None and s.metrics_host == "127.0.0.1"
    s = Settings.from_env({"SHARD_COUNT": "2", "METRICS_PORT": "9108", "METRICS_HOST": "0.0.0.0"})
    assert s.shard_count == 2 and s.shard_ids == () and s.metrics_port == 9108
    assert s.metrics_host == "0.0.0.0"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"SHARD_IDS": "0"}, "SHARD_IDS needs SHARD_COUNT"),
        ({"SHARD_COUNT": "2", "SHARD_IDS": "2", "DATABASE_URL": "x"}, "SHARD_IDS"),
        ({"SHARD_COUNT": "2", "SHARD_IDS": "0,0", "DATABASE_URL": "x"}, "SHARD_IDS"),
        ({"SHARD_COUNT": "1.5"}, "SHARD_COUNT"),
        ({"SHARD_COUNT": "0"}, "SHARD_COUNT"),
        ({"METRICS_PORT": "http"}, "METRICS_PORT"),
        ({"CLUSTER_POLL_SECONDS": "5"}, "CLUSTER_POLL_SECONDS"),
        # part of the shards without a shared database: the embedded one serves one process
        ({"SHARD_COUNT": "2", "SHARD_IDS": "0"}, "DATABASE_URL"),
    ],
)
def test_bad_cluster_settings_say_what_to_fix(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError) as info:
        Settings.from_env(env)
    assert named in str(info.value)


def test_reconciliation_and_discord_budget_settings() -> None:
    defaults = Settings.from_env({})
    assert defaults.reconcile_seconds == 60 and defaults.discord_global_limit == 50
    s = Settings.from_env({"RECONCILE_SECONDS": "30", "DISCORD_GLOBAL_LIMIT": "120"})
    assert s.reconcile_seconds == 30 and s.discord_global_limit == 120
    for bad in ({"RECONCILE_SECONDS": "0.5"}, {"DISCORD_GLOBAL_LIMIT": "0"}):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            Settings.from_env(bad)
