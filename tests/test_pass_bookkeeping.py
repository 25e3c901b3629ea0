"""A pass's bookkeeping costs what is due, not what is tracked (issue 29).

A world of N published, fresh users (one user's folder published by the real publisher, then
copied with the login substituted, as benchmarks/scale.py seeds it) on the real stores
(SQLite, and Redis as fakeredis). A pass with nothing due makes the same store calls and site
reads whatever N is, and reads no user's pages or metadata; each recovery still triggers when
its signal changes: a store that lost its users, a user's folder gone from the site, settings
the pages were not made with, a newly configured user, a change another process made that the
index shows, and a Redis due index that lost its entries.

Generations are recorded, not run (`Recording.generate`): what is tested is which users a
pass decides to refresh, and why.
"""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

import fakeredis
import pytest

from gitbrag.coordination import RedisStore, SQLiteStore, Store
from gitbrag.fakegithub.server import FakeGitHubServer, shared_dataset
from gitbrag.github.client import GitHubClient
from gitbrag.models import PERIODS, Collection, Login, Period, Profile, Report
from gitbrag.publish.publisher import IndexEntry, Publisher
from gitbrag.refresh import Refresher, Target, UserOutcome
from gitbrag.report.build import ReportOptions, build_reports

NOW = datetime.fromisoformat("2026-06-15T12:00:00+00:00")
TEMPLATE = "user-00000"


def login_of(number: int) -> Login:
    return Login(f"user-{number:05d}")


class Counting:
    """The store, counting its calls and the logins they name (a proxy: every call goes through)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.calls: Counter[str] = Counter()
        self.names: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.store, name)
        if not callable(attr):
            return attr

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += 1
            for arg in args:
                if isinstance(arg, list):
                    self.names[name] += len(arg)
            return attr(*args, **kwargs)

        return counted


class Watched(Publisher):
    """The real publisher, counting what of the site it reads and writes per user."""

    def __init__(self, site: Path, **kwargs: Any) -> None:
        super().__init__(site, **kwargs)
        self.reads: Counter[str] = Counter()

    def published_logins(self) -> list[Login]:
        self.reads["published_logins"] += 1
        return super().published_logins()

    def read_report(self, login: Login, period: Period) -> Report | None:
        self.reads["read_report"] += 1
        return super().read_report(login, period)

    def renders_stale(self, login: Login) -> bool:
        self.reads["renders_stale"] += 1
        return super().renders_stale(login)

    def is_published(self, login: Login) -> bool:
        self.reads["is_published"] += 1
        return super().is_published(login)

    def checked_at(self, login: Login, period: Period) -> datetime | None:
        self.reads["checked_at"] += 1
        return super().checked_at(login, period)

    def publish_index(self, entries: list[IndexEntry]) -> Path:
        self.reads["publish_index"] += 1
        return super().publish_index(entries)


class Recording(Refresher):
    """Records the targets a pass makes instead of generating them."""

    targets: list[Target]

    async def generate(self, target: Target) -> UserOutcome:
        self.targets.append(target)
        return UserOutcome(target.login, "skipped", (), error="recorded")


def publish_world(site: Path, n: int) -> list[Login]:
    """N users' folders: the template's published by the real publisher, the others copies."""
    publisher = Publisher(site)
    publisher.report_settings = repr(ReportOptions())  # as the refresher sets it
    collection = Collection(
        login=TEMPLATE, profile=Profile(login=TEMPLATE), pull_requests=[], repositories={}, stars={},
        collected_at=NOW - timedelta(hours=1),
    )  # fmt: skip
    reports = build_reports(collection, until=NOW - timedelta(hours=1), generated_at=NOW - timedelta(hours=1))
    publisher.publish_user({p: r.model_copy(update={"generation": 1}) for p, r in reports.items()})
    logins = [login_of(i) for i in range(n)]
    for login in logins[1:]:
        shutil.copytree(site / TEMPLATE, site / login)
        for report in (site / login).glob("*/report.json"):
            report.write_text(report.read_text().replace(TEMPLATE, login))
    return logins


async def track_world(store: Store, logins: list[Login]) -> None:
    await store.track(logins, NOW - timedelta(hours=1), PERIODS, "cli")
    for login in logins:
        await store.mark_generated(login, list(PERIODS), NOW - timedelta(hours=1), NOW + timedelta(hours=23))


def make_store(kind: str, path: Path) -> Store:
    if kind == "redis":
        return RedisStore(fakeredis.FakeAsyncRedis(decode_responses=True))
    return SQLiteStore(path)


@pytest.fixture(scope="module")
def github() -> Any:
    with FakeGitHubServer(shared_dataset()) as gh:
        yield gh


@pytest.fixture
async def client(github: FakeGitHubServer) -> AsyncIterator[GitHubClient]:
    async with GitHubClient(["t"], github.url, github.url + "/graphql", transient_attempts=1) as c:
        yield c


PassRunner = Callable[..., Any]


async def run(
    store: Store, site: Path, client: GitHubClient, *, track: list[str] | None = None, **publisher: Any
) -> tuple[Recording, Counting, Watched]:
    counting = Counting(store)
    watched = Watched(site, **publisher)
    refresher = Recording(store=cast(Store, counting), client=client, publisher=watched, clock=lambda: NOW)
    refresher.targets = []
    await refresher.run_pass(track=track or [])
    return refresher, counting, watched


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
async def test_a_pass_with_nothing_due_does_the_same_work_for_20_or_200_users(
    kind: str, tmp_path: Path, client: GitHubClient
) -> None:
    work: dict[int, tuple[Counter[str], Counter[str], Counter[str]]] = {}
    for n in (20, 200):
        site, store = tmp_path / f"site-{n}", make_store(kind, tmp_path / f"state-{n}.sqlite3")
        await track_world(store, publish_world(site, n))
        first, _, _ = await run(store, site, client)  # leaves the marks (it looks at everyone once)
        assert first.targets == []
        second, counting, watched = await run(store, site, client)
        assert second.targets == []
        work[n] = (counting.calls, counting.names, watched.reads)
        await store.close()
    assert work[20] == work[200]
    calls, names, reads = work[200]
    # Nobody's metadata, pages or report is read, nobody tracked again, the index not rebuilt.
    assert not {"tracked", "tracked_page", "report_meta", "track"} & set(calls), calls
    assert sum(names.values()) == 0, names
    assert not reads, reads


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
async def test_a_user_s_folder_gone_from_the_site_is_generated_again(
    kind: str, tmp_path: Path, client: GitHubClient
) -> None:
    site, store = tmp_path / "site", make_store(kind, tmp_path / "state.sqlite3")
    await track_world(store, publish_world(site, 30))
    await run(store, site, client)
    shutil.rmtree(site / "user-00007")
    refresher, _, _ = await run(store, site, client)
    assert [(t.login, t.reason) for t in refresher.targets] == [("user-00007", "pages missing")]


async def test_a_store_that_lost_every_user_tracks_the_published_ones_again(
    tmp_path: Path, client: GitHubClient
) -> None:
    site, store = tmp_path / "site", make_store("redis", tmp_path / "unused")
    logins = publish_world(site, 30)
    await track_world(store, logins)
    await run(store, site, client)
    await cast(RedisStore, store)._redis.flushall()  # a Redis restarted empty: marks gone too
    await run(store, site, client)
    assert set(await store.tracked_among(logins)) == set(logins)
    census = await store.census()
    assert census.tracked == 30 and census.reports == 30 * len(PERIODS)


async def test_a_redis_that_evicted_its_users_but_not_the_marks_tracks_them_again(
    tmp_path: Path, client: GitHubClient
) -> None:
    site, store = tmp_path / "site", make_store("redis", tmp_path / "unused")
    logins = publish_world(site, 30)
    await track_world(store, logins)
    await run(store, site, client)
    redis = cast(RedisStore, store)._redis
    await redis.delete("{gitbrag}:users", "{gitbrag}:due")  # evicted (allkeys-lru): fewer than marked
    refresher, _, _ = await run(store, site, client)
    assert set(await store.tracked_among(logins)) == set(logins)
    assert await redis.zcard("{gitbrag}:due") == 30 * len(PERIODS)
    # Tracked again with their reports due at once: this pass refreshes them.
    assert {t.login for t in refresher.targets} == set(logins)


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
async def test_new_settings_render_every_user_again_and_only_once(
    kind: str, tmp_path: Path, client: GitHubClient
) -> None:
    site, store = tmp_path / "site", make_store(kind, tmp_path / "state.sqlite3")
    logins = publish_world(site, 30)
    await track_world(store, logins)
    await run(store, site, client)
    changed, _, _ = await run(store, site, client, base_url="https://brag.example.org/")
    assert {(t.login, t.reason, t.render) for t in changed.targets} == {
        (login, "settings changed", True) for login in logins
    }


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
async def test_a_newly_configured_user_is_tracked_and_then_not_looked_up_again(
    kind: str, tmp_path: Path, client: GitHubClient
) -> None:
    site, store = tmp_path / "site", make_store(kind, tmp_path / "state.sqlite3")
    await track_world(store, publish_world(site, 30))
    await run(store, site, client)
    added, _, _ = await run(store, site, client, track=["dormant-dora"])  # GitHub knows her
    assert [(t.login, t.reason) for t in added.targets] == [("dormant-dora", "new")]
    assert "dormant-dora" in await store.tracked_among([Login("dormant-dora")])
    # Generated since (this test only records generations): the same configured names next
    # pass are not looked up one by one again.
    await store.mark_generated(Login("dormant-dora"), list(PERIODS), NOW, NOW + timedelta(days=1))
    again, counting, _ = await run(store, site, client, track=["dormant-dora"])
    assert counting.names["tracked_among"] == 0 and again.targets == []


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
async def test_the_index_is_rebuilt_when_another_process_changed_what_it_lists(
    kind: str, tmp_path: Path, client: GitHubClient
) -> None:
    site, store = tmp_path / "site", make_store(kind, tmp_path / "state.sqlite3")
    await track_world(store, publish_world(site, 30))
    _, _, first = await run(store, site, client)
    assert first.reads["publish_index"] == 1
    _, _, quiet = await run(store, site, client)
    assert quiet.reads["publish_index"] == 0
    # The hook (another process, or this one between passes) refreshed a user.
    await store.mark_generated(login_of(3), list(PERIODS), NOW, NOW + timedelta(days=1))
    _, _, after = await run(store, site, client)
    assert after.reads["publish_index"] == 1
    assert (site / "index.html").is_file()


class RowsRead(Watched):
    """Also counts the index rows read (each a user's generated.json)."""

    def index_entry(self, login: Login) -> IndexEntry | None:
        self.reads["index_entry"] += 1
        return super().index_entry(login)


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
async def test_a_pass_that_refreshed_one_user_publishes_that_row_alone(
    kind: str, tmp_path: Path, client: GitHubClient
) -> None:
    """Nobody else's changes since the index was built: the index takes the refreshed user's row
    from the rows of its page and of the first (`Publisher.update_index`), not from everyone's,
    so a forced refresh of one user costs the same with 100,000 tracked as with 1,000."""
    site, store = tmp_path / "site", make_store(kind, tmp_path / "state.sqlite3")
    await track_world(store, publish_world(site, 30))
    first = Refresher(
        store=store, client=client, publisher=RowsRead(site, index_page_rows=5), clock=lambda: NOW
    )
    await first.run_pass(refresh=["dormant-dora"], force=True)  # tracks her: everyone's rows read
    assert cast(RowsRead, first.publisher).reads["publish_index"] == 1
    watched = RowsRead(site, index_page_rows=5)  # 31 people: 7 pages
    again = Refresher(store=store, client=client, publisher=watched, clock=lambda: NOW + timedelta(minutes=5))
    result = await again.run_pass(refresh=["dormant-dora"], force=True)
    assert [o.status for o in result.outcomes] == ["refreshed"]
    assert watched.reads["publish_index"] == 0
    assert 0 < watched.reads["index_entry"] <= 2 * 5  # her page's people and the first page's
    assert "dormant-dora" in (site / "search.json").read_text(encoding="utf-8")
    # Another process's refresh in between: the index is rebuilt from everyone's rows.
    await store.mark_generated(login_of(3), list(PERIODS), NOW, NOW + timedelta(days=1))
    rebuilt = RowsRead(site, index_page_rows=5)
    third = Refresher(store=store, client=client, publisher=rebuilt, clock=lambda: NOW + timedelta(minutes=9))
    await third.run_pass(refresh=["dormant-dora"], force=True)
    assert rebuilt.reads["publish_index"] == 1 and rebuilt.reads["index_entry"] >= 31
    await store.close()


async def test_a_pass_after_one_that_published_does_not_look_at_every_user(
    tmp_path: Path, client: GitHubClient, caplog: pytest.LogCaptureFixture
) -> None:
    """A publishing process marks itself at the site's root while it writes (the sweep's
    writer's mark) and removes the mark when it ends: the site's mark the pass leaves is taken
    after that, so the next pass does not find the site changed and look at everyone."""
    site, store = tmp_path / "site", make_store("sqlite", tmp_path / "state.sqlite3")
    await track_world(store, publish_world(site, 30))
    for minutes in (0, 5):
        refresher = Refresher(
            store=store,
            client=client,
            publisher=Publisher(site),
            clock=lambda m=minutes: NOW + timedelta(minutes=m),
        )
        await refresher.run_pass(refresh=["dormant-dora"], force=True)
        refresher.publisher.close()  # as the doors do when the process ends
    caplog.clear()
    with caplog.at_level("INFO", logger="gitbrag.refresh"):
        await run(store, site, client)
    assert not [r for r in caplog.records if "looking at every user" in r.getMessage()]
    await store.close()
