"""Fault injection: the upstream failures the bot must survive, on demand and deterministic.

Kinds (:data:`FAULT_KINDS`): ``"500"``; ``"503_html"`` (a Cloudflare 503 page); ``"429"`` with
``Retry-After`` (any value, 3600 included); ``"html403"`` (a Cloudflare block page);
``"timeout"`` (hangs well past any client timeout, then 504); ``"truncated"`` (a 200 that
promises JSON and stops half way); ``"junk200"`` (a 200 HTML challenge page); ``"huge"`` (a 200
JSON array streamed without a length for :data:`HUGE_BODY_BYTES`, stopping when the client
hangs up); ``"redirect_loop"`` (a 302 back to the same URL, forever); and valid JSON of the
wrong shape built from the real answer: ``"empty_array"`` (``[]``), ``"nested_array"``
(``[<the real array>]``) and ``"null_rows"`` (every field of every row ``null``).
:meth:`Faults.inject` faults the next requests to a path, a call key or a ``*`` prefix;
:meth:`Faults.fail_all` is an outage switch. Requests can also be slowed (``latency``) or parked
(``hold``); every wait ends at once when the server stops.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any

from aiohttp import web

#: Faults answered with the real payload reshaped (valid JSON, wrong shape).
SHAPE_FAULTS: frozenset[str] = frozenset({"empty_array", "nested_array", "null_rows"})
FAULT_KINDS: frozenset[str] = frozenset(
    {"500", "503_html", "429", "html403", "timeout", "truncated", "junk200", "huge"}
    | {"redirect_loop"}
    | SHAPE_FAULTS
)
HUGE_BODY_BYTES = 100 * 1024 * 1024  # what once took the bot from 99 to 389 MB
_HUGE_ROW = b'{"proxyWallet":null,"pad":"' + b"x" * 1000 + b'"},'

TIMEOUT_FAULT_SECONDS = 30.0  # longer than any client timeout the bot or the tests use

_FAKE_HTML_403 = (
    '<!DOCTYPE html>\n<!--[if lt IE 7]> <html class="no-js ie6 oldie" lang="en-US"> '
    '<![endif]-->\n<html lang="en-US"><head><title>Attention Required! | Cloudflare</title>'
    '<meta charset="UTF-8" /></head><body><div id="cf-wrapper"><h1 data-translate='
    '"block_headline">Sorry, you have been blocked</h1><h2 class="cf-subheadline">You are '
    "unable to access polymarket.com</h2><p>Cloudflare Ray ID: <strong>8f2a1b3c4d5e6f70"
    "</strong></p></div></body></html>\n"
)
_FAKE_HTML_503 = (
    "<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n"
    "<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n<hr><center>cloudflare"
    "</center>\r\n</body>\r\n</html>\r\n"
)
_FAKE_HTML_200 = (
    '<!DOCTYPE html><html lang="en-US"><head><title>Just a moment...</title></head><body>'
    "<noscript>Enable JavaScript and cookies to continue</noscript></body></html>"
)


@dataclass
class Fault:
    """One injected fault: the next ``remaining`` requests matching ``pattern`` get ``kind``."""

    pattern: str
    kind: str
    remaining: int
    retry_after: float

    def matches(self, *paths: str) -> bool:
        """True when the pattern names any of ``paths`` (the call key or the raw path)."""
        if self.pattern.endswith("*"):
            return any(path.startswith(self.pattern[:-1]) for path in paths)
        return self.pattern in paths


class Faults:
    """The pending faults, the outage switch, and the waits a request can be held in."""

    def __init__(self) -> None:
        #: Bytes of ``huge`` bodies written before the client hung up (a capped client stops
        #: reading after its cap, so this stays near the cap, not at HUGE_BODY_BYTES).
        self.huge_bytes_sent = 0
        self._faults: list[Fault] = []
        self._fail_all: str | None = None
        self._stopping: asyncio.Event | None = None

    def inject(self, path: str, kind: str, count: int = 1, retry_after: float = 1.0) -> None:
        """Fault the next ``count`` requests to ``path`` (prefix match when it ends with ``*``).

        ``path`` may be a call key (``"/markets/slug"`` faults every slug lookup, see
        :meth:`FakePolymarket.call_key`) or a concrete path
        (``"/markets/slug/some-market"`` only that one).
        """
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {sorted(FAULT_KINDS)}")
        if count < 1:
            raise ValueError("count must be >= 1")
        self._faults.append(Fault(path, kind, count, retry_after))

    def fail_all(self, kind: str | None) -> None:
        """Fault every request with ``kind`` until ``fail_all(None)``; an outage switch."""
        if kind is not None and kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {sorted(FAULT_KINDS)}")
        self._fail_all = kind

    def clear(self) -> None:
        """Drop pending injected faults and the outage switch."""
        self._faults.clear()
        self._fail_all = None

    @property
    def pending(self) -> int:
        """Injected faults not yet consumed (lets a test assert the bot really hit them)."""
        return sum(f.remaining for f in self._faults)

    def take(self, key: str, path: str) -> Fault | None:
        """The fault this request gets (consuming one of its count), or None."""
        if self._fail_all is not None:
            return Fault(path, self._fail_all, 1, 1.0)
        for fault in self._faults:
            if fault.remaining > 0 and fault.matches(key, path):
                fault.remaining -= 1
                if fault.remaining == 0:
                    self._faults.remove(fault)
                return fault
        return None

    def open(self) -> None:
        """The server starts: from now on a wait ends early when it stops."""
        self._stopping = asyncio.Event()

    def close(self) -> None:
        """The server stops: wake every request parked in a pause, a hold or a timeout fault."""
        if self._stopping is not None:
            self._stopping.set()

    async def pause(self, seconds: float) -> None:
        """Sleep ``seconds`` unless the server stops first."""
        if seconds <= 0:
            return
        assert self._stopping is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    async def wait_hold(self, hold: asyncio.Event | None) -> None:
        """While a test holds requests (``hold`` set up, not set), park this one until the
        test sets it or the server stops."""
        if hold is None or hold.is_set():
            return
        assert self._stopping is not None
        waiters = {
            asyncio.ensure_future(hold.wait()),
            asyncio.ensure_future(self._stopping.wait()),
        }
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    async def huge(self, request: web.Request) -> web.StreamResponse:
        """A 200 JSON array of :data:`HUGE_BODY_BYTES`, chunked, no Content-Length."""
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
        await response.prepare(request)
        try:
            await response.write(b"[")
            chunk = _HUGE_ROW * 64
            while self.huge_bytes_sent < HUGE_BODY_BYTES:
                await response.write(chunk)
                self.huge_bytes_sent += len(chunk)
            await response.write(b"{}]")
            await response.write_eof()
        except (ConnectionResetError, asyncio.CancelledError):
            pass  # the client hung up, as a capped client does
        return response

    @staticmethod
    def redirect(request: web.Request) -> web.Response:
        """A 302 back to the very same URL: a client that follows blindly never gets out."""
        return web.Response(status=302, headers={"Location": str(request.rel_url)})

    @staticmethod
    def reshape(kind: str, payload: Any) -> Any:
        """The real answer as valid JSON of the wrong shape (see :data:`SHAPE_FAULTS`)."""
        if kind == "empty_array":
            return []
        if kind == "nested_array":
            return [payload]
        rows = payload if isinstance(payload, list) else [payload]
        return [dict.fromkeys(row) if isinstance(row, dict) else None for row in rows]

    async def response(self, fault: Fault) -> web.Response:
        """The answer of a fault (all kinds but ``truncated``, which needs the real body)."""
        kind = fault.kind
        if kind == "500":
            return web.json_response({"error": "internal"}, status=500)
        if kind == "503_html":
            return web.Response(status=503, text=_FAKE_HTML_503, content_type="text/html")
        if kind == "429":
            wait = fault.retry_after
            header = str(int(wait)) if float(wait).is_integer() else f"{wait:g}"
            return web.json_response(
                {"error": "rate limited"}, status=429, headers={"Retry-After": header}
            )
        if kind == "html403":
            return web.Response(
                status=403,
                text=_FAKE_HTML_403,
                content_type="text/html",
                headers={"Server": "cloudflare", "CF-RAY": "8f2a1b3c4d5e6f70-AMS"},
            )
        if kind == "junk200":
            return web.Response(status=200, text=_FAKE_HTML_200, content_type="text/html")
        # "timeout": hang well past any client timeout; answer 504 if nobody gave up.
        await self.pause(TIMEOUT_FAULT_SECONDS)
        return web.json_response({"error": "gateway timeout"}, status=504)
