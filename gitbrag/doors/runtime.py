"""Wiring: turn settings into a ready `Refresher` (store, GitHub client, cache,
publisher), shared by the CLI, the service and the hook. Also the demo: the fake
GitHub started in-process with its demo dataset.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import timedelta

from pydantic import SecretStr

from gitbrag.coordination import check_store, open_store
from gitbrag.coordination.cache import make_cache
from gitbrag.coordination.errors import StoreError
from gitbrag.coordination.redis import not_redis
from gitbrag.coordination.tracking import TaskTracker, configure_tracking
from gitbrag.doors.shutdown import Shutdown
from gitbrag.github.client import GitHubClient, Sleep
from gitbrag.github.errors import AuthError, GitHubError
from gitbrag.github.pacing import SEARCH_PER_MINUTE, Pacing
from gitbrag.publish.publisher import Publisher
from gitbrag.refresh import Refresher
from gitbrag.report.build import ReportOptions
from gitbrag.settings import Settings, check_paths, load_settings

DEMO_TOKEN = "gitbrag-demo-token"  # the fake accepts any token; this one never leaves memory
# How long the start-up check waits for Redis to answer PING (a healthy one takes milliseconds).
REDIS_CHECK_SECONDS = 2.0


class UsageError(Exception):
    """Bad usage or configuration: exit 2 with the message."""


def settings_for(site_dir: str | None) -> Settings:
    """Settings from the environment, every value and path checked, nothing created yet."""
    overrides: dict[str, object] = {}
    if site_dir is not None:
        overrides["site_dir"] = site_dir
    settings = load_settings(**overrides)
    check_paths(settings)
    return settings


@contextmanager
def demo_github(settings: Settings) -> Iterator[tuple[Settings, list[str]]]:
    """Start the fake GitHub in-process with its demo dataset; point settings at it."""
    from gitbrag.fakegithub.dataset import build_dataset
    from gitbrag.fakegithub.server import FakeGitHubServer

    dataset = build_dataset()
    with FakeGitHubServer(dataset) as fake:
        update: dict[str, object] = {
            "github_api_url": fake.url,
            "github_graphql_url": fake.url + "/graphql",
            "github_token": SecretStr(DEMO_TOKEN),
        }
        if "state_path" not in settings.model_fields_set:
            update["state_path"] = settings.state_path.with_name("demo.sqlite3")
        yield settings.model_copy(update=update), list(dataset.demo_users)


def report_options(settings: Settings) -> ReportOptions:
    """What the settings say reports cover (`GITBRAG_PERIODS`) and count (`GITBRAG_GENERATED_PATHS`)."""
    return ReportOptions(periods=tuple(settings.periods), generated_paths=tuple(settings.generated_paths))


def make_client(
    settings: Settings, *, transient_attempts: int = 5, sleep: Sleep = asyncio.sleep
) -> GitHubClient:
    """The GitHub client; `sleep` is how it waits out rate limits and backoffs (a
    `Shutdown.sleep` lets SIGTERM cut those waits short)."""
    tokens = settings.tokens()
    if not tokens:
        raise UsageError("no GitHub token: set GITHUB_TOKEN (or GITBRAG_GITHUB_TOKEN), or try --demo")
    return GitHubClient(
        tokens,
        settings.github_api_url,
        settings.graphql_url,
        transient_attempts=transient_attempts,
        pacing=_pacing(settings),
        max_in_flight=settings.github_max_in_flight,
        sleep=sleep,
    )


def _pacing(settings: Settings) -> Pacing:
    """With Redis, the search window (30 a minute per account) is shared by every process."""
    if not settings.redis_url:
        return Pacing()
    from gitbrag.coordination.ratelimit import RedisWindow

    return Pacing(search=RedisWindow.from_url(settings.redis_url, SEARCH_PER_MINUTE))


async def preflight(settings: Settings) -> None:
    """One free request (GET /rate_limit costs nothing), retried briefly, so a wrong URL
    or token fails in seconds with one clear line instead of once per user."""
    async with make_client(settings, transient_attempts=2) as probe:
        try:
            await probe.rest_get("/rate_limit")
        except AuthError as exc:
            raise UsageError(str(exc)) from None
        except GitHubError as exc:
            raise UsageError(f"cannot reach the GitHub API at {settings.github_api_url}: {exc}") from None


async def check_redis_answers(url: str, within: float = REDIS_CHECK_SECONDS) -> None:
    """Whatever listens at GITBRAG_REDIS_URL answers as Redis, else `UsageError`: something
    else (another service's port) would make every call wait out its socket timeout, and a
    pass crawl for minutes and exit 0. A Redis that is merely down passes: the store fails
    open and heals when it comes up, as documented."""
    if problem := await not_redis(url, within):
        raise UsageError(f"GITBRAG_REDIS_URL: {problem}")


@asynccontextmanager
async def open_refresher(settings: Settings, *, shutdown: Shutdown | None = None) -> AsyncIterator[Refresher]:
    """The wired refresher; with `shutdown`, a stop request ends its waits on GitHub and its claiming.

    Checks first, then creates: a wrong GitHub URL or token, or a port that is not Redis,
    exits with one line before the store file or any folder exists."""
    client = make_client(settings, sleep=shutdown.sleep if shutdown else asyncio.sleep)
    await preflight(settings)
    if settings.redis_url:
        await check_redis_answers(settings.redis_url)
    try:
        store = open_store(settings)
    except StoreError as exc:  # a read-only or unusable GITBRAG_STATE_PATH: one line, exit 2
        raise UsageError(
            f"GITBRAG_STATE_PATH: cannot use the state store {settings.state_path}: {exc}"
        ) from None
    try:
        if problem := await check_store(store):  # read-only, rejected credentials: one line, exit 2
            raise UsageError(problem)
        async with client:
            tracker = TaskTracker.from_settings(store, settings)
            configure_tracking(tracker)
            yield Refresher(
                store=store,
                client=client,
                tracker=tracker,
                publisher=Publisher(
                    settings.site_dir,
                    templates_dir=settings.templates_dir,
                    base_url=settings.base_url,
                    hook_public_url=settings.hook_public_url,
                    stale_after_seconds=settings.stale_after_seconds,
                    teams=settings.teams,
                ),
                cache=make_cache(settings.redis_url),
                stale_after=timedelta(seconds=settings.stale_after_seconds),
                max_concurrent=settings.max_concurrent,
                retries_per_refresh=settings.github_retries_per_refresh,
                private=settings.private,
                shutdown=shutdown,
                report_options=report_options(settings),
            )
    finally:
        await store.close()
