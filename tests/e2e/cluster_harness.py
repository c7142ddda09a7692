"""Several real ``python -m bot`` processes forming one bot against the local fakes.

One fake Discord with one guild per shard, one fake Polymarket and RTDS, one PostgreSQL
database; each process runs one shard (``SHARD_COUNT`` / ``SHARD_IDS``) and serves
``/healthz`` and ``/metrics`` on its own port. Used by tests/e2e/test_cluster.py and
scripts/bench_cluster.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from tests.fakes.discord import FakeDiscord
from tests.fakes.discord.state import FakeGuild
from tests.fakes.polymarket import FakePolymarket
from tests.fakes.rtds import FakeRTDS

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class BotProcess:
    shard: int
    guild: FakeGuild
    metrics_port: int
    process: asyncio.subprocess.Process
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}"

    @property
    def alive(self) -> bool:
        return self.process.returncode is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@dataclass
class Cluster:
    discord: FakeDiscord
    polymarket: FakePolymarket
    rtds: FakeRTDS
    database_url: str
    workdir: Path
    shard_count: int
    extra_env: dict[str, str] = field(default_factory=dict)
    processes: list[BotProcess] = field(default_factory=list)
    guilds: list[FakeGuild] = field(default_factory=list)
    session: aiohttp.ClientSession | None = None

    def env(self, shard: int, metrics_port: int) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "DATABASE_"))}
        env.update(
            PYTHONPATH=str(REPO),
            DATABASE_URL=self.database_url,
            DISCORD_TOKEN=self.discord.token,
            DISCORD_API_BASE=self.discord.api_base,
            DISCORD_GATEWAY_URL=self.discord.gateway_url,
            DISCORD_GUILD_IDS=",".join(str(g.id) for g in self.guilds),
            POLYMARKET_DATA_API_URL=self.polymarket.base_url,
            POLYMARKET_GAMMA_API_URL=self.polymarket.base_url,
            POLYMARKET_CLOB_API_URL=self.polymarket.base_url,
            POLYMARKET_RTDS_URL=self.rtds.url,
            SHARD_COUNT=str(self.shard_count),
            SHARD_IDS=str(shard),
            METRICS_PORT=str(metrics_port),
            LEADERBOARD_CANDIDATES="20",
            HTTP_MAX_RETRIES="1",
            CLUSTER_POLL_SECONDS="0.5",
            CLUSTER_HEARTBEAT_SECONDS="1",
            LOG_LEVEL="INFO",
        )
        env.update(self.extra_env)
        return env

    async def start_process(self, shard: int) -> BotProcess:
        port = free_port()
        log_path = self.workdir / f"bot-{shard}-{len(self.processes)}.log"
        with log_path.open("wb") as log:  # a local file: no event-loop stall worth a thread
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                cwd=REPO,
                env=self.env(shard, port),
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
            )
        bot = BotProcess(shard, self.guilds[shard], port, process, log_path)
        self.processes.append(bot)
        return bot

    # ---- asking the processes -----------------------------------------------------------------

    async def health(self, bot: BotProcess) -> tuple[int, dict[str, Any]]:
        assert self.session is not None
        try:
            async with self.session.get(f"{bot.url}/healthz", timeout=2) as response:
                return response.status, await response.json()
        except (aiohttp.ClientError, TimeoutError):
            return 0, {}

    async def metrics(self, bot: BotProcess) -> dict[str, float]:
        """The unlabelled samples of /metrics, by name."""
        assert self.session is not None
        async with self.session.get(f"{bot.url}/metrics", timeout=5) as response:
            text = await response.text()
        samples = {}
        for line in text.splitlines():
            if line and not line.startswith("#") and "{" not in line:
                name, value = line.rsplit(" ", 1)
                samples[name] = float(value)
        return samples

    async def wait_healthy(self, bots: list[BotProcess], within: float = 60) -> None:
        deadline = asyncio.get_running_loop().time() + within
        for bot in bots:
            while (await self.health(bot))[0] != 200:
                if not bot.alive or asyncio.get_running_loop().time() > deadline:
                    raise AssertionError(f"shard {bot.shard} never healthy:\n{bot.log()[-3000:]}")
                await asyncio.sleep(0.2)

    async def leaders(self) -> list[BotProcess]:
        found = []
        for bot in self.processes:
            if bot.alive:
                status, body = await self.health(bot)
                if status and body.get("leader"):
                    found.append(bot)
        return found

    async def wait_for_leader(self, within: float = 15) -> BotProcess:
        deadline = asyncio.get_running_loop().time() + within
        while True:
            leaders = await self.leaders()
            if len(leaders) == 1:
                return leaders[0]
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"leaders: {[b.shard for b in leaders]}")
            await asyncio.sleep(0.05)

    async def stop(self, bot: BotProcess, sig: int = signal.SIGTERM) -> int:
        if bot.alive:
            bot.process.send_signal(sig)
        return await asyncio.wait_for(bot.process.wait(), 30)


@contextlib.asynccontextmanager
async def running_cluster(
    database_url: str, workdir: Path, *, processes: int = 3, **extra_env: str
) -> AsyncIterator[Cluster]:
    """``processes`` bot processes, one shard each, guild i on shard i; all healthy (gateway
    up, PostgreSQL answering, boards warm) when this yields."""
    discord = FakeDiscord(interaction_timeout=None)
    polymarket = FakePolymarket(n_traders=12, seed=7)
    rtds = FakeRTDS()
    for fake in (discord, polymarket, rtds):
        await fake.start()
    cluster = Cluster(discord, polymarket, rtds, database_url, workdir, processes, extra_env)
    own_shard = (discord.guild_id >> 22) % processes  # the fake's own guild: wherever it falls
    cluster.guilds = [discord.guilds[discord.guild_id]]
    for shard in range(processes):
        if shard != own_shard:
            cluster.guilds.append(discord.add_guild(f"Guild {shard}", shard=(shard, processes)))
    cluster.guilds.sort(key=lambda g: (g.id >> 22) % processes)  # guild i on shard i
    cluster.session = aiohttp.ClientSession()
    try:
        bots = [await cluster.start_process(shard) for shard in range(processes)]
        await cluster.wait_healthy(bots)
        for guild in cluster.guilds:
            await discord.wait_until(lambda g=guild: bool(discord.guild_commands.get(g.id)), 30)
        yield cluster
    finally:
        for bot in cluster.processes:
            with contextlib.suppress(Exception):
                await cluster.stop(bot)
        await cluster.session.close()
        for fake in (rtds, polymarket, discord):
            await fake.stop()
