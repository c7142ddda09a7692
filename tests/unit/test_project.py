"""The shape of the house, checked rather than hoped for: sizes, wiring rules, dependencies."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PRODUCT = ("bot", "cogs", "db")
CHECKED = (*PRODUCT, "scripts", "tests")
# Documents that live beside the repository, not in it: a clone has none of them.
OUTSIDE = re.compile(r"\.\./shared|\b(?:DESIGN|polymarket-api|style|discord-testing)\.md\b")
MAX_MODULE_LINES = 500
# The composition root names every part of the bot once, in its build order; splitting it would
# scatter the one place a reader opens to see what is built, started and stopped.
MODULE_LINE_EXCEPTIONS = {"bot/app.py": 560}
MAX_FUNCTION_LINES = 60


def product_modules() -> list[Path]:
    return sorted(p for root in PRODUCT for p in (REPO / root).rglob("*.py"))


def python_files() -> list[Path]:
    return sorted(p for root in CHECKED for p in (REPO / root).rglob("*.py"))


def test_runtime_dependencies_are_declared_once_with_the_same_pins() -> None:
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    pinned = [
        line.strip()
        for line in (REPO / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert sorted(declared) == sorted(pinned)


def test_the_runtime_install_carries_no_test_tools() -> None:
    runtime = (REPO / "requirements.txt").read_text().lower()
    for tool in ("pytest", "ruff", "hypothesis", "mypy", "import-linter"):
        assert tool not in runtime


def test_no_product_module_or_function_is_too_long() -> None:
    too_long = []
    for path in product_modules():
        source = path.read_text()
        allowed = MODULE_LINE_EXCEPTIONS.get(str(path.relative_to(REPO)), MAX_MODULE_LINES)
        if len(source.splitlines()) > allowed:
            too_long.append(f"{path.relative_to(REPO)}: {len(source.splitlines())} lines")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    too_long.append(f"{path.relative_to(REPO)}:{node.name}: {length} lines")
    assert too_long == []


def test_cogs_start_no_background_work() -> None:
    """Loops, tasks and workers belong to bot/app.py; a cog holds commands and views only."""
    started = re.compile(r"create_task|ensure_future|PeriodicTask|tasks\.loop|\.start\(\)")
    offenders = [
        f"{path.relative_to(REPO)}:{n}"
        for path in sorted((REPO / "cogs").glob("*.py"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if started.search(line)
    ]
    assert offenders == []


def test_paths_named_in_docstrings_exist() -> None:
    """A docstring that sends a reader to a file must send them somewhere real."""
    mentioned = re.compile(r"\b((?:bot|cogs|db|scripts|tests)/[a-z0-9_/]+\.(?:py|sql|sh))\b")
    missing = []
    for path in python_files():
        tree = ast.parse(path.read_text())
        nodes = [
            tree,
            *(n for n in ast.walk(tree) if isinstance(n, ast.ClassDef | ast.FunctionDef)),
        ]
        for node in nodes:
            for name in mentioned.findall(ast.get_docstring(node) or ""):
                if not (REPO / name).exists():
                    missing.append(f"{path.relative_to(REPO)} names {name}")
    assert missing == []


def test_nothing_points_at_documents_outside_the_repository() -> None:
    """Docstrings, comments and notes state the fact itself or name a file of the repository."""
    offenders = [
        f"{path.relative_to(REPO)}:{n}"
        for root in CHECKED
        for path in sorted((REPO / root).rglob("*"))
        if path.is_file() and path.suffix in {".py", ".sh", ".sql", ".md", ".toml", ".txt"}
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert offenders == []
