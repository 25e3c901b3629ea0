"""A hostile GitHub (or a proxy, or a GitHub Enterprise server gone bad) cannot take the token,
hang a refresh, blow up its memory, crash it, or make it publish wrong numbers.

Each test refreshes a user through a real `Refresher` whose client is built from settings
(`runtime.make_client`), against the fake GitHub over HTTP, with a hostile proxy in front
(`hostile.py`) where the answer is an attacker's, or with one of the fake's fault switches
where GitHub itself answers that way (a 301 for a moved repository). Deadlines and caps are
made small through the settings, so nothing waits for real.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import subprocess
import time
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from starlette.requests import Request
from starlette.responses import Response

from gitbrag.coordination import SQLiteStore
from gitbrag.doors.runtime import make_client
from gitbrag.doors.shutdown import Shutdown
from gitbrag.fakegithub.limits import ANONYMOUS
from gitbrag.fakegithub.server import FakeGitHubServer, shared_dataset
from gitbrag.models import Login
from gitbrag.publish.publisher import Publisher
from gitbrag.refresh import Refresher, UserOutcome
from gitbrag.settings import Settings
from tests.github.hostile import Elsewhere, Hostile, LoopbackServer, deep_json, gzip_bomb, trickle
from tests.support import REFRESH, clean_env, wait_for

TOKEN = "ghp_hostile_test_token_9c2e7a41"
USER = "Mona-Lisa"  # 300 pull requests; cloud-forge/tiny-sdk#10 has 130 files (past a search page's 100)
BIG_PR, BIG_PR_FILES = ("cloud-forge/tiny-sdk", 10), 130
FILES_PATH = "/repos/cloud-forge/tiny-sdk/pulls/10/files"
SMALL_USER = "steady-sam"


@dataclass
class World:
    gh: FakeGitHubServer
    hostile: Hostile
    proxy: str  # the hostile proxy's URL: what the client is configured with
    elsewhere: Elsewhere
    elsewhere_url: str


@contextmanager
def world() -> Iterator[World]:
    """The fake GitHub, a hostile proxy in front of it, and another host beside them."""
    with FakeGitHubServer(shared_dataset()) as gh:
        hostile, elsewhere = Hostile(gh.url), Elsewhere()
        with LoopbackServer(hostile.app()) as proxy, LoopbackServer(elsewhere.app()) as other:
            yield World(gh, hostile, proxy.url, elsewhere, other.url)


@asynccontextmanager
async def refresher(
    tmp_path: Path, api_url: str, shutdown: Shutdown | None = None, **settings: Any
) -> AsyncIterator[Refresher]:
    """A refresher whose GitHub client is wired from settings, as the doors wire it."""
    config = Settings(_env_file=None, github_token=SecretStr(TOKEN), github_api_url=api_url, **settings)
    store = SQLiteStore(tmp_path / "state.sqlite3")
    async with make_client(config, shutdown=shutdown) as client:
        yield Refresher(store=store, client=client, publisher=Publisher(tmp_path / "site"), max_concurrent=1)
    await store.close()


async def refresh(r: Refresher, login: str = USER, within: float = 30) -> UserOutcome:
    """One forced refresh of `login`; a hang is a failure of the test after `within` seconds."""
    result = await asyncio.wait_for(r.run_pass(refresh=[login], force=True), within)
    (outcome,) = result.outcomes
    return outcome


def assert_one_clean_line(error: str | None, *fragments: str) -> None:
    assert error is not None
    assert "\n" not in error and TOKEN not in error and "internal error" not in error, error
    for fragment in fragments:
        assert fragment in error, error


def report_json(site: Path, login: str = USER, period: str = "all_time") -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((site / login.lower() / period / "report.json").read_text())
    return loaded


# --- case 1: the token goes only to the configured origin ------------------------------------


async def test_a_next_page_link_to_another_host_is_not_followed_and_never_gets_the_token(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with world() as w:

        async def link_elsewhere(request: Request, body: bytes) -> Response | None:
            if request.url.path != FILES_PATH:
                return None
            answer = await w.hostile._forward(request, body)
            answer.headers["link"] = answer.headers["link"].replace(w.proxy, w.elsewhere_url)
            return answer

        w.hostile.rule = link_elsewhere
        async with refresher(tmp_path, w.proxy) as r:
            outcome = await refresh(r)
        assert w.hostile.answered.is_set()
        assert w.elsewhere.seen == []  # not a byte went there, let alone the token
        assert outcome.status == "failed"
        assert_one_clean_line(
            outcome.error, "next page of", w.elsewhere_url.removeprefix("http://"), "not followed"
        )
        assert not (tmp_path / "site" / USER.lower() / "all_time" / "report.json").exists()
        warnings = [
            r for r in caplog.records if r.levelno == logging.WARNING and "not followed" in r.getMessage()
        ]
        assert len(warnings) == 1


async def test_a_redirect_to_another_host_is_not_followed_and_never_gets_the_token(tmp_path: Path) -> None:
    with world() as w:

        async def moved_elsewhere(request: Request, body: bytes) -> Response | None:
            if request.url.path != FILES_PATH:
                return None
            return Response(b"{}", 301, {"location": w.elsewhere_url + FILES_PATH + "?per_page=100"})

        w.hostile.rule = moved_elsewhere
        async with refresher(tmp_path, w.proxy) as r:
            outcome = await refresh(r)
        assert w.hostile.answered.is_set()
        assert w.elsewhere.seen == []
        assert outcome.status == "failed"
        assert_one_clean_line(outcome.error, "redirect (HTTP 301)", "not followed")


# --- case 11: GitHub's 301 for a moved repository ---------------------------------------------


async def kept_files(r: Refresher, login: str = USER) -> dict[tuple[str, int], int]:
    kept = await r.store.load_collection(Login(login))
    assert kept is not None
    return {(p.repo, p.number): len(p.files) for p in kept.pull_requests}


async def test_a_moved_repository_s_301_is_followed_with_the_token_and_every_file_counts(
    tmp_path: Path,
) -> None:
    with FakeGitHubServer(shared_dataset()) as gh:
        async with refresher(tmp_path, gh.url) as r:
            gh.app_state.faults.update({"moved_next": 1})
            outcome = await refresh(r)
            assert gh.app_state.stats.faults["moved"] == 1  # the files' first page was answered 301
            assert outcome.status == "refreshed", outcome.error
            assert (await kept_files(r))[BIG_PR] == BIG_PR_FILES
        stats = gh.app_state.stats
        assert stats.requests["GET /repositories/{repo_id:int}/pulls/{number:int}/files"] == 2  # both pages
        assert ANONYMOUS not in stats.tokens  # the redirect was followed with the token
        for period in ("1_year", "all_time"):
            assert report_json(tmp_path / "site", period=period)["prs_with_capped_files"] == 0


async def test_a_collection_learnt_from_a_faulty_answer_is_collected_again_not_reused(
    tmp_path: Path,
) -> None:
    """A kept collection missing a pull request's files (as the 301 read as "no files" left
    them) is not built on: the next refresh collects in full and the numbers come right."""
    with FakeGitHubServer(shared_dataset()) as gh:
        async with refresher(tmp_path, gh.url) as r:
            assert (await refresh(r)).status == "refreshed"
            kept = await r.store.load_collection(Login(USER))
            assert kept is not None
            faulty = [
                p.model_copy(update={"files": []}) if (p.repo, p.number) == BIG_PR else p
                for p in kept.pull_requests
            ]
            await r.store.save_collection(kept.model_copy(update={"pull_requests": faulty}))
            assert (await refresh(r)).status == "refreshed"
            assert (await kept_files(r))[BIG_PR] == BIG_PR_FILES
        assert report_json(tmp_path / "site")["prs_with_capped_files"] == 0


# --- case 4: a whole-request deadline, and SIGTERM ends a run ----------------------------------


@pytest.mark.parametrize("stoppable", [False, True], ids=["plain", "with-shutdown"])
async def test_an_answer_trickling_a_byte_at_a_time_ends_at_the_request_deadline(
    tmp_path: Path, stoppable: bool
) -> None:
    """Also when the client races each request against a stop request (as the doors wire it)."""
    with world() as w:

        async def trickling_graphql(request: Request, body: bytes) -> Response | None:
            return trickle(b'{"data": {}}' * 1000, every=0.05) if request.url.path == "/graphql" else None

        w.hostile.rule = trickling_graphql
        shutdown = Shutdown() if stoppable else None
        async with refresher(tmp_path, w.proxy, shutdown, github_request_deadline_seconds=1) as r:
            started = time.monotonic()
            outcome = await refresh(r, SMALL_USER, within=20)
            claims = await r.store.active_tasks(Login(SMALL_USER), time.time())
        assert time.monotonic() - started < 10
        assert outcome.status == "failed"
        assert_one_clean_line(outcome.error, "/graphql did not arrive whole within 1s")
        assert claims == []  # the hung refresh ended and let go of its claim: anyone may refresh the user


def test_a_trickling_preflight_fails_the_cron_run_with_one_line(tmp_path: Path) -> None:
    with world() as w:

        async def trickling_rate_limit(request: Request, body: bytes) -> Response | None:
            return trickle(b" " * 10_000, every=0.05) if request.url.path == "/rate_limit" else None

        w.hostile.rule = trickling_rate_limit
        env = clean_env(
            GITHUB_TOKEN=TOKEN, GITBRAG_GITHUB_API_URL=w.proxy, GITBRAG_GITHUB_REQUEST_DEADLINE_SECONDS="1"
        )
        started = time.monotonic()
        result = subprocess.run(
            [REFRESH, "--once", "--user", SMALL_USER], cwd=tmp_path, env=env, capture_output=True, text=True,
            timeout=30,
        )  # fmt: skip
    assert time.monotonic() - started < 15
    assert result.returncode == 2, result.stderr[-2000:]
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("gitbrag-refresh: cannot reach the GitHub API"), last
    assert "rate_limit did not arrive whole within 1s" in last
    assert TOKEN not in result.stdout + result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("stuck_on", "summary"),
    [("/rate_limit", "refreshed=0 skipped=0 failed=0"), ("/graphql", "refreshed=0 skipped=4 failed=0")],
    ids=["preflight", "graphql"],
)
def test_sigterm_ends_a_cron_run_stuck_on_a_trickling_answer_at_once(
    tmp_path: Path, stuck_on: str, summary: str
) -> None:
    """The default deadline (a minute) is not waited out: a stop drops the request in flight
    after a short grace, the claim is released, and the run exits as stopped by SIGTERM."""
    with world() as w:

        async def trickling_graphql(request: Request, body: bytes) -> Response | None:
            return trickle(b" " * 100_000, every=0.05) if request.url.path == stuck_on else None

        w.hostile.rule = trickling_graphql
        env = clean_env(GITHUB_TOKEN=TOKEN, GITBRAG_GITHUB_API_URL=w.proxy)
        run = subprocess.Popen(
            [REFRESH, "--once", "--user", SMALL_USER], cwd=tmp_path, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            wait_for(w.hostile.answered.is_set, 30, "the trickle to start")
            time.sleep(0.5)
            stopped = time.monotonic()
            run.send_signal(signal.SIGTERM)
            out, err = run.communicate(timeout=20)
        finally:
            run.kill()
    assert time.monotonic() - stopped < 8
    assert run.returncode == 128 + signal.SIGTERM, err[-2000:]
    assert "stopped by SIGTERM" in err and "Traceback" not in err
    assert out.strip().splitlines()[-1] == summary


# --- case 5: a cap on each answer's decoded size ------------------------------------------------


async def test_a_gzip_bomb_is_one_clear_error_with_memory_bounded(tmp_path: Path) -> None:
    bomb = gzip_bomb(256)  # 256 MiB of spaces, about 256 KB on the wire
    with world() as w:

        async def bomb_graphql(request: Request, body: bytes) -> Response | None:
            if request.url.path != "/graphql":
                return None
            return Response(bomb, 200, {"content-encoding": "gzip", "content-type": "application/json"})

        w.hostile.rule = bomb_graphql
        async with refresher(tmp_path, w.proxy, github_max_response_bytes=2**20) as r:
            tracemalloc.start()
            try:
                outcome = await refresh(r, SMALL_USER)
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
    assert outcome.status == "failed"
    assert_one_clean_line(outcome.error, "/graphql is larger than 1 MiB decoded", "not read further")
    # Read whole, the bomb alone is 256 MiB (and was 1.96 GB resident); capped, a few MiB.
    assert peak < 16 * 2**20, f"peak {peak / 2**20:.0f} MiB"


# --- case 6: malformed answers are one line naming what was wrong -----------------------------


async def test_json_nested_100000_deep_is_a_malformed_answer_not_a_crash(tmp_path: Path) -> None:
    with world() as w:

        async def deep(request: Request, body: bytes) -> Response | None:
            return (
                Response(deep_json(100_000), 200, media_type="application/json")
                if request.url.path == "/graphql"
                else None
            )

        w.hostile.rule = deep
        async with refresher(tmp_path, w.proxy) as r:
            r.client._sleep = _no_wait  # the retries' backoff is not what is tested
            outcome = await refresh(r, SMALL_USER)
    assert outcome.status == "failed"
    assert_one_clean_line(outcome.error, "malformed JSON", "nested deeper than any GitHub answer")


async def test_a_200_without_data_search_is_a_malformed_answer_naming_it(tmp_path: Path) -> None:
    with world() as w:

        async def no_search(request: Request, body: bytes) -> Response | None:
            if request.url.path != "/graphql" or b"search(" not in body:
                return None  # the user lookup (a newcomer is asked about first) goes through
            answer = {"data": {"user": {"login": SMALL_USER}, "rateLimit": {"cost": 1}}}
            return Response(json.dumps(answer).encode(), 200, media_type="application/json")

        w.hostile.rule = no_search
        async with refresher(tmp_path, w.proxy) as r:
            outcome = await refresh(r, SMALL_USER)
    assert outcome.status == "failed"
    assert_one_clean_line(outcome.error, "no data.search")


async def _no_wait(seconds: float) -> None:
    await asyncio.sleep(0)


def test_the_new_settings_have_their_documented_defaults() -> None:
    settings = Settings(_env_file=None)
    assert settings.github_request_deadline_seconds == 60
    assert settings.github_max_response_bytes == 32 * 2**20
