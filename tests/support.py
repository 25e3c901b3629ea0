"""Helpers for tests that run gitbrag's commands as separate processes, as operators do."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from gitbrag.models import Report

REFRESH = str(Path(sys.executable).with_name("gitbrag-refresh"))
DEMO_USERS = ["Mona-Lisa", "prolific-pat", "zero-zoe", "hostile-hank", "steady-sam"]


def clean_env(**extra: str) -> dict[str, str]:
    """The test runner's environment without any gitbrag or GitHub setting, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITBRAG_", "GITHUB_"))}
    return env | extra


def refresh(cwd: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`gitbrag-refresh --once ARGS` to completion."""
    return subprocess.run(
        [REFRESH, "--once", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


def summary(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stdout.strip().splitlines()
    assert lines, result.stderr[-3000:]
    return lines[-1]


def assert_site_whole(site: Path) -> int:
    """Every page and report.json is complete; leftovers of a killed writer are hidden temp
    files (never served as pages, swept by a later run). Returns the number of files checked."""
    checked = 0
    for path in site.rglob("*"):
        if path.is_dir() or (path.name.startswith(".") and path.name.endswith(".tmp")):
            continue
        data = path.read_bytes()
        assert data, f"empty file {path}"
        if path.suffix == ".html":
            assert data.rstrip().endswith(b"</html>"), f"partial page {path}"
        elif path.name == "report.json":
            Report.model_validate_json(data)
        checked += 1
    return checked


def wait_for(predicate: Callable[[], object], timeout: float, what: str) -> None:
    """Poll `predicate` until it is true; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
