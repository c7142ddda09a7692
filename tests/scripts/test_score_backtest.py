"""scripts/score_backtest.py end to end on a small fake world: it picks only traders with enough
evidence, measures after T only, and prints its table."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def load_script() -> ModuleType:
    sys.path.insert(0, str(SCRIPTS))  # the script imports benchlib like the benchmarks do
    try:
        spec = importlib.util.spec_from_file_location(
            "score_backtest", SCRIPTS / "score_backtest.py"
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["score_backtest"] = module  # its dataclasses look their module up
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(SCRIPTS))


async def test_the_backtest_runs_on_the_fake_world(capsys: pytest.CaptureFixture[str]) -> None:
    script = load_script()
    args = script.parse_args(["--fake-traders", "60", "--history-days", "140", "--seed", "4"])
    assert await script.main(args) == 0
    out = capsys.readouterr().out
    assert "| week of T | score 7 d | pnl 7 d | volume 7 d | score 30 d |" in out
    assert "| **average** |" in out and "score's top 10 beat PnL's in" in out


def test_picks_use_data_before_t_only_and_need_evidence() -> None:
    script = load_script()
    from bot.leaderboard.evidence import Evidence
    from bot.polymarket.records import Activity, ClosedPosition

    day = 86_400.0
    at = 1_800_000_000.0

    def closed(wallet: str, ts: float, pnl: float) -> ClosedPosition:
        return ClosedPosition(wallet, "a", "0xc", 0.5, 100.0, pnl, ts, "", "", "Yes")

    def trade(wallet: str, ts: float, usd: float) -> Activity:
        return Activity(
            wallet, ts, "TRADE", "0xc", "a", "BUY", usd * 2, usd, 0.5, "0x1", "", "", ""
        )

    steady, thin, future = "0x" + "1" * 40, "0x" + "2" * 40, "0x" + "3" * 40
    histories = [
        # six closed positions and $1,200 traded before T: scored
        script.History(steady, [closed(steady, at - k * day, 10.0) for k in range(1, 7)],
                       [trade(steady, at - k * day, 200.0) for k in range(1, 7)]),
        # a huge month, but two closed positions: by PnL only
        script.History(thin, [closed(thin, at - day, 9e6), closed(thin, at - 2 * day, 1.0)],
                       [trade(thin, at - day, 5e6)]),
        # everything after T: invisible at T
        script.History(future, [closed(future, at + k * day, 1e6) for k in range(1, 9)],
                       [trade(future, at + day, 1e7)]),
    ]  # fmt: skip
    picks = script.picks_at(histories, at, Evidence(5, 1_000.0))
    assert picks["score"] == [steady]
    assert picks["pnl"] == [thin, steady] and picks["volume"] == [thin, steady]
    by_wallet = {h.wallet: h for h in histories}
    # after T: the future trader's week, pooled per dollar traded
    assert script.per_dollar(by_wallet, [future], at, 7) == pytest.approx(7e6 / 1e7)
    assert script.per_dollar(by_wallet, [steady], at, 7) is None  # nothing traded after T
