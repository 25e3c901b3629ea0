"""Wiring: turn settings into a ready `Refresher` (store, GitHub client, cache,
publisher), shared by the CLI, the service and the hook. Also the demo: the fake
GitHub started in-process with its demo dataset.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import timedelta
from pathlib import Path

from pydantic import SecretStr

from gitbrag.cache import make_cache
from gitbrag.github.client import GitHubClient
from gitbrag.github.errors import AuthError, GitHubError
from gitbrag.github.pacing import SEARCH_PER_MINUTE, Pacing
from gitbrag.publish import Publisher
from gitbrag.refresh import Refresher
from gitbrag.settings import Settings, load_settings
from gitbrag.store import open_store
from gitbrag.tracking import TaskTracker, configure_tracking

DEMO_TOKEN = "gitbrag-demo-token"  # the fake accepts any token; this one never leaves memory


class UsageError(Exception):
    """Bad usage or configuration: exit 2 with the message."""


def settings_for(site_dir: str | None) -> Settings:
    overrides: dict[str, object] = {}
    if site_dir:
        overrides["site_dir"] = Path(site_dir)
    return load_settings(**overrides)


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


def make_client(settings: Settings, *, transient_attempts: int = 5) -> GitHubClient:
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
    )


def _pacing(settings: Settings) -> Pacing:
    """With Redis, the search window (30 a minute per account) is shared by every process."""
    if not settings.redis_url:
        return Pacing()
    from gitbrag.store.ratelimit import RedisWindow

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


@asynccontextmanager
async def open_refresher(settings: Settings) -> AsyncIterator[Refresher]:
    client = make_client(settings)
    store = open_store(settings)
    try:
        await preflight(settings)
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
                ),
                cache=make_cache(settings.redis_url),
                stale_after=timedelta(seconds=settings.stale_after_seconds),
                max_concurrent=settings.max_concurrent,
                private=settings.private,
            )
    finally:
        await store.close()
