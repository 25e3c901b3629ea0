"""Collection against the fake GitHub over real HTTP, checked against the fake's own records.

Expectations come straight from the dataset (`build_dataset`), never from the
collector, so a collector that drops, duplicates or misreads a PR fails here.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from aiocache import SimpleMemoryCache

from gitbrag.coordination import SQLiteStore
from gitbrag.fakegithub.app import FakeConfig
from gitbrag.fakegithub.dataset import add_pull, add_star, build_dataset
from gitbrag.fakegithub.faults import FaultConfig
from gitbrag.fakegithub.limits import LimitConfig
from gitbrag.fakegithub.records import Dataset, FakePull
from gitbrag.fakegithub.server import FakeGitHubServer
from gitbrag.github import GitHubClient, Usage, UserNotFound, collect_user
from gitbrag.github.stars import star_histories
from gitbrag.models import Collection, PullRequest, StarHistory, period_since
from tests.clock import Clock

NOW = datetime.now(UTC)
FIVE_YEARS_AGO = period_since("5_years", NOW)
# A repository where Mona-Lisa's only PR is older than 5 years: no star walk is needed for it.
OLD_ONLY_REPO = "zero-zoe/hello-world"


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    ds = build_dataset()
    add_pull(
        ds,
        OLD_ONLY_REPO,
        "Mona-Lisa",
        title="Say hello properly",
        created_at=(NOW - timedelta(days=2200)).replace(microsecond=0),
        state="closed",
        merged=True,
    )
    return ds


@pytest.fixture(scope="module")
def server(dataset: Dataset) -> Iterator[FakeGitHubServer]:
    with FakeGitHubServer(dataset) as running:
        yield running


def github(server: FakeGitHubServer, **kw: object) -> GitHubClient:
    return GitHubClient(["test-token"], server.url, server.url + "/graphql", **kw)  # type: ignore[arg-type]


@pytest.fixture
async def client(server: FakeGitHubServer) -> AsyncIterator[GitHubClient]:
    async with github(server) as gh:
        yield gh


@pytest.fixture(scope="module")
def mona(server: FakeGitHubServer) -> tuple[Collection, Usage]:
    """Mona-Lisa collected once, by a fresh client, for the tests that only read the result."""

    async def collect() -> tuple[Collection, Usage]:
        async with github(server) as gh:
            return await collect_user(gh, "mona-lisa", now=NOW), gh.usage

    return asyncio.run(collect())


def expected_state(pull: FakePull) -> str:
    if pull.merged_at is not None:
        return "MERGED"
    return "OPEN" if pull.state == "open" else "CLOSED"


def assert_matches(got: PullRequest, want: FakePull) -> None:
    assert (got.title, got.url, got.state, got.author_association) == (
        want.title,
        f"https://github.com/{want.repo}/pull/{want.number}",
        expected_state(want),
        want.author_association,
    )
    assert (got.created_at, got.merged_at, got.closed_at) == (want.created_at, want.merged_at, want.closed_at)
    assert (got.additions, got.deletions, got.changed_files) == (
        want.additions,
        want.deletions,
        want.changed_files,
    )
    got_files = sorted((f.path, f.additions, f.deletions) for f in got.files)
    assert got_files == sorted((f.filename, f.additions, f.deletions) for f in want.files)


def by_key(collection: Collection) -> dict[tuple[str, int], PullRequest]:
    keys = [(p.repo.lower(), p.number) for p in collection.pull_requests]
    assert len(keys) == len(set(keys)), "a PR was collected twice"
    return dict(zip(keys, collection.pull_requests, strict=True))


def keys_of(pulls: list[FakePull]) -> set[tuple[str, int]]:
    return {(p.repo.lower(), p.number) for p in pulls}


# --- pull requests ------------------------------------------------------------------------


def test_every_pr_with_its_stats_and_files(mona: tuple[Collection, Usage], dataset: Dataset) -> None:
    collection, _ = mona
    expected = {(p.repo.lower(), p.number): p for p in dataset.pulls_by("Mona-Lisa")}
    got = by_key(collection)
    assert got.keys() == expected.keys()
    for key, pull in expected.items():
        assert_matches(got[key], pull)
    assert max(len(p.files) for p in collection.pull_requests) > 100  # past GitHub's first files page
    assert not collection.incomplete_results


def test_first_collection_takes_few_queries(mona: tuple[Collection, Usage]) -> None:
    _, usage = mona
    print(f"Mona-Lisa, first collection: {usage}")
    # 1 profile + 3 search pages + 10 rounds of batched star pages; REST only for >100 files.
    assert usage.requests["graphql"] <= 15
    assert usage.requests["core"] <= 2 and usage.requests["search"] == 0


def test_profile_and_repositories(mona: tuple[Collection, Usage], dataset: Dataset) -> None:
    collection, _ = mona
    user = dataset.user("Mona-Lisa")
    assert user is not None
    profile = collection.profile
    assert collection.login == profile.login == "Mona-Lisa"  # GitHub's spelling, not the one asked for
    assert (profile.name, profile.bio, profile.company, profile.location, profile.blog) == (
        user.name,
        user.bio,
        user.company,
        user.location,
        user.blog,
    )
    assert [(a.provider, a.url) for a in profile.social_accounts] == [
        (a.provider, a.url) for a in user.social_accounts
    ]
    assert profile.avatar_url and profile.html_url == "https://github.com/Mona-Lisa"
    assert {name.lower() for name in collection.repositories} == {key[0] for key in by_key(collection)}
    for name, repo in collection.repositories.items():
        fake = dataset.repo(name)
        assert fake is not None
        assert (repo.stargazer_count, repo.description, repo.primary_language) == (
            fake.stargazers_count,
            fake.description,
            fake.language,
        )


async def test_prolific_user_gets_all_prs_past_the_search_cap(client: GitHubClient, dataset: Dataset) -> None:
    collection = await collect_user(client, "prolific-pat", now=NOW)

    expected = keys_of(dataset.pulls_by("prolific-pat"))
    assert len(expected) > 1000
    assert by_key(collection).keys() == expected
    assert not collection.incomplete_results
    print(f"prolific-pat: {client.usage}")
    assert client.usage.requests["graphql"] <= len(expected) // 100 + 12


async def test_more_than_1000_prs_in_one_second_is_marked_incomplete() -> None:
    ds = build_dataset()
    burst = (NOW - timedelta(days=3)).replace(microsecond=0)
    for i in range(1001):
        add_pull(ds, "zero-zoe/hello-world", "zero-zoe", title=f"burst {i}", created_at=burst)
    with FakeGitHubServer(ds) as server:
        async with github(server) as gh:
            collection = await collect_user(gh, "zero-zoe", now=NOW)
    assert collection.incomplete_results
    assert len(collection.pull_requests) == 1000  # all GitHub can show, none twice


async def test_user_without_prs_gets_an_empty_collection_with_a_profile(client: GitHubClient) -> None:
    collection = await collect_user(client, "zero-zoe", now=NOW)

    assert collection.pull_requests == [] and collection.repositories == {} and collection.stars == {}
    assert collection.profile.name == "Zoe Zero"
    assert collection.collected_at == NOW


async def test_unknown_user_raises_user_not_found(client: GitHubClient) -> None:
    with pytest.raises(UserNotFound, match="no-such-user-x"):
        await collect_user(client, "no-such-user-x", now=NOW)


# --- stars ----------------------------------------------------------------------------------


async def test_star_history_covers_five_years_newest_first(client: GitHubClient, dataset: Dataset) -> None:
    collection = await collect_user(client, "steady-sam", now=NOW)

    history = collection.stars["star-rocket/rocket"]
    rocket = dataset.repo("star-rocket/rocket")
    assert rocket is not None
    expected = sorted((s.starred_at for s in rocket.stars if s.starred_at >= FIVE_YEARS_AGO), reverse=True)
    assert len(expected) > 1000
    assert history.since == FIVE_YEARS_AGO
    assert history.starred_at == expected
    assert collection.repositories["star-rocket/rocket"].stargazer_count == len(rocket.stars)


def test_star_histories_only_for_repos_with_recent_prs(
    mona: tuple[Collection, Usage], dataset: Dataset
) -> None:
    collection, _ = mona
    recent = {
        p.repo.lower()
        for p in dataset.pulls_by("Mona-Lisa")
        if p.created_at >= FIVE_YEARS_AGO or (p.merged_at and p.merged_at >= FIVE_YEARS_AGO)
    }
    assert {name.lower() for name in collection.stars} == recent
    assert OLD_ONLY_REPO in collection.repositories and OLD_ONLY_REPO not in collection.stars
    for name, history in collection.stars.items():
        fake = dataset.repo(name)
        assert fake is not None
        assert len(history.starred_at) == sum(1 for s in fake.stars if s.starred_at >= FIVE_YEARS_AGO)


async def test_shared_cache_spares_a_second_star_walk(client: GitHubClient) -> None:
    cache = SimpleMemoryCache()
    first = await collect_user(client, "steady-sam", now=NOW, cache=cache)
    queries_first = client.usage.requests["graphql"]
    # A moment later (another user's turn in the same pass) the walk comes from the cache.
    second = await collect_user(client, "steady-sam", now=NOW + timedelta(minutes=5), cache=cache)
    queries_second = client.usage.requests["graphql"] - queries_first

    assert queries_second < queries_first  # the rocket alone takes 28 star pages
    rocket_first, rocket_second = first.stars["star-rocket/rocket"], second.stars["star-rocket/rocket"]
    assert rocket_second.since == FIVE_YEARS_AGO + timedelta(minutes=5)
    assert rocket_second.starred_at == [t for t in rocket_first.starred_at if t >= rocket_second.since]
    await cache.close()


class StarPageCounter(httpx.AsyncHTTPTransport):
    """Counts the stargazer pages asked for, per repository, as the requests leave the client."""

    def __init__(self) -> None:
        super().__init__()
        self.pages: Counter[str] = Counter()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/graphql"):
            body = json.loads(request.content)
            if body["query"].startswith("query Stargazers"):
                names = body["variables"]
                i = 0
                while f"owner{i}" in names:
                    self.pages[f"{names[f'owner{i}']}/{names[f'name{i}']}"] += 1
                    i += 1
        return await super().handle_async_request(request)


async def test_concurrent_collections_walk_a_shared_repository_once() -> None:
    shared = "star-rocket/rocket"  # steady-sam's, with 28 pages of recent stars
    ds = build_dataset()
    add_pull(ds, shared, "zero-zoe", created_at=(NOW - timedelta(days=3)).replace(microsecond=0))
    with FakeGitHubServer(ds) as server:
        alone = StarPageCounter()
        async with github(server, transport=alone) as gh:
            await collect_user(gh, "steady-sam", now=NOW)
        together = StarPageCounter()
        async with github(server, transport=together) as gh:
            sam, zoe = await asyncio.gather(
                collect_user(gh, "steady-sam", now=NOW), collect_user(gh, "zero-zoe", now=NOW)
            )
    assert alone.pages[shared] > 1
    assert together.pages[shared] == alone.pages[shared]  # not twice: zero-zoe awaited sam's walk
    assert zoe.stars[shared] == sam.stars[shared] and zoe.stars[shared].starred_at


async def test_when_a_shared_walk_fails_its_waiter_walks_by_itself(client: GitHubClient) -> None:
    repo = "star-rocket/rocket"
    reference = await star_histories(client, [repo], FIVE_YEARS_AGO)
    walker = asyncio.create_task(star_histories(client, [repo], FIVE_YEARS_AGO))
    await asyncio.sleep(0)
    assert client.in_flight  # the walker is walking, its first page on the way
    waiter = asyncio.create_task(star_histories(client, [repo], FIVE_YEARS_AGO))
    await asyncio.sleep(0)  # the waiter is now awaiting the walker's result
    walker.cancel()  # e.g. the walker's collection was cancelled
    assert await waiter == reference
    with pytest.raises(asyncio.CancelledError):
        await walker
    assert not client.in_flight


# --- a bad day at GitHub ---------------------------------------------------------------------


async def test_collection_survives_transient_faults_and_secondary_limits(dataset: Dataset) -> None:
    faults = FaultConfig(error_rate=0.15, malformed_rate=0.05, secondary_rate=0.03, seed=7)
    clock = Clock(running=True)  # real time plus whatever the client "slept"
    with FakeGitHubServer(dataset, FakeConfig(faults=faults)) as server:
        async with github(server, sleep=clock.sleep, clock=clock.epoch) as gh:
            collection = await collect_user(gh, "Mona-Lisa", now=NOW)
            assert gh.usage.retries > 0
    assert by_key(collection).keys() == keys_of(dataset.pulls_by("Mona-Lisa"))


async def test_spent_graphql_budget_waits_for_reset_instead_of_failing(dataset: Dataset) -> None:
    clock = Clock(running=True)  # shared: the fake's budget windows reset when the client "waits"
    config = FakeConfig(limits=LimitConfig(graphql=4), clock=clock.epoch)
    with FakeGitHubServer(dataset, config) as server:
        async with github(server, sleep=clock.sleep, clock=clock.epoch) as gh:
            collection = await collect_user(gh, "steady-sam", now=NOW)
            assert gh.usage.rate_limit_waits > 0
    assert by_key(collection).keys() == keys_of(dataset.pulls_by("steady-sam"))
    assert clock.offset >= 3600  # it waited out at least one hourly window


# --- incremental refresh ------------------------------------------------------------------


def same_data(a: Collection, b: Collection) -> bool:
    """Equal but for when they were collected (star histories trimmed to the same window)."""
    skip = {"collected_at", "full_collected_at"}
    return a.model_dump(exclude=skip) == b.model_dump(exclude=skip)


async def test_unchanged_user_refreshes_for_two_points_with_the_same_data(
    server: FakeGitHubServer, mona: tuple[Collection, Usage]
) -> None:
    first, _ = mona
    async with github(server) as gh:
        again = await collect_user(gh, "Mona-Lisa", now=NOW, previous=first)
    assert same_data(again, first)
    assert gh.usage.graphql_points == 2 and gh.usage.total_requests == 2
    assert again.full_collected_at == first.full_collected_at == NOW


async def test_a_vanished_repository_falls_back_to_a_full_collection(
    server: FakeGitHubServer, mona: tuple[Collection, Usage]
) -> None:
    first, _ = mona
    ghost = first.repositories["zero-zoe/hello-world"].model_copy(update={"name_with_owner": "gone/away"})
    drifted = first.model_copy(update={"repositories": {**first.repositories, "gone/away": ghost}})
    async with github(server) as gh:
        again = await collect_user(gh, "Mona-Lisa", now=NOW, previous=drifted)
    assert same_data(again, first)  # no trace of the vanished repository
    assert gh.usage.graphql_points > 3  # the increment gave way to a full collection


@pytest.mark.parametrize(
    "change",
    [
        {"full_collected_at": None},  # kept before incremental refresh existed
        {"full_collected_at": NOW - timedelta(days=8), "collected_at": NOW - timedelta(days=1)},  # weekly
        {"login": "someone-else"},
        {"incomplete_results": True},
    ],
)
async def test_previous_collections_that_cannot_be_extended_are_collected_in_full(
    server: FakeGitHubServer, mona: tuple[Collection, Usage], change: dict[str, object]
) -> None:
    first, _ = mona
    async with github(server) as gh:
        again = await collect_user(gh, "Mona-Lisa", now=NOW, previous=first.model_copy(update=change))
    assert same_data(again, first)
    assert gh.usage.graphql_points > 3
    assert again.full_collected_at == NOW


async def test_history_without_a_star_count_is_walked_again(
    server: FakeGitHubServer, mona: tuple[Collection, Usage]
) -> None:
    first, _ = mona
    stars = {r: h.model_copy(update={"stargazer_count": None}) for r, h in first.stars.items()}
    async with github(server) as gh:
        again = await collect_user(
            gh, "Mona-Lisa", now=NOW, previous=first.model_copy(update={"stars": stars})
        )
    assert same_data(again, first)


class StoreIndex:
    """A store as the star index, as the refresher wires it (minus its fail-open guard)."""

    def __init__(self, store: SQLiteStore) -> None:
        self.store = store

    async def load(self, repos: list[str]) -> dict[str, StarHistory]:
        return await self.store.load_star_histories(repos)

    async def save(self, histories: list[StarHistory]) -> None:
        await self.store.save_star_histories(histories)


async def test_an_indexed_repository_is_extended_not_walked_again_and_stays_exact(tmp_path: Path) -> None:
    """The deployment's star index: the rocket's 28 pages are walked once; a later first
    collection (another user, a lost collection, another process) reads one page for it,
    and an unstar there still gives the exact history (by walking it again)."""
    dataset = build_dataset()
    rocket = dataset.repo("star-rocket/rocket")
    assert rocket is not None

    def truth(at: datetime) -> list[datetime]:
        since = period_since("5_years", at)
        return sorted((s.starred_at for s in rocket.stars if s.starred_at >= since), reverse=True)

    store = SQLiteStore(tmp_path / "state.sqlite3")
    counter = StarPageCounter()
    seen: list[tuple[list[datetime], list[datetime]]] = []
    with FakeGitHubServer(dataset) as gh:
        async with github(gh, transport=counter) as client:
            for step, at in enumerate(NOW + timedelta(hours=h) for h in range(3)):
                if step == 1:
                    gh.app_state.add_star(
                        "star-rocket/rocket", "new-fan", at.replace(microsecond=0) - timedelta(minutes=1)
                    )
                if step == 2:
                    gh.app_state.remove_star("star-rocket/rocket", rocket.stars[-5].login)
                before = counter.pages["star-rocket/rocket"]
                collection = await collect_user(client, "steady-sam", now=at, index=StoreIndex(store))
                seen.append((collection.stars["star-rocket/rocket"].starred_at, truth(at)))
                if step == 0:
                    assert counter.pages["star-rocket/rocket"] - before > 20  # walked in full, once
                if step == 1:
                    assert counter.pages["star-rocket/rocket"] - before == 1  # extended by one page
    await store.close()
    for got, expected in seen:
        assert got == expected


class RecordingIndex:
    """A star index in memory that says what was written to it."""

    def __init__(self) -> None:
        self.histories: dict[str, StarHistory] = {}
        self.saved: list[str] = []

    async def load(self, repos: list[str]) -> dict[str, StarHistory]:
        return {r: self.histories[r].model_copy(deep=True) for r in repos if r in self.histories}

    async def save(self, histories: list[StarHistory]) -> None:
        self.saved += [h.repo for h in histories]
        self.histories |= {h.repo: h for h in histories}


async def test_a_refresh_that_learns_no_star_writes_no_star_history(server: FakeGitHubServer) -> None:
    """A giant's history is ~100,000 times: encoding and writing it back for every user near
    it, when nothing changed, was most of an unchanged pass's CPU."""
    index = RecordingIndex()
    async with github(server) as gh:
        first = await collect_user(gh, "Mona-Lisa", now=NOW, index=index)
        walked = list(index.saved)
        again = await collect_user(gh, "Mona-Lisa", now=NOW, previous=first, index=index)
        fresh = await collect_user(gh, "Mona-Lisa", now=NOW, index=index)  # a full one, all indexed
    assert walked and len(walked) == len(set(walked))  # each walked once, and kept
    assert index.saved == walked  # nothing learnt since: nothing written again
    assert again.stars.keys() == fresh.stars.keys() == first.stars.keys()


async def test_a_history_re_read_by_one_refresh_is_not_re_read_by_another_that_loaded_it_earlier(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Refreshes near a giant overlap: each loaded its history when it began. The first to
    bring it up to date re-reads the stretches where unstars showed and saves; the next
    must start from that, not re-read the same unstars (points again, for every user near
    the giant) and write its stale copy over the located ones."""
    caplog.set_level(logging.INFO, logger="gitbrag.github.reconcile")
    rocket = "star-rocket/rocket"
    dataset = build_dataset()
    stars = dataset.repo(rocket)
    assert stars is not None
    index = RecordingIndex()
    later = NOW + timedelta(hours=1)
    with FakeGitHubServer(dataset) as gh:
        async with github(gh) as client:
            loaded_early = await collect_user(client, "steady-sam", now=NOW, index=index)
            recent = sorted(s.starred_at for s in stars.stars if s.starred_at >= NOW - timedelta(days=300))
            gone = next(s for s in stars.stars if s.starred_at == recent[len(recent) // 2])  # pages down
            gh.app_state.remove_star(rocket, gone.login)
            await collect_user(client, "steady-sam", now=later, index=index)  # the first to bring it up
            first_reads = [r for r in caplog.records if getattr(r, "repo", None) == rocket]
            before = gh.app_state.stats.cost["graphql"]
            again = await collect_user(client, "steady-sam", now=later, previous=loaded_early, index=index)
            spent = gh.app_state.stats.cost["graphql"] - before
    reads = [r for r in caplog.records if getattr(r, "repo", None) == rocket and hasattr(r, "stretches")]
    assert [r for r in first_reads if hasattr(r, "stretches")] == reads  # re-read once, by the first
    assert reads and sum(r.located for r in reads) == 1  # type: ignore[attr-defined]
    assert gone.starred_at not in again.stars[rocket].starred_at
    assert index.histories[rocket].unlocated == 0  # what was located stays located
    assert spent <= 3, spent  # the search, the revalidation, one extension page


class StarQueryCounter(httpx.AsyncHTTPTransport):
    """Counts the stargazer queries that leave the client (each is charged at least a point)."""

    def __init__(self) -> None:
        super().__init__()
        self.queries = 0
        self.second_sent = asyncio.Event()  # a walk's second page is on its way

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/graphql") and json.loads(request.content)["query"].startswith(
            "query Stargazers"
        ):
            self.queries += 1
            if self.queries == 2:
                self.second_sent.set()
        return await super().handle_async_request(request)


async def test_walks_started_apart_fall_into_step_and_share_every_round() -> None:
    """Two refreshes walking two big repositories, the second starting while the first's page is
    on its way: from then on every round carries both pages, one query (a point) a round. Before,
    the pager sent what was queued as soon as the queue stopped growing for one turn of the event
    loop, before the walk just answered had asked again: the two walks took turns, a query each,
    and the giants' walks of a first pass cost up to twice their pages."""
    long, short = "star-rocket/rocket", OLD_ONLY_REPO
    ds = build_dataset()
    add_pull(ds, short, "zero-zoe", created_at=(NOW - timedelta(days=3)).replace(microsecond=0))
    for n in range(1_500):  # 15 pages of recent stars, beside the rocket's 28
        add_star(ds, short, f"fan-{n}", (NOW - timedelta(days=1, minutes=n)).replace(microsecond=0))
    counter = StarQueryCounter()
    with FakeGitHubServer(ds) as server:
        async with github(server, transport=counter) as gh:
            first = asyncio.create_task(star_histories(gh, [long], FIVE_YEARS_AGO))
            await counter.second_sent.wait()  # the first walk is under way, a page on its way
            second = asyncio.create_task(star_histories(gh, [short], FIVE_YEARS_AGO))
            walked = (await first) | (await second)
    pages = {repo: -(-len(history.starred_at) // 100) for repo, history in walked.items()}
    assert pages[long] >= 28 and pages[short] >= 15
    assert counter.queries <= pages[long] + 2  # not pages[long] + pages[short]
