"""The code stays typed (mypy --strict) and lint-clean (ruff): CI fails otherwise."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent
BIN = Path(sys.executable).parent


def run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_finds_nothing() -> None:
    result = run(str(BIN / "ruff"), "check", "gitbrag", "tests", "benchmarks")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_finds_nothing() -> None:
    result = run(str(BIN / "mypy"))
    assert result.returncode == 0, result.stdout + result.stderr


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    return names | {
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    }


def test_only_the_coordination_layer_imports_redis_or_sqlite3() -> None:
    """The stores map their backends' errors at the boundary (StoreError, StoreUnavailable), so
    nothing else needs to know which backend runs."""
    package = ROOT / "gitbrag"
    offenders = sorted(
        f"{path.relative_to(package)}: {name}"
        for path in package.rglob("*.py")
        if path.relative_to(package).parts[0] != "coordination"
        for name in imported_modules(path)
        if name.split(".")[0] in ("redis", "sqlite3")
    )
    assert offenders == []


def _lowered_logins(path: Path) -> list[str]:
    """`<something login- or username-like>.lower()` calls in one module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        f"{path.name}:{node.lineno}: {ast.unparse(node)}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "lower"
        and any(word in ast.unparse(node.func.value).lower() for word in ("login", "username", "user"))
    ]


def test_no_login_is_lowercased_by_hand_behind_the_doors() -> None:
    """A user is a `Login` (parsed once at a door, lowercased there) everywhere behind the
    doors: a store or page that lowercased a name of its own would key a user twice the
    moment one path forgot. The fake GitHub, which is GitHub and not our code, is left out."""
    package = ROOT / "gitbrag"
    offenders = [
        found
        for path in sorted(package.rglob("*.py"))
        if path.relative_to(package).parts[0] != "fakegithub"
        for found in _lowered_logins(path)
    ]
    assert offenders == []
