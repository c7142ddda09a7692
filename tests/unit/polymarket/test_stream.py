"""The RTDS stream client against the local fake RTDS: parsing, filtering and staying alive.

Timings are shrunk (PING every 0.05-0.1 s, 0.3-0.5 s silence watchdog, 10 ms backoff) so the
failure modes the real server shows over minutes play out here in well under a second each.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import websockets
from websockets.asyncio.client import connect

from bot.polymarket.records import Trade, trade_key
from bot.polymarket.stream import MPS_WINDOW_SECONDS, StreamStats, TradeStream, parse_frame
from tests.conftest import FIXTURES
from tests.fakes.rtds import REJECTION_FRAME, FakeRTDS

FIXTURE_FRAME = (FIXTURES / "rtds_trade_message.json").read_text()
REJECTED_FRAME = (FIXTURES / "rtds_clob_market_rejected.json").read_text()
CRYPTO_FRAME = (FIXTURES / "rtds_crypto_prices_update.json").read_text()
FOLLOWED = "0x" + "ab" * 20
STRANGER = "0x" + "cd" * 20

JUNK_FRAMES: list[str | bytes] = [
    "",
    "not json",
    "[1, 2]",
    "null",
    '"payload"',
    '{"foo": 1}',
    '{"payload": null}',
    '{"payload": "x"}',
    '{"payload": {"proxyWallet": "nope"}}',
    '{"payload": {"proxyWallet": "0xabababababababababababababababababababab"}}',  # no size
    '{"payload": {"proxyWallet": "0xabababababababababababababababababababab", "size": "x"',
    REJECTED_FRAME,
    CRYPTO_FRAME,
    b"\x00\x01",
    b"",
    b"\xff\xfe{",
    "[" * 100_000,
]


class Consumer:
    """Collects delivered trades; ``delay`` makes it a slow consumer."""

    def __init__(self, delay: float = 0.0) -> None:
        self.trades: list[Trade] = []
        self.delay = delay

    async def __call__(self, trade: Trade) -> None:
        if self.delay:
            await asyncio.sleep(self.delay)
        self.trades.append(trade)


def wants_followed(wallet: str, usd: float) -> bool:
    return wallet == FOLLOWED or usd >= 1000


def new_stream(
    rtds: FakeRTDS,
    on_trade: Consumer,
    wants: Callable[[str, float], bool] = wants_followed,
    **options: Any,
) -> TradeStream:
    settings: dict[str, Any] = {
        "ping_interval": 0.1,
        "silence_timeout": 0.5,
        "backoff_base": 0.01,
        "backoff_cap": 0.05,
    }
    settings.update(options)
    return TradeStream(rtds.url, on_trade, wants, **settings)


@contextlib.asynccontextmanager
async def running(stream: TradeStream, rtds: FakeRTDS) -> AsyncIterator[TradeStream]:
    await stream.start()
    try:
        await rtds.wait_for_subscribers(1)
        yield stream
    finally:
        await stream.stop()


async def wait_until(predicate: Callable[[], bool], timeout: float = 3.0) -> None:  # noqa: ASYNC109
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.005)


@pytest.fixture
async def rtds() -> AsyncIterator[FakeRTDS]:
    fake = FakeRTDS(seed=5)
    await fake.start()
    yield fake
    await fake.stop()


# ---- parse_frame ---------------------------------------------------------------------------------


@pytest.mark.parametrize("frame", [FIXTURE_FRAME, FIXTURE_FRAME.encode()])
def test_parse_frame_reads_the_real_capture(frame: str | bytes) -> None:
    trade = parse_frame(frame)
    assert trade is not None
    assert trade.wallet == "0x510f4963b66b1b18505faab74b0bb943d1dda43c"  # mixed case lowered
    assert trade.size == 2.7027 and trade.price == 0.26
    assert trade.usd == pytest.approx(0.702702)
    assert trade.side == "BUY" and trade.outcome == "No"
    assert trade.timestamp == 1787102287  # payload seconds, not the envelope's milliseconds
    tx = "0xb6acf6859bc84216f4b3e2567fb392a2eae19d275340ad96ea17218ccfec27b7"
    assert trade.transaction_hash == tx
    assert trade.key == trade_key(tx, trade.wallet, trade.asset, "BUY", 2.7027, 0.26)


def test_parse_frame_accepts_numbers_as_strings() -> None:
    message = json.loads(FIXTURE_FRAME)
    message["payload"].update(size="100", price="0.5", timestamp="1787102287")
    trade = parse_frame(json.dumps(message))
    assert trade is not None and trade.usd == 50.0 and trade.timestamp == 1787102287


@pytest.mark.parametrize("frame", [*JUNK_FRAMES, "PONG", "pong"])
def test_parse_frame_returns_none_for_junk(frame: str | bytes) -> None:
    assert parse_frame(frame) is None


def test_process_frame_counts_junk_but_not_keepalive_replies() -> None:
    stream = TradeStream("ws://unused", Consumer(), lambda w, u: True)
    for frame in JUNK_FRAMES:
        assert stream.process_frame(frame) is None
    assert stream.process_frame("PONG") is None
    assert stream.process_frame(FIXTURE_FRAME) is not None
    stats = stream.stats
    assert stats.junk == len(JUNK_FRAMES)
    assert stats.messages == len(JUNK_FRAMES) + 2
    assert stats.trades == 1 and stats.matched == 1


def test_process_frame_builds_a_trade_only_when_wanted() -> None:
    calls: list[tuple[str, float]] = []

    def wants(wallet: str, usd: float) -> bool:
        calls.append((wallet, usd))
        return False

    stream = TradeStream("ws://unused", Consumer(), wants)
    assert stream.process_frame(FIXTURE_FRAME) is None
    assert calls == [("0x510f4963b66b1b18505faab74b0bb943d1dda43c", pytest.approx(0.702702))]
    assert stream.stats.trades == 1 and stream.stats.matched == 0 and stream.stats.junk == 0


def test_messages_per_second_uses_a_bounded_window() -> None:
    stats = StreamStats()
    start = 1_000_000.0
    for i in range(10_000):  # 10,000 s at 2 frames/s: the window must not grow with them
        stats.record_message(start + i * 0.5)
    now = start + 5_000.0
    assert stats.messages_per_second(now) == pytest.approx(2.0, rel=0.15)
    assert len(stats._ring_secs) == len(stats._ring_counts) == MPS_WINDOW_SECONDS + 1
    assert stats.messages_per_second(now + 3600) == 0.0


def test_backoff_is_full_jitter_under_a_cap() -> None:
    stream = TradeStream("ws://unused", Consumer(), wants_followed, backoff_base=0.5, backoff_cap=4)
    for attempt in range(40):
        delays = [stream.backoff_delay(attempt) for _ in range(50)]
        assert all(0 <= d <= min(4, 0.5 * 2**attempt) for d in delays)
    assert max(stream.backoff_delay(10) for _ in range(200)) > 2  # jitter spans the range


# ---- the fake itself -----------------------------------------------------------------------------


async def test_fake_rtds_speaks_the_real_wire_format(rtds: FakeRTDS) -> None:
    async with connect(rtds.url) as ws:
        await ws.send("PING")
        assert await ws.recv() == "PONG"
        await ws.send("ping")
        assert await ws.recv() == "pong"
        await ws.send(
            json.dumps(
                {"action": "subscribe", "subscriptions": [{"topic": "clob_market", "type": "*"}]}
            )
        )
        assert (
            json.loads(await ws.recv()) == json.loads(REJECTED_FRAME) == json.loads(REJECTION_FRAME)
        )
        filters = json.dumps({"event_slug": "rain"})
        await ws.send(json.dumps({
            "action": "subscribe",
            "subscriptions": [{"topic": "activity", "type": "trades", "filters": filters}],
        }))  # fmt: skip
        await rtds.wait_for_subscribers(1)
        payload = rtds.make_payload(wallet=FOLLOWED, size=3, price=0.25)
        assert await rtds.push(payload, type_="orders_matched") == 0  # not subscribed to it
        assert await rtds.push(rtds.make_payload(wallet=FOLLOWED, event_slug="snow")) == 0
        assert await rtds.push(payload) == 1
        frame = json.loads(await ws.recv())
    assert set(frame) == {"connection_id", "payload", "timestamp", "topic", "type"}
    assert (frame["topic"], frame["type"]) == ("activity", "trades")
    assert frame["timestamp"] > 1e12  # envelope in ms
    fixture_payload = json.loads(FIXTURE_FRAME)["payload"]
    assert set(frame["payload"]) == set(fixture_payload)
    wallet = frame["payload"]["proxyWallet"]
    assert wallet.lower() == FOLLOWED and wallet != FOLLOWED  # mixed case like EIP-55
    assert rtds.pings == 2 and rtds.total_connections == 1


async def test_fake_rtds_refuses_other_paths_and_while_told_to(rtds: FakeRTDS) -> None:
    with pytest.raises(websockets.InvalidStatus, match="404"):
        async with connect(rtds.url + "/ws"):
            pass
    rtds.refuse_connections(True)
    with pytest.raises(websockets.InvalidStatus, match="503"):
        async with connect(rtds.url):
            pass


# ---- the stream against the fake ----------------------------------------------------------------


async def test_subscribes_to_both_activity_types(rtds: FakeRTDS) -> None:
    async with running(new_stream(rtds, Consumer()), rtds) as stream:
        assert stream.stats.connected and stream.stats.connected_since is not None
    assert rtds.subscriptions == [
        {
            "action": "subscribe",
            "subscriptions": [
                {"topic": "activity", "type": "trades"},
                {"topic": "activity", "type": "orders_matched"},
            ],
        }
    ]


async def test_only_wanted_trades_are_delivered(rtds: FakeRTDS) -> None:
    consumer = Consumer()
    followed = rtds.make_payload(wallet=FOLLOWED, size=2, price=0.5)
    small = rtds.make_payload(wallet=STRANGER, size=10, price=0.5)
    whale = rtds.make_payload(wallet=STRANGER, size=5000, price=0.5)
    async with running(new_stream(rtds, consumer), rtds) as stream:
        for payload in (followed, small, whale):
            await rtds.push(payload)
        await rtds.push(followed, type_="orders_matched")
        await wait_until(lambda: len(consumer.trades) == 3)
        await asyncio.sleep(0.05)
        stats = stream.stats
        assert stats.trades == 4 and stats.matched == 3 and stats.junk == 0
        assert stats.messages >= 4 and stats.last_message_at is not None
        assert stream.stats.messages_per_second() > 0
    txs = [t.transaction_hash for t in consumer.trades]
    assert txs == [
        followed["transactionHash"],
        whale["transactionHash"],
        followed["transactionHash"],
    ]
    assert consumer.trades[0].wallet == FOLLOWED


async def test_junk_frames_are_skipped_and_counted(rtds: FakeRTDS) -> None:
    consumer = Consumer()
    async with running(new_stream(rtds, consumer, lambda w, u: True), rtds) as stream:
        for frame in JUNK_FRAMES:
            await rtds.push_raw(frame)
        await rtds.push(rtds.make_payload(wallet=FOLLOWED))
        await wait_until(lambda: len(consumer.trades) == 1)
        assert stream.stats.junk == len(JUNK_FRAMES)
        assert stream.stats.reconnects == 0


async def test_pings_are_sent_and_answers_keep_the_socket(rtds: FakeRTDS) -> None:
    async with running(new_stream(rtds, Consumer(), ping_interval=0.05, silence_timeout=0.3), rtds):
        await wait_until(lambda: rtds.pings >= 8)  # 0.4 s: longer than the watchdog's 0.3 s
        assert rtds.total_connections == 1


async def test_silent_server_is_replaced_and_resubscribed(rtds: FakeRTDS) -> None:
    consumer = Consumer()
    connects = 0

    async def on_connect() -> None:
        nonlocal connects
        connects += 1

    stream = new_stream(rtds, consumer, silence_timeout=0.3, on_connect=on_connect)
    async with running(stream, rtds):
        await wait_until(lambda: connects == 1)
        rtds.go_silent(True)
        await wait_until(lambda: stream.stats.silent_reconnects >= 1)
        rtds.go_silent(False)
        await rtds.wait_for_subscribers(1)
        await wait_until(lambda: connects >= 2)
        assert len(rtds.subscriptions) >= 2 and rtds.total_connections >= 2
        assert stream.stats.reconnects >= stream.stats.silent_reconnects
        payload = rtds.make_payload(wallet=FOLLOWED)
        await rtds.push(payload)
        await wait_until(lambda: len(consumer.trades) == 1)


async def test_dropped_and_refused_connections_are_retried(
    rtds: FakeRTDS, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.polymarket.stream")
    consumer = Consumer()
    async with running(new_stream(rtds, consumer), rtds) as stream:
        rtds.refuse_connections(True)
        await rtds.drop_all()
        await wait_until(lambda: stream.stats.reconnects >= 3)  # one drop, then refusals
        assert not stream.stats.connected and stream.stats.connected_since is None
        assert rtds.connections == 0
        rtds.refuse_connections(False)
        await rtds.wait_for_subscribers(1)
        await rtds.push(rtds.make_payload(wallet=FOLLOWED))
        await wait_until(lambda: len(consumer.trades) == 1)
        assert stream.stats.connected and stream.stats.silent_reconnects == 0
    assert rtds.total_connections == 2
    text = caplog.text
    assert "no close frame" in text and "HTTP 503" in text and "reconnecting in" in text


async def test_server_restart_is_survived(rtds: FakeRTDS) -> None:
    consumer = Consumer()
    async with running(new_stream(rtds, consumer), rtds) as stream:
        await rtds.stop()  # closes with 1001; reconnects then hit a closed port
        await wait_until(lambda: stream.stats.reconnects >= 2)
        restarted = FakeRTDS(port=rtds.port)  # same URL, fresh server
        await restarted.start()
        try:
            await restarted.wait_for_subscribers(1)
            await restarted.push(restarted.make_payload(wallet=FOLLOWED))
            await wait_until(lambda: len(consumer.trades) == 1)
        finally:
            await stream.stop()
            await restarted.stop()


async def test_slow_consumer_loses_nothing_and_keeps_order(rtds: FakeRTDS) -> None:
    consumer = Consumer(delay=0.001)
    payloads = [rtds.make_payload(wallet=FOLLOWED, size=1 + i) for i in range(200)]
    async with running(new_stream(rtds, consumer), rtds) as stream:
        for payload in payloads:
            await rtds.push(payload)
        await wait_until(lambda: len(consumer.trades) == 200, timeout=5)
        assert stream.stats.reconnects == 0
    assert [t.transaction_hash for t in consumer.trades] == [p["transactionHash"] for p in payloads]


async def test_a_blocked_consumer_is_not_mistaken_for_a_silent_server(rtds: FakeRTDS) -> None:
    release = asyncio.Event()
    seen: list[Trade] = []

    async def blocking(trade: Trade) -> None:
        seen.append(trade)
        await release.wait()

    stream = TradeStream(
        rtds.url, blocking, lambda w, u: True,
        ping_interval=0.05, silence_timeout=0.2, backoff_base=0.01,
    )  # fmt: skip
    async with running(stream, rtds):
        await rtds.push(rtds.make_payload(wallet=FOLLOWED))
        await wait_until(lambda: len(seen) == 1)
        await asyncio.sleep(0.5)  # blocked for more than twice the silence timeout
        assert stream.stats.silent_reconnects == 0 and rtds.total_connections == 1
        release.set()
        await rtds.push(rtds.make_payload(wallet=FOLLOWED))
        await wait_until(lambda: len(seen) == 2)


async def test_failing_callbacks_are_logged_and_reading_goes_on(
    rtds: FakeRTDS, caplog: pytest.LogCaptureFixture
) -> None:
    delivered: list[Trade] = []

    async def on_trade(trade: Trade) -> None:
        delivered.append(trade)
        if len(delivered) == 1:
            raise RuntimeError("consumer bug")

    async def on_connect() -> None:
        raise RuntimeError("backfill bug")

    stream = TradeStream(
        rtds.url, on_trade, lambda w, u: True,
        ping_interval=0.1, silence_timeout=0.5, on_connect=on_connect,
    )  # fmt: skip
    async with running(stream, rtds):
        await rtds.push(rtds.make_payload(wallet=FOLLOWED))
        await rtds.push(rtds.make_payload(wallet=FOLLOWED))
        await wait_until(lambda: len(delivered) == 2)
        assert stream.stats.reconnects == 0
    assert "consumer bug" in caplog.text and "backfill bug" in caplog.text


async def test_on_connect_does_not_block_reading(rtds: FakeRTDS) -> None:
    consumer = Consumer()
    backfill_done = asyncio.Event()

    async def slow_backfill() -> None:
        await backfill_done.wait()

    async with running(new_stream(rtds, consumer, on_connect=slow_backfill), rtds):
        await rtds.push(rtds.make_payload(wallet=FOLLOWED))
        await wait_until(lambda: len(consumer.trades) == 1)
        backfill_done.set()


async def test_stop_is_clean(rtds: FakeRTDS) -> None:
    never = asyncio.Event()

    async def on_connect() -> None:
        await never.wait()

    stream = new_stream(rtds, Consumer(), on_connect=on_connect)
    async with running(stream, rtds):
        await asyncio.sleep(0.15)
    await wait_until(lambda: rtds.connections == 0)
    leftovers = [
        t for t in asyncio.all_tasks()
        if t is not asyncio.current_task() and t.get_name().startswith("rtds")
    ]  # fmt: skip
    assert leftovers == []
    assert not stream.stats.connected
    await stream.stop()  # idempotent
    await stream.start()  # and restartable
    await rtds.wait_for_subscribers(1)
    await stream.stop()
