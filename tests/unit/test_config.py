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


def test_reconciliation_and_discord_budget_settings() -> None:
    defaults = Settings.from_env({})
    assert defaults.reconcile_seconds == 60 and defaults.discord_global_limit == 50
    s = Settings.from_env({"RECONCILE_SECONDS": "30", "DISCORD_GLOBAL_LIMIT": "120"})
    assert s.reconcile_seconds == 30 and s.discord_global_limit == 120
    for bad in ({"RECONCILE_SECONDS": "0.5"}, {"DISCORD_GLOBAL_LIMIT": "0"}):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            Settings.from_env(bad)
