"""All settings in one place, typed, read once from the environment (and ``.env`` if present).

The names are a contract: operators' ``.env`` files, ``.env.example`` and the README's
"Configuration" table rely on them, so they are spelled out here rather than derived.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """A setting has a value the bot cannot use; the message names the variable."""


def _int_list(env: Mapping[str, str], name: str) -> tuple[int, ...]:
    raw = env.get(name, "").strip()
    if not raw:
        return ()
    try:
        return tuple(int(part) for part in raw.replace(" ", "").split(",") if part)
    except ValueError as exc:
        raise ConfigError(
            f"{name} must be a comma-separated list of numeric ids, got {raw!r}"
        ) from exc


def _number(env: Mapping[str, str], name: str, default: float, minimum: float = 0.0) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from exc
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def _shards(env: Mapping[str, str]) -> tuple[int | None, tuple[int, ...]]:
    """SHARD_COUNT and SHARD_IDS: the bot's total shards and the ones this process runs."""
    raw_count = env.get("SHARD_COUNT", "").strip()
    ids = _int_list(env, "SHARD_IDS")
    if not raw_count:
        if ids:
            raise ConfigError("SHARD_IDS needs SHARD_COUNT (the bot's total number of shards)")
        return None, ()
    count = int(_number(env, "SHARD_COUNT", 1, minimum=1))
    if raw_count != str(count):
        raise ConfigError(f"SHARD_COUNT must be a whole number, got {raw_count!r}")
    outside = [i for i in ids if not 0 <= i < count]
    if outside or len(set(ids)) != len(ids):
        raise ConfigError(f"SHARD_IDS must be distinct shards from 0 to {count - 1}, got {ids}")
    return count, tuple(sorted(ids))


def _port(env: Mapping[str, str], name: str) -> int | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise ConfigError(f"{name} must be a TCP port (1-65535), got {raw!r}")
    return int(raw)


@dataclass(frozen=True)
class Settings:
    discord_token: str | None = None
    database_url: str | None = None
    data_dir: Path = Path("./data")
    guild_ids: tuple[int, ...] = ()
    admin_role_ids: tuple[int, ...] = ()
    owner_ids: tuple[int, ...] = ()
    data_api_url: str = "https://data-api.polymarket.com"
    gamma_api_url: str = "https://gamma-api.polymarket.com"
    clob_api_url: str = "https://clob.polymarket.com"
    rtds_url: str = "wss://ws-live-data.polymarket.com"
    discord_api_base: str | None = None
    discord_gateway_url: str | None = None
    leaderboard_refresh_seconds: float = 60.0
    order_sync_seconds: float = 60.0
    leaderboard_candidates: int = 200
    trader_detail_ttl_seconds: float = 600.0
    detail_concurrency: int = 4
    http_timeout_seconds: float = 10.0
    http_max_retries: int = 4
    # Multiplies every Polymarket rate limit. Not an environment variable: only the tests raise it,
    # against local fakes that publish no limits, so each start does not wait out the real budget.
    http_rate_scale: float = 1.0
    snapshot_retention_days: float = 7.0
    trades_retention_days: float = 30.0
    trader_cache_ttl_seconds: float = 300.0
    trader_sync_seconds: float = 600.0
    copy_max_slippage: float = 0.02
    order_ttl_seconds: float = 3600.0
    memory_warn_mb: float = 512.0
    stream_ping_seconds: float = 5.0
    stream_silence_seconds: float = 20.0
    score_min_closed: int = 5
    score_min_volume: float = 1_000.0
    category_refresh_seconds: float = 600.0
    track_record_seconds: float = 300.0
    fresh_wallet_days: float = 14.0
    reconcile_seconds: float = 60.0
    discord_global_limit: int = 50
    log_level: str = "INFO"
    database_wait_seconds: float = 60.0
    shard_count: int | None = None  # None: discord.py's plain client, no sharding (one process)
    shard_ids: tuple[int, ...] = ()  # empty: every shard of shard_count
    metrics_port: int | None = None
    metrics_host: str = "127.0.0.1"
    cluster_poll_seconds: float = 1.0  # how often a follower tries for the leader lock
    heartbeat_seconds: float = 5.0  # how often a process refreshes its cluster_members row

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env

        def text(name: str, default: str | None = None) -> str | None:
            value = env.get(name, "").strip()
            return value or default

        candidates = int(_number(env, "LEADERBOARD_CANDIDATES", 200, minimum=1))
        return cls(
            **_cluster_settings(env),
            discord_token=text("DISCORD_TOKEN"),
            database_url=text("DATABASE_URL"),
            data_dir=Path(text("BOT_DATA_DIR", "./data") or "./data"),
            guild_ids=_int_list(env, "DISCORD_GUILD_IDS"),
            admin_role_ids=_int_list(env, "BOT_ADMIN_ROLE_IDS"),
            owner_ids=_int_list(env, "BOT_OWNER_IDS"),
            data_api_url=(text("POLYMARKET_DATA_API_URL") or cls.data_api_url).rstrip("/"),
            gamma_api_url=(text("POLYMARKET_GAMMA_API_URL") or cls.gamma_api_url).rstrip("/"),
            clob_api_url=(text("POLYMARKET_CLOB_API_URL") or cls.clob_api_url).rstrip("/"),
            rtds_url=text("POLYMARKET_RTDS_URL") or cls.rtds_url,
            discord_api_base=text("DISCORD_API_BASE"),
            discord_gateway_url=text("DISCORD_GATEWAY_URL"),
            leaderboard_refresh_seconds=_number(env, "LEADERBOARD_REFRESH_SECONDS", 60.0, 0.1),
            order_sync_seconds=_number(env, "ORDER_SYNC_SECONDS", 60.0, 0.1),
            leaderboard_candidates=min(candidates, 1050),
            trader_detail_ttl_seconds=_number(env, "TRADER_DETAIL_TTL_SECONDS", 600.0, 1.0),
            detail_concurrency=int(_number(env, "TRADER_DETAIL_CONCURRENCY", 4, 1)),
            http_timeout_seconds=_number(env, "HTTP_TIMEOUT_SECONDS", 10.0, 0.05),
            http_max_retries=int(_number(env, "HTTP_MAX_RETRIES", 4, 0)),
            snapshot_retention_days=_number(env, "SNAPSHOT_RETENTION_DAYS", 7.0, 0.01),
            trades_retention_days=_number(env, "TRADES_RETENTION_DAYS", 30.0, 0.01),
            trader_cache_ttl_seconds=_number(env, "TRADER_CACHE_TTL_SECONDS", 300.0, 1.0),
            trader_sync_seconds=_number(env, "TRADER_SYNC_SECONDS", 600.0, 1.0),
            copy_max_slippage=_number(env, "COPY_MAX_SLIPPAGE", 0.02, 0.0),
            order_ttl_seconds=_number(env, "ORDER_TTL_SECONDS", 3600.0, 1.0),
            memory_warn_mb=_number(env, "MEMORY_WARN_MB", 512.0, 1.0),
            stream_ping_seconds=_number(env, "STREAM_PING_SECONDS", 5.0, 0.05),
            stream_silence_seconds=_number(env, "STREAM_SILENCE_SECONDS", 20.0, 0.1),
            score_min_closed=int(_number(env, "SCORE_MIN_CLOSED", 5, 0)),
            score_min_volume=_number(env, "SCORE_MIN_VOLUME", 1_000.0, 0.0),
            category_refresh_seconds=_number(env, "CATEGORY_REFRESH_SECONDS", 600.0, 1.0),
            track_record_seconds=_number(env, "TRACK_RECORD_SECONDS", 300.0, 1.0),
            fresh_wallet_days=_number(env, "FRESH_WALLET_DAYS", 14.0, 0.01),
            reconcile_seconds=_number(env, "RECONCILE_SECONDS", 60.0, 1.0),
            discord_global_limit=int(_number(env, "DISCORD_GLOBAL_LIMIT", 50, 1)),
            log_level=(text("LOG_LEVEL", "INFO") or "INFO").upper(),
            database_wait_seconds=_number(env, "DATABASE_WAIT_SECONDS", 60.0, 0.0),
        )


def _cluster_settings(env: Mapping[str, str]) -> dict[str, Any]:
    """Shards, the leader election's pace and the metrics server, checked together: a process
    that runs part of the shards needs a PostgreSQL the others share."""
    shard_count, shard_ids = _shards(env)
    if (
        shard_ids
        and len(shard_ids) < (shard_count or 0)
        and not env.get("DATABASE_URL", "").strip()
    ):
        raise ConfigError(
            "SHARD_IDS runs part of the bot, so its processes must share one PostgreSQL: "
            "set DATABASE_URL (the embedded database serves a single process)"
        )
    poll = _number(env, "CLUSTER_POLL_SECONDS", 1.0, 0.05)
    if poll > 2.0:
        raise ConfigError(
            f"CLUSTER_POLL_SECONDS must be at most 2 (a takeover within 10 s), got {poll}"
        )
    return {
        "shard_count": shard_count,
        "shard_ids": shard_ids,
        "metrics_port": _port(env, "METRICS_PORT"),
        "metrics_host": env.get("METRICS_HOST", "").strip() or "127.0.0.1",
        "cluster_poll_seconds": poll,
        "heartbeat_seconds": _number(env, "CLUSTER_HEARTBEAT_SECONDS", 5.0, 0.1),
    }
