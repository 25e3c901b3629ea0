"""Star histories: when each current stargazer starred a repository, back to a window start.

GitHub only lists stargazers (with `starredAt`), so stars gained in a window are counted
by walking the list newest first until passing the window start. Walks are batched:
one query carries a page for up to 100 repositories, and GitHub charges by connections
(up to 149 connections of 100 nodes cost 1 point), so a walk costs about one point per
page of its busiest repository, not per repository.

Walking again every refresh would cost that again; `extend` instead walks only the stars
newer than a kept history's newest and checks the result against `stargazerCount`:

    count now == count then - (kept stars at or after the newest) + (stars read at or after it)

Unstars are the case it cannot see page by page (an unstarred entry just disappears from
GitHub's list), so when the counts do not add up the repository is walked again in full:
conservative, and exact. Stars older than the oldest kept window start cannot be checked
this way either, which is why all-time reports use the fresh `stargazerCount` instead.

Histories outlive a pass in the deployment's star index (`StarIndex`: the store, one
record per repository for every user and process): a repository already indexed is not
walked again but extended from its newest kept star, as above (a page per repository,
batched), and walked in full only when the counts reveal unstars.

Concurrent collections of one pass often share repositories: a walk is single-flight per
client, so while one collection walks a repository the others await its result instead
of walking it too (the cache only helps once the walk is over). If that walk fails, each
waiter walks the repository itself: the failure was the walker's (its collection may
just have been cancelled), not necessarily theirs.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from aiocache.base import BaseCache

from gitbrag.github import queries
from gitbrag.github.client import GitHubClient
from gitbrag.github.errors import GitHubError, QueryTimeout
from gitbrag.github.nodes import Node, parse_time
from gitbrag.models import StarHistory

log = logging.getLogger(__name__)

# Repositories per stargazers query: GitHub charges connections / 100, rounded, so 100
# connections cost 1 point; one round trip then serves all of them.
STAR_BATCH = 100
STAR_CACHE_TTL = 3600  # seconds; long enough for one refresh pass, short enough to stay fresh


class StarIndex(Protocol):
    """Where the deployment keeps one star history per repository (the store); it must fail
    open (an unreachable store loads nothing and saves nothing), as a cache would."""

    async def load(self, repos: list[str]) -> dict[str, StarHistory]: ...

    async def save(self, histories: list[StarHistory]) -> None: ...


@dataclass
class Walk:
    """One repository's newest-first walk, until a star older than `stop_at` is seen."""

    stop_at: datetime
    starred_at: list[datetime] = field(default_factory=list)  # >= stop_at, newest first
    count: int | None = None  # stargazerCount read with the first page
    cursor: str | None = None  # where to continue; None once done

    def absorb(self, repository: Node) -> None:
        """Take in one page (a `repository { stargazerCount stargazers {...} }` node)."""
        if self.count is None:
            self.count = repository["stargazerCount"]
        connection = repository["stargazers"]
        times = [parse_time(edge["starredAt"]) for edge in connection["edges"]]
        self.starred_at.extend(t for t in times if t >= self.stop_at)
        more = connection["pageInfo"]["hasNextPage"] and times and times[-1] >= self.stop_at
        self.cursor = connection["pageInfo"]["endCursor"] if more else None


async def star_histories(
    client: GitHubClient,
    repos: list[str],
    since: datetime,
    *,
    cache: BaseCache | None = None,
    index: StarIndex | None = None,
) -> dict[str, StarHistory]:
    """Each repository's stars since `since`, newest first: from the cache, else the index
    extended to now, else a full walk (and the index then keeps what was learnt).

    Walks reach back to midnight UTC of `since`'s day and are cached under that day, so
    collections made moments apart (different `now`, same day) share one walk.
    Repositories that no longer exist are left out.
    """
    day = since.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    keys = {repo: _star_key(repo, day) for repo in repos}
    found: dict[str, StarHistory] = {}
    if cache is not None and repos:
        cached = await cache.multi_get([keys[repo] for repo in repos])
        found = {repo: StarHistory.model_validate(v) for repo, v in zip(repos, cached, strict=True) if v}
    learnt: dict[str, StarHistory] = {}
    if index is not None:
        learnt = await _extend_indexed(client, [r for r in repos if r not in found], day, index)
        await _cache(cache, {keys[repo]: history for repo, history in learnt.items()})
    walked = await _walk_once(
        client, [r for r in repos if r not in found and r not in learnt], day, keys, cache
    )
    if index is not None and (learnt or walked):
        await index.save(list((learnt | walked).values()))
    return {repo: trimmed(history, since) for repo, history in (found | learnt | walked).items()}


async def _extend_indexed(
    client: GitHubClient, repos: list[str], day: datetime, index: StarIndex
) -> dict[str, StarHistory]:
    """The indexed histories of `repos` that reach back to `day`, brought up to now; those
    whose counts show unstars are left out (the caller walks them in full)."""
    kept = {
        repo: history
        for repo, history in (await index.load(repos) if repos else {}).items()
        if history.since <= day and history.stargazer_count is not None
    }
    walks = {repo: Walk(stop_at=max(h.starred_at, default=h.since)) for repo, h in kept.items()}
    await continue_walks(client, walks, first_round=True)
    result: dict[str, StarHistory] = {}
    for repo, walk in walks.items():
        history = extended(kept[repo], walk, day)
        if history is not None:
            result[repo] = history
    return result


async def _cache(cache: BaseCache | None, entries: dict[str, StarHistory]) -> None:
    if cache is not None and entries:
        pairs = [(key, history.model_dump(mode="json")) for key, history in entries.items()]
        await cache.multi_set(pairs, ttl=STAR_CACHE_TTL)


class _Abandoned(Exception):
    """The walk a waiter was sharing failed: the waiter walks the repository itself."""


async def _walk_once(
    client: GitHubClient, repos: list[str], day: datetime, keys: dict[str, str], cache: BaseCache | None
) -> dict[str, StarHistory]:
    """Walk `repos` back to `day`, sharing walks already in flight on `client` (single-flight)."""
    flights = client.in_flight
    theirs = {repo: flights[keys[repo]] for repo in repos if keys[repo] in flights}
    mine = [repo for repo in repos if repo not in theirs]
    loop = asyncio.get_running_loop()
    promised: dict[str, asyncio.Future[StarHistory | None]] = {repo: loop.create_future() for repo in mine}
    flights.update({keys[repo]: future for repo, future in promised.items()})
    try:
        walked = await _walk(client, mine, day, keys, cache)
        for repo, future in promised.items():
            future.set_result(walked.get(repo))
    finally:
        for repo, future in promised.items():
            if flights.get(keys[repo]) is future:
                del flights[keys[repo]]
            if not future.done():  # the walk failed: its waiters walk by themselves
                future.set_exception(_Abandoned())
                future.exception()  # retrieved here, so an unshared failure is not logged
    shared, again = await _shared(theirs)
    return walked | shared | (await _walk_once(client, again, day, keys, cache) if again else {})


async def _shared(
    theirs: dict[str, asyncio.Future[Any]],
) -> tuple[dict[str, StarHistory], list[str]]:
    """What other callers' walks found, and the repositories whose walk failed (walk again)."""
    found: dict[str, StarHistory] = {}
    failed: list[str] = []
    for repo, future in theirs.items():
        try:
            history = await asyncio.shield(future)  # our cancellation must not cancel theirs
        except _Abandoned:
            failed.append(repo)
            continue
        if history is not None:
            found[repo] = history
    return found, failed


async def _walk(
    client: GitHubClient, repos: list[str], day: datetime, keys: dict[str, str], cache: BaseCache | None
) -> dict[str, StarHistory]:
    """Walk `repos` in full back to `day`, and cache what was found."""
    walks = {repo: Walk(stop_at=day) for repo in repos}
    await continue_walks(client, walks, first_round=True)
    walked = {
        repo: StarHistory(repo=repo, since=day, starred_at=w.starred_at, stargazer_count=w.count)
        for repo, w in walks.items()
        if w.count is not None
    }
    await _cache(cache, {keys[repo]: history for repo, history in walked.items()})
    return walked


def trimmed(history: StarHistory, since: datetime) -> StarHistory:
    """The history from `since` on (it must reach back that far)."""
    times = [t for t in history.starred_at if t >= since]
    return history.model_copy(update={"since": since, "starred_at": times})


def _star_key(repo: str, day: datetime) -> str:
    return f"gitbrag:stars:{repo.lower()}:{day.date().isoformat()}"


async def continue_walks(client: GitHubClient, walks: dict[str, Walk], *, first_round: bool = False) -> None:
    """Read pages, in rounds of batched queries, until every walk is done.

    With `first_round`, every walk starts from the newest star; otherwise only walks
    with a cursor continue. A repository that no longer exists keeps `count` None.
    """
    pending = list(walks) if first_round else [repo for repo, w in walks.items() if w.cursor]
    while pending:
        batches = even_batches(pending, STAR_BATCH)
        answers = await asyncio.gather(*(_stargazer_page(client, batch, walks) for batch in batches))
        pending = []
        for batch, data in zip(batches, answers, strict=True):
            for i, repo in enumerate(batch):
                node = data.get(f"r{i}")
                if node is None:  # deleted or hidden since: no stars to count
                    walks[repo].cursor = None
                    continue
                walks[repo].absorb(node)
                if walks[repo].cursor:
                    pending.append(repo)


def even_batches(items: list[str], most: int) -> list[list[str]]:
    """As few batches as `most` allows, of near-equal size (120 -> 60+60, not 100+20)."""
    count = -(-len(items) // most)
    return [items[i::count] for i in range(count)]


async def _stargazer_page(client: GitHubClient, batch: list[str], walks: dict[str, Walk]) -> Node:
    """One page for each repository of `batch`, as `r{i}` nodes (null: gone, or hidden by GitHub).

    When GitHub times the batch out, each half is asked on its own (down to one repository,
    which is then retried like any transient failure).
    """
    variables: dict[str, Any] = {}
    for i, repo in enumerate(batch):
        owner, name = repo.split("/", 1)
        variables |= {f"owner{i}": owner, f"name{i}": name, f"after{i}": walks[repo].cursor}
    query = queries.stargazers_query(len(batch))
    try:
        answer = await client.graphql_partial(
            query, variables, allow_not_found=True, can_shrink=len(batch) > 1
        )
    except QueryTimeout:
        first, second = halves_of(batch)
        pages = await asyncio.gather(
            _stargazer_page(client, first, walks), _stargazer_page(client, second, walks)
        )
        return pages[0] | {f"r{len(first) + i}": node for i, node in enumerate(pages[1].values())}
    if answer.limited:
        raise GitHubError("GitHub cut a page of stargazers short (resource limits)")
    # A repository GitHub hides (SAML, FORBIDDEN) is null like a deleted one: no stars to count.
    return {f"r{i}": answer.data.get(f"r{i}") for i in range(len(batch))}


def halves_of(batch: list[str]) -> tuple[list[str], list[str]]:
    """`batch` split in two (for a query GitHub found too heavy)."""
    middle = len(batch) // 2
    return batch[:middle], batch[middle:]


# --- extending kept histories -------------------------------------------------------------


def extension(history: StarHistory, newest_page: Node) -> Walk:
    """Start extending `history` from a fresh first page (newest first) of its repository."""
    stop_at = max(history.starred_at, default=history.since)
    walk = Walk(stop_at=stop_at)
    walk.absorb(newest_page)
    return walk


def extended(history: StarHistory, walk: Walk, since: datetime) -> StarHistory | None:
    """The history with `walk`'s newer stars, or None when the counts show unstars (walk again)."""
    if history.stargazer_count is None or walk.count is None:
        return None
    overlap = sum(1 for t in history.starred_at if t >= walk.stop_at)
    if walk.count != history.stargazer_count - overlap + len(walk.starred_at):
        log.info(
            "star count of %s does not add up (unstars); walking it again",
            history.repo,
            extra={"repo": history.repo, "was": history.stargazer_count, "now": walk.count},
        )
        return None
    older = [t for t in history.starred_at if t < walk.stop_at]
    merged = StarHistory(
        repo=history.repo, since=history.since, starred_at=walk.starred_at + older, stargazer_count=walk.count
    )
    return trimmed(merged, since)
