"""The HTTP server of ``METRICS_PORT``: ``/healthz`` (JSON, 200 or 503) and ``/metrics``.

It listens on ``METRICS_HOST`` (127.0.0.1 unless an operator says otherwise: the figures name
wallets' request routes and the process's shards, nothing a stranger needs).
"""

from __future__ import annotations

import logging

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from bot.monitoring.health import HealthCheck
from bot.monitoring.metrics import Metrics
from bot.workers import Role, WorkerStatus

log = logging.getLogger(__name__)


class MonitoringServer:
    """A worker of every process (each process answers for itself)."""

    name = "metrics-server"
    role = Role.EVERY_PROCESS

    def __init__(self, host: str, port: int, health: HealthCheck, metrics: Metrics) -> None:
        self.host = host
        self.port = port
        self._health = health
        self._metrics = metrics
        self._runner: web.AppRunner | None = None

    def status(self) -> WorkerStatus:
        where = f"http://{self.host}:{self.port}"
        return WorkerStatus(self.name, self.role, self._runner is not None, where)

    async def start(self) -> None:
        if self._runner is not None:
            return
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics_page)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        await web.TCPSite(runner, self.host, self.port).start()
        self._runner = runner
        log.info("health and metrics on http://%s:%d", self.host, self.port)

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _healthz(self, request: web.Request) -> web.Response:
        report = await self._health.check()
        return web.json_response(report.body(), status=200 if report.ok else 503)

    async def _metrics_page(self, request: web.Request) -> web.Response:
        body = await self._metrics.render()
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
