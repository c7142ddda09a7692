"""The import boundaries copy trading relies on, and the small rules on its domain types.

The promises: the domain types and the pure parts import nothing with I/O (so ``db/`` can build
the types without importing a service), and the query modules can be imported before anything
else in a fresh interpreter (the package's ``__init__`` imports the service, which imports them
back: only module-style imports keep that cycle harmless).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from bot.copytrading.models import OrderStats
from tests.unit.copytrading.factories import make_order

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = ROOT / "bot" / "copytrading"
STDLIB = {"__future__", "collections", "dataclasses", "enum", "typing"}
PURE = STDLIB | {"bot.copytrading.models", "bot.polymarket.records"}


def imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
    return modules


def top_level(modules: set[str]) -> set[str]:
    return {m if m.startswith("bot.") else m.split(".")[0] for m in modules}


def test_models_import_the_standard_library_only() -> None:
    assert top_level(imported_modules(PACKAGE / "models.py")) <= STDLIB


@pytest.mark.parametrize("module", ["lifecycle.py", "fills.py"])
def test_the_pure_parts_import_no_io(module: str) -> None:
    assert top_level(imported_modules(PACKAGE / module)) <= PURE


@pytest.mark.parametrize("module", ["db.copytrading_queries", "db.portfolio_queries"])
def test_a_query_module_can_be_imported_first(module: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_an_order_counts_dollars_for_a_buy_and_shares_for_a_sell() -> None:
    buy = make_order("BUY", size_usd=10.0, filled_usd=4.0, filled_shares=8.0)
    assert (buy.requested, buy.remaining) == (10.0, 6.0)
    sell = make_order("SELL", size_shares=5.0, filled_shares=5.5, filled_usd=2.0)
    assert (sell.requested, sell.remaining) == (5.0, 0.0)  # never negative


def test_reasons_are_counted_only_when_something_happened() -> None:
    stats = OrderStats()
    stats.count_reason("expired", 0)
    stats.count_reason("expired", 2)
    stats.count_reason("expired")
    assert stats.by_reason == {"expired": 3}
