"""`gitbrag-refresh` fails with one clear line and exit 2 on bad usage or configuration."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

TOKEN = "ghp_secretsecretsecret1234567890"


def run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("GITBRAG_", "GITHUB_"))}
    return subprocess.run(
        [str(Path(sys.executable).with_name("gitbrag-refresh")), *args],
        env={**base, **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def assert_one_clear_line(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0]
    assert TOKEN not in result.stderr + result.stdout


def test_missing_token(tmp_path: Path) -> None:
    result = run(["--once"], {}, tmp_path)
    assert_one_clear_line(result, "GITHUB_TOKEN")


def test_bad_value_names_the_variable(tmp_path: Path) -> None:
    result = run(["--once"], {"GITHUB_TOKEN": TOKEN, "GITBRAG_STALE_AFTER_SECONDS": "soon"}, tmp_path)
    assert_one_clear_line(result, "GITBRAG_STALE_AFTER_SECONDS")


def test_bad_api_url(tmp_path: Path) -> None:
    result = run(["--once"], {"GITHUB_TOKEN": TOKEN, "GITBRAG_GITHUB_API_URL": "ftp://example"}, tmp_path)
    assert_one_clear_line(result, "GITBRAG_GITHUB_API_URL")


def test_unreachable_api(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    env = {"GITHUB_TOKEN": TOKEN, "GITBRAG_GITHUB_API_URL": url}
    result = run(["--once", "--user", "octocat"], env, tmp_path)
    assert_one_clear_line(result, "cannot reach", url)
    assert not (tmp_path / "site" / "octocat").exists()


def test_bad_usage(tmp_path: Path) -> None:
    result = run(["--once", "--no-such-flag"], {"GITHUB_TOKEN": TOKEN}, tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
