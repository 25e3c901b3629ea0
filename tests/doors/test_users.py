"""Tracked users listed and removed, and new settings reaching every page (issue 27, findings 2
and 4).

As an operator meets them: the installed commands as processes, the fake GitHub over
loopback, the real SQLite state file (or a real Redis), the site on disk.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gitbrag.fakegithub.server import FakeGitHubServer, shared_dataset
from tests.support import clean_env, refresh, summary

GITBRAG = str(Path(sys.executable).with_name("gitbrag"))
TOKEN = "ghp_users_0123456789abcdef"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeGitHubServer]:
    with FakeGitHubServer(shared_dataset()) as server:
        yield server


def env_for(fake: FakeGitHubServer, **extra: str) -> dict[str, str]:
    return clean_env(GITHUB_TOKEN=TOKEN, GITBRAG_GITHUB_API_URL=fake.url, **extra)


def gitbrag(cwd: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([GITBRAG, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def listed(cwd: Path, env: dict[str, str]) -> dict[str, dict[str, object]]:
    result = gitbrag(cwd, "users", "--json", env=env)
    assert result.returncode == 0, result.stderr
    return {row["login"].lower(): row for row in json.loads(result.stdout)}


def stats(fake: FakeGitHubServer) -> dict[str, object]:
    answer: dict[str, object] = httpx.get(fake.url + "/_fake/stats").json()
    return answer


# --- finding 2: gitbrag users, gitbrag untrack ------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
def test_users_lists_where_each_came_from_and_untrack_removes_the_user_and_its_pages(
    backend: str, tmp_path: Path, fake: FakeGitHubServer, request: pytest.FixtureRequest
) -> None:
    extra = {"GITBRAG_USERS": "zero-zoe"}
    if backend == "redis":
        extra["GITBRAG_REDIS_URL"] = request.getfixturevalue("redis_url")
    env = env_for(fake, **extra)
    first = refresh(tmp_path, "--user", "steady-sam", env=env)
    assert first.returncode == 0, first.stderr[-2000:]
    site = tmp_path / "site"
    assert (site / "steady-sam" / "index.html").is_file()

    users = listed(tmp_path, env)
    assert set(users) == {"zero-zoe", "steady-sam"}
    assert users["zero-zoe"]["source"] == "settings"
    assert users["steady-sam"]["source"] == "cli"
    assert users["steady-sam"]["status"] == "ok" and users["steady-sam"]["last_error"] is None
    assert users["steady-sam"]["last_refreshed"]
    table = gitbrag(tmp_path, "users", env=env)
    assert table.returncode == 0 and "steady-sam" in table.stdout and "cli" in table.stdout

    gone = gitbrag(tmp_path, "untrack", "Steady-Sam", env=env)
    assert gone.returncode == 0, gone.stderr
    assert set(listed(tmp_path, env)) == {"zero-zoe"}
    assert not (site / "steady-sam").exists()
    assert "steady-sam" not in (site / "index.html").read_text().lower()
    assert (site / "zero-zoe" / "index.html").is_file()

    # The next pass neither tracks it again from the pages nor publishes it.
    again = refresh(tmp_path, env=env)
    assert again.returncode == 0, again.stderr[-2000:]
    assert set(listed(tmp_path, env)) == {"zero-zoe"}
    assert not (site / "steady-sam").exists()


def test_untrack_exit_statuses(tmp_path: Path, fake: FakeGitHubServer) -> None:
    env = env_for(fake, GITBRAG_USERS="zero-zoe")
    assert refresh(tmp_path, env=env).returncode == 0
    bad = gitbrag(tmp_path, "untrack", "../x", env=env)
    assert bad.returncode == 2 and "not a valid GitHub login" in bad.stderr
    unknown = gitbrag(tmp_path, "untrack", "never-tracked", env=env)
    assert unknown.returncode == 1 and "never-tracked is not tracked" in unknown.stderr
    configured = gitbrag(tmp_path, "untrack", "zero-zoe", env=env)
    assert configured.returncode == 1 and "GITBRAG_USERS" in configured.stderr
    assert set(listed(tmp_path, env)) == {"zero-zoe"}  # nothing touched
    assert (tmp_path / "site" / "zero-zoe" / "index.html").is_file()


def test_a_user_github_no_longer_knows_is_reported_kept_and_not_retried(
    tmp_path: Path, fake: FakeGitHubServer
) -> None:
    env = env_for(fake, GITBRAG_USERS="zero-zoe")
    assert refresh(tmp_path, "--user", "steady-sam", env=env).returncode == 0
    dataset = shared_dataset()
    deleted = dataclasses.replace(
        dataset, users={k: v for k, v in dataset.users.items() if k != "steady-sam"}
    )
    with FakeGitHubServer(deleted) as after:
        later = env_for(after, GITBRAG_USERS="zero-zoe")
        failed = refresh(tmp_path, "--force", env=later)
        assert failed.returncode == 1, failed.stdout  # the pass that finds it gone says so
        users = listed(tmp_path, later)
        assert users["steady-sam"]["status"] == "missing"
        assert users["steady-sam"]["last_error"] == "GitHub user not found"
        assert (tmp_path / "site" / "steady-sam" / "index.html").is_file()  # its pages kept
        again = refresh(tmp_path, "--force", env=later)
        assert again.returncode == 0, again.stdout + again.stderr[-2000:]  # not retried
        assert "failed=0" in summary(again)
        untracked = gitbrag(tmp_path, "untrack", "steady-sam", env=later)
        assert untracked.returncode == 0, untracked.stderr
        assert not (tmp_path / "site" / "steady-sam").exists()


def test_users_on_a_folder_never_used_lists_nobody_and_creates_nothing(tmp_path: Path) -> None:
    result = gitbrag(tmp_path, "users", "--json", env=clean_env())
    assert result.returncode == 0 and json.loads(result.stdout) == []
    assert list(tmp_path.iterdir()) == []


# --- finding 4: new settings reach every page ---------------------------------------------------


def test_new_settings_render_every_page_again_at_no_github_cost(
    tmp_path: Path, fake: FakeGitHubServer
) -> None:
    users = "zero-zoe,steady-sam"
    first = refresh(tmp_path, env=env_for(fake, GITBRAG_USERS=users))
    assert first.returncode == 0, first.stderr[-2000:]
    site = tmp_path / "site"
    pages = [site / login / "index.html" for login in ("zero-zoe", "steady-sam")]
    assert all("brag.example.org" not in p.read_text() for p in pages)

    httpx.post(fake.url + "/_fake/reset")
    env = env_for(
        fake,
        GITBRAG_USERS=users,
        GITBRAG_BASE_URL="https://brag.example.org/",
        GITBRAG_TEAMS="core=zero-zoe,steady-sam",
        GITBRAG_TIMEZONE="Europe/Berlin",
        GITBRAG_HOOK_PUBLIC_URL="https://hook.example.org/",
    )
    second = refresh(tmp_path, env=env)
    assert second.returncode == 0, second.stderr[-2000:]
    for page in pages:
        html = page.read_text()
        assert f'<link rel="canonical" href="https://brag.example.org/{page.parent.name}/' in html, page
        assert "teams/core/" in html, page
        assert "https://hook.example.org/refresh/" in html, page
    for report in site.glob("*/*/report.json"):
        assert json.loads(report.read_text())["timezone"] == "Europe/Berlin", report
    for period_page in site.glob("*/*/index.html"):
        if period_page.parts[-3] in ("zero-zoe", "steady-sam"):
            assert "https://brag.example.org/" in period_page.read_text(), period_page
    spent = stats(fake)
    cost = spent["cost"]
    assert isinstance(cost, dict)
    # Nothing but the start-up check (GET /rate_limit, which costs nothing): no point spent.
    assert not any(cost.values()), spent

    # Nothing changed since: the next pass renders nothing again.
    third = refresh(tmp_path, env=env)
    assert summary(third).startswith("refreshed=0"), third.stdout


def test_a_state_file_from_before_sources_is_upgraded_in_place(tmp_path: Path) -> None:
    """A state file written before `source` was kept: the column is added when it is opened,
    and its users are listed (where a setting lists them, that is their source)."""
    state = tmp_path / ".gitbrag" / "state.sqlite3"
    state.parent.mkdir()
    with sqlite3.connect(state) as conn:
        conn.execute(
            "CREATE TABLE users (login TEXT PRIMARY KEY, display TEXT NOT NULL, added_at REAL NOT NULL,"
            " missing INTEGER NOT NULL DEFAULT 0)"
        )
        conn.executemany(
            "INSERT INTO users VALUES (?, ?, 0, 0)", [("zero-zoe", "zero-zoe"), ("old-olga", "Old-Olga")]
        )
    users = listed(tmp_path, clean_env(GITBRAG_USERS="zero-zoe"))
    assert users["zero-zoe"]["source"] == "settings"
    assert users["old-olga"]["source"] == "unknown" and users["old-olga"]["status"] == "new"
    with sqlite3.connect(state) as conn:
        assert "source" in {row[1] for row in conn.execute("PRAGMA table_info(users)")}
