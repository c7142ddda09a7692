"""A local fake of Polymarket's public HTTP APIs, for tests and benchmarks.

Why a fake and not recorded responses: the bot's hard parts are paging, sorting, validation and
surviving upstream failures (429 with Retry-After, Cloudflare HTML, truncated JSON, hangs). A
real server on 127.0.0.1 exercises the bot's actual HTTP stack (aiohttp, timeouts, retries)
against those behaviours on demand, deterministically, and without the network.

Data API, Gamma and CLOB paths share one host, so every base URL of the bot can point at
:attr:`FakePolymarket.base_url`. This module is the facade: :class:`FakePolymarket` is the world
it serves (:mod:`~tests.fakes.polymarket.world`: markets from
:mod:`~tests.fakes.polymarket.markets`, traders from :mod:`~tests.fakes.polymarket.traders`) plus
one aiohttp server that counts every request, applies faults
(:mod:`~tests.fakes.polymarket.faults`) and routes it to the Data API
(:mod:`~tests.fakes.polymarket.data_api`), Gamma (:mod:`~tests.fakes.polymarket.gamma`) or the
CLOB (:mod:`~tests.fakes.polymarket.clob`), whose query parameters are checked like the real ones
(:mod:`~tests.fakes.polymarket.params`). Each module's docstring says which real shapes and
behaviours it follows.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import json
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web

from tests.fakes.polymarket.clob import ClobApi
from tests.fakes.polymarket.data_api import DataApi
from tests.fakes.polymarket.faults import SHAPE_FAULTS, Faults
from tests.fakes.polymarket.gamma import GammaApi
from tests.fakes.polymarket.params import BadRequest
from tests.fakes.polymarket.world import World

# ``calls`` keys of the templated routes (every other path counts under itself).
CALL_KEY_MARKET_BY_SLUG = "/markets/slug"  # Gamma GET /markets/slug/{slug}
CALL_KEY_MARKET_BY_ID = "/markets/id"  # Gamma GET /markets/{id}
CALL_KEY_EVENT_BY_SLUG = "/events/slug"  # Gamma GET /events/slug/{slug}
CALL_KEY_CLOB_MARKET = "/markets/condition"  # CLOB GET /markets/{condition_id}


def _utf8_safe(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class FakePolymarket(World):
    """Data API v1 + the read side of Gamma and CLOB, served by aiohttp on 127.0.0.1.

    Usage::

        fake = FakePolymarket(n_traders=60, seed=1)
        await fake.start()
        ...  # point the bot's data/gamma/clob base URLs at fake.base_url
        fake.inject("/positions", "429", count=2, retry_after=0.1)
        await fake.stop()

    Routes: Data API ``/v1/leaderboard``, ``/positions``, ``/closed-positions``, ``/activity``,
    ``/trades``, ``/value``, ``/traded``; Gamma ``/markets``, ``/markets/keyset``,
    ``/markets/{id}``, ``/markets/slug/{slug}``, ``/public-search``, ``/public-profile``; CLOB
    ``/book``, ``/midpoint``, ``/price``, ``/prices-history``, ``/markets/{condition_id}``.

    ``calls`` counts requests per path, except the templated routes, which count under one key
    each (:meth:`call_key`): ``"/markets/slug"``, ``"/markets/id"`` (Gamma by numeric id) and
    ``"/markets/condition"`` (CLOB by ``0x`` condition id). ``inject`` takes those keys, concrete
    paths or ``*`` prefixes; ``fail_all``, ``hold`` and ``latency`` cover every route.

    Markets: :attr:`markets` (also ``markets_by_condition``/``_token``/``_slug``/``_id``) is the
    universe every row points into; :meth:`add_market`, :meth:`set_price`,
    :meth:`resolve_market`, :meth:`market_for_token` and :meth:`market_for_condition` let a test
    create and move markets.
    """

    def __init__(self, n_traders: int = 60, seed: int = 1, history_days: int = 0) -> None:
        super().__init__(n_traders, seed, history_days)
        self.base_url = ""
        self.latency = 0.0
        self.calls: collections.Counter[str] = collections.Counter()
        #: (calls key, query parameters) of the latest requests, oldest first (bounded).
        self.queries: collections.deque[tuple[str, dict[str, str]]] = collections.deque(
            maxlen=10_000
        )
        self.hold: asyncio.Event | None = None
        self._faults = Faults()
        self._runner: web.AppRunner | None = None
        self._data_api = DataApi(self)
        self._gamma = GammaApi(self)
        self._clob = ClobApi(self)
        self._routes: dict[str, Callable[[Mapping[str, str]], Any]] = {
            "/v1/leaderboard": self._data_api.leaderboard,
            "/positions": self._data_api.positions,
            "/closed-positions": self._data_api.closed_positions,
            "/activity": self._data_api.activity,
            "/trades": self._data_api.trades,
            "/value": self._data_api.value,
            "/traded": self._data_api.traded,
            "/markets": self._gamma.markets,
            "/markets/keyset": self._gamma.markets_keyset,
            "/public-search": self._gamma.search,
            "/public-profile": self._gamma.public_profile,
            "/book": self._clob.book,
            "/midpoint": self._clob.midpoint,
            "/price": self._clob.price,
            "/prices-history": self._clob.prices_history,
        }

    # ------------------------------------------------------------------ control

    def inject(self, path: str, kind: str, count: int = 1, retry_after: float = 1.0) -> None:
        """Fault the next ``count`` requests to ``path``; see :meth:`Faults.inject`."""
        self._faults.inject(path, kind, count, retry_after)

    def fail_all(self, kind: str | None) -> None:
        """Fault every request with ``kind`` until ``fail_all(None)``; an outage switch."""
        self._faults.fail_all(kind)

    def clear_faults(self) -> None:
        """Drop pending injected faults and the outage switch."""
        self._faults.clear()

    def reset_calls(self) -> None:
        """Zero the per-path counters, e.g. after warm-up, so a test counts only what it caused."""
        self.calls.clear()
        self.queries.clear()

    @property
    def huge_bytes_sent(self) -> int:
        """Bytes of ``huge`` fault bodies written before the client hung up."""
        return self._faults.huge_bytes_sent

    @property
    def pending_faults(self) -> int:
        """Injected faults not yet consumed (lets a test assert the bot really hit them)."""
        return self._faults.pending

    async def start(self) -> None:
        """Listen on 127.0.0.1 on a free port; ``base_url`` holds the real port afterwards."""
        self._faults.open()
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        # handler_cancellation: a client that gave up (timeout) frees its handler at once.
        self._runner = web.AppRunner(
            app, access_log=None, shutdown_timeout=1.0, handler_cancellation=True
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        """Stop promptly, even with requests parked in ``hold`` or a ``timeout`` fault."""
        self._faults.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakePolymarket:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ request handling

    def call_key(self, path: str) -> str:
        """The ``calls`` key (and ``inject`` name) of a request path.

        Fixed routes count under their path. The templated ones: Gamma ``/markets/slug/{slug}``
        → ``"/markets/slug"``, Gamma ``/markets/{id}`` → ``"/markets/id"``, CLOB
        ``/markets/{condition_id}`` (a ``0x`` id; same host, so told apart by the id's form) →
        ``"/markets/condition"``, Gamma ``/events/slug/{slug}`` → ``"/events/slug"``. Unknown
        paths count under themselves.
        """
        return self._route_for(path)[0]

    def _route_for(self, path: str) -> tuple[str, Callable[[Mapping[str, str]], Any] | None]:
        route = self._routes.get(path)
        if route is not None:
            return path, route
        if path.startswith("/events/slug/"):
            slug = path[len("/events/slug/") :]
            if slug and "/" not in slug:
                return CALL_KEY_EVENT_BY_SLUG, functools.partial(self._gamma.event_by_slug, slug)
        if path.startswith("/markets/"):
            rest = path[len("/markets/") :]
            if rest.startswith("slug/"):
                slug = rest[len("slug/") :]
                if slug and "/" not in slug:
                    return CALL_KEY_MARKET_BY_SLUG, functools.partial(self._gamma.by_slug, slug)
            elif rest and "/" not in rest:
                if rest[:2].lower() == "0x":
                    return CALL_KEY_CLOB_MARKET, functools.partial(self._clob.market, rest)
                return CALL_KEY_MARKET_BY_ID, functools.partial(self._gamma.by_id, rest)
        return path, None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        key, route = self._route_for(path)
        self.calls[key] += 1
        self.queries.append((key, dict(request.query)))
        fault = self._faults.take(key, path)
        await self._faults.wait_hold(self.hold)
        await self._faults.pause(self.latency)
        if fault is not None and fault.kind == "huge":
            return await self._faults.huge(request)
        if fault is not None and fault.kind == "redirect_loop":
            return self._faults.redirect(request)
        if fault is not None and fault.kind not in ("truncated", *SHAPE_FAULTS):
            return await self._faults.response(fault)
        status, payload = self._dispatch(request, route)
        if fault is not None and fault.kind in SHAPE_FAULTS and status == 200:
            payload = self._faults.reshape(fault.kind, payload)
            fault = None
        text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
        if not _utf8_safe(text):  # a lone surrogate: escaped, as real JSON APIs send it
            text = json.dumps(payload, separators=(",", ":"))
        if fault is not None:  # truncated: a 200 that promises JSON and stops half way
            return web.Response(
                status=200, text=text[: max(1, len(text) // 2)], content_type="application/json"
            )
        return web.Response(status=status, text=text, content_type="application/json")

    @staticmethod
    def _dispatch(
        request: web.Request, route: Callable[[Mapping[str, str]], Any] | None
    ) -> tuple[int, Any]:
        if route is None:
            return 404, {"error": "not found"}
        if request.method not in ("GET", "HEAD"):
            return 405, {"error": "method not allowed"}
        try:
            return 200, route(request.query)
        except BadRequest as exc:
            return exc.status, exc.payload()
