"""Wiring: turn settings into a ready `Refresher` (store, GitHub client, cache,
publisher), shared by the CLI, the service and the hook. Also the demo: the fake
GitHub started in-process with its demo dataset.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import timedelta
from pathlib import Path

from pydantic import SecretStr

from gitbrag.coordination import check_store, open_store
from gitbrag.coordination.cache import make_cache
from gitbrag.coordination.errors import StoreError
from gitbrag.coordination.redis import not_redis
from gitbrag.coordination.tracking import TaskTracker, configure_tracking
from gitbrag.doors.shutdown import Shutdown, ShuttingDown
from gitbrag.github.client import GitHubClient, Sleep
from gitbrag.github.errors import AuthError, GitHubError
from gitbrag.github.pacing import SEARCH_PER_MINUTE, Pacing
from gitbrag.github.points import PointBudget
from gitbrag.publish.publisher import Publisher
from gitbrag.refresh import Refresher
from gitbrag.report.build import ReportOptions
from gitbrag.settings import DEFAULT_REDIS_START_WAIT_SECONDS, Settings, check_paths, load_settings

DEMO_TOKEN = "gitbrag-demo-token"  # the fake accepts any token; this one never leaves memory
# The demo's own site and state, beside a real deployment's `site/` and `.gitbrag/state.sqlite3`
# and never mixed with them (unless --site-dir, GITBRAG_SITE_DIR or GITBRAG_STATE_PATH say otherwise).
DEMO_SITE_DIR = Path("demo-site")
DEMO_STATE_FILE = "demo.sqlite3"
# How long the start-up check waits for Redis to answer PING (a healthy one takes milliseconds).
REDIS_CHECK_SECONDS = 2.0


class UsageError(Exception):
    """Bad usage or configuration: exit 2 with the message."""


def settings_for(site_dir: str | None, *, paths: bool = True) -> Settings:
    """Settings from the environment, every value checked, and with `paths` every path too
    (not for a command that writes nothing: `gitbrag report`); nothing created yet."""
    overrides: dict[str, object] = {}
    if site_dir is not None:
        overrides["site_dir"] = site_dir
    settings = load_settings(**overrides)
    if paths:
        check_paths(settings)
    return settings


@contextmanager
def demo_github(settings: Settings, *, paths: bool = True) -> Iterator[tuple[Settings, list[str]]]:
    """Start the fake GitHub in-process with its demo dataset; point settings at it, and at the
    demo's own site folder and state file unless they were given: a demo run, then a real one
    in the same folder, must not publish or track made-up users as the real site's."""
    from gitbrag.fakegithub.dataset import DEMO_TEAMS, build_dataset
    from gitbrag.fakegithub.server import FakeGitHubServer

    dataset = build_dataset()
    with FakeGitHubServer(dataset) as fake:
        update: dict[str, object] = {
            "github_api_url": fake.url,
            "github_graphql_url": fake.url + "/graphql",
            "github_token": SecretStr(DEMO_TOKEN),
            "teams": settings.teams
            or {name: list(members) for name, members in DEMO_TEAMS.items()},  # a team page to see
        }
        if "state_path" not in settings.model_fields_set:
            update["state_path"] = settings.state_path.with_name(DEMO_STATE_FILE)
        if "site_dir" not in settings.model_fields_set:
            update["site_dir"] = DEMO_SITE_DIR
        demo = settings.model_copy(update=update)
        if paths:
            check_paths(demo)
        yield demo, list(dataset.demo_users)


def make_publisher(settings: Settings, *, demo: bool = False) -> Publisher:
    """The publisher the settings describe (the refresher's, and `gitbrag untrack`'s)."""
    return Publisher(
        settings.site_dir,
        templates_dir=settings.templates_dir,
        base_url=settings.base_url,
        hook_public_url=settings.hook_public_url,
        stale_after_seconds=settings.stale_after_seconds,
        teams=settings.teams,
        demo=demo,
    )


def report_options(settings: Settings) -> ReportOptions:
    """What the settings say reports cover (`GITBRAG_PERIODS`), count (`GITBRAG_GENERATED_PATHS`),
    leave out (`GITBRAG_EXCLUDE`, `GITBRAG_EXCLUDE_LANGUAGES`) and which calendar they follow
    (`GITBRAG_TIMEZONE`, `login@Zone` in `GITBRAG_USERS`)."""
    return ReportOptions(
        periods=tuple(settings.periods),
        generated_paths=tuple(settings.generated_paths),
        exclude=tuple(settings.exclude),
        exclude_languages=tuple(settings.exclude_languages),
        timezone=settings.timezone,
        user_timezones=tuple(sorted(settings.user_timezones.items())),
    )


def make_client(
    settings: Settings,
    *,
    transient_attempts: int = 5,
    sleep: Sleep = asyncio.sleep,
    shutdown: Shutdown | None = None,
) -> GitHubClient:
    """The GitHub client; `sleep` is how it waits out rate limits and backoffs. With
    `shutdown`, SIGTERM cuts those waits short and drops requests in flight (an answer
    trickling in must not keep a stopping process alive)."""
    tokens = settings.tokens()
    if not tokens:
        raise UsageError("no GitHub token: set GITHUB_TOKEN (or GITBRAG_GITHUB_TOKEN), or try --demo")
    client = GitHubClient(
        tokens,
        settings.github_api_url,
        settings.graphql_url,
        transient_attempts=transient_attempts,
        pacing=_pacing(settings),
        max_in_flight=settings.github_max_in_flight,
        sleep=shutdown.sleep if shutdown is not None else sleep,
        deadline=settings.github_request_deadline_seconds,
        max_response_bytes=settings.github_max_response_bytes,
        interrupt=_stopping(shutdown) if shutdown is not None else None,
    )
    if settings.budget_points is not None:  # GITBRAG_BUDGET_POINTS
        client.budget = PointBudget(settings.budget_points, client.usage)
    return client


def _stopping(shutdown: Shutdown) -> Callable[[], Awaitable[None]]:
    """What the client races each request against: raises `ShuttingDown` on a stop request."""

    async def stopped() -> None:
        await shutdown.wait()
        raise ShuttingDown()

    return stopped


def _pacing(settings: Settings) -> Pacing:
    """With Redis, the search window (30 a minute per account) is shared by every process."""
    if not settings.redis_url:
        return Pacing()
    from gitbrag.coordination.ratelimit import RedisWindow

    return Pacing(search=RedisWindow.from_url(settings.redis_url, SEARCH_PER_MINUTE))


async def preflight(settings: Settings, shutdown: Shutdown | None = None) -> None:
    """One free request (GET /rate_limit costs nothing), retried briefly, so a wrong URL
    or token fails in seconds with one clear line instead of once per user; within the
    request deadline, and cut short by `shutdown`."""
    async with make_client(settings, transient_attempts=2, shutdown=shutdown) as probe:
        try:
            await probe.rest_get("/rate_limit")
        except AuthError as exc:
            raise UsageError(str(exc)) from None
        except GitHubError as exc:
            raise UsageError(f"cannot reach the GitHub API at {settings.github_api_url}: {exc}") from None


async def check_redis_answers(
    url: str, within: float = REDIS_CHECK_SECONDS, patience: float = DEFAULT_REDIS_START_WAIT_SECONDS
) -> None:
    """Whatever listens at GITBRAG_REDIS_URL answers as Redis, else `UsageError`: something
    else (another service's port) would make every call wait out its socket timeout, and a
    pass crawl for minutes and exit 0. A Redis that is merely down passes: the store fails
    open and heals when it comes up, as documented. One that is busy (a big save) is waited
    for, up to `patience` seconds (GITBRAG_REDIS_START_WAIT_SECONDS), not called "not Redis":
    the service would exit and, under Docker, restart in a loop."""
    if problem := await not_redis(url, within, patience):
        raise UsageError(f"GITBRAG_REDIS_URL: {problem}")


@asynccontextmanager
async def open_refresher(
    settings: Settings, *, shutdown: Shutdown | None = None, demo: bool = False
) -> AsyncIterator[Refresher]:
    """The wired refresher; with `shutdown`, a stop request ends its waits on GitHub and its claiming;
    `demo`: the demo's run (`demo_github`), whose pages are marked as the demo's.

    Checks first, then creates: a wrong GitHub URL or token, or a port that is not Redis,
    exits with one line before the store file or any folder exists."""
    client = make_client(settings, shutdown=shutdown)
    await preflight(settings, shutdown)
    if settings.redis_url:
        await check_redis_answers(settings.redis_url, patience=settings.redis_start_wait_seconds)
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
            publisher = make_publisher(settings, demo=demo)
            try:
                yield Refresher(
                    store=store,
                    client=client,
                    tracker=tracker,
                    publisher=publisher,
                    cache=make_cache(settings.redis_url),
                    stale_after=timedelta(seconds=settings.stale_after_seconds),
                    max_concurrent=settings.max_concurrent,
                    retries_per_refresh=settings.github_retries_per_refresh,
                    private=settings.private,
                    shutdown=shutdown,
                    report_options=report_options(settings),
                )
            finally:
                publisher.close()  # this process no longer writes the site: its mark goes
    finally:
        await store.close()
