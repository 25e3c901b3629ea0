"""Pages of stargazers, asked for by many walks at once and sent as few shared queries.

GitHub charges a query by its connections (up to 100 pages of 100 stars cost 1 point),
so a page costs a hundredth of a point when it shares a query with 99 others, and a whole
point when it travels alone. Walks of one refresh already share queries; walks of
different refreshes running side by side (one user's walk of a 400,000-star repository,
another's of a 200,000-star one) did not, so a pass paid a point per page of every big
repository. The `StarPager` of a client takes every walk's "next page of this repository
after this cursor" and sends what accumulated as one round of queries: walks running at the
same time fall into step and share every round after the first.

The pager charges each query's points to the refreshes whose pages it carried, in
proportion, so each collection's logged cost stays meaningful and the sum stays exact.

Since GitHub's 2026-06-30 changelog a repository's stargazers are for its admins and
collaborators. A refused `stargazers` comes back FORBIDDEN beside the other repositories'
pages (the repository's node null: the field is non-null in GitHub's schema); such a page
is `REFUSED`, told apart from a deleted repository, so that no walk counts it as no stars.
"""

from __future__ import annotations

import asyncio
import contextvars
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from gitbrag.github import queries
from gitbrag.github.client import GitHubClient, GraphQLAnswer, Usage, current_usage_scope, usage_scope
from gitbrag.github.errors import GitHubError, QueryTimeout
from gitbrag.github.nodes import Node

# Repositories per stargazers query: GitHub charges connections / 100, rounded, so 100
# connections cost 1 point; one round trip then serves all of them.
STAR_BATCH = 100
_SETTLE_TURNS = 50  # event-loop turns at most to let resumed walks ask for their next page
# Turns without a new ask before a round leaves: a walk answered by the last round takes about
# four to ask again (its page's task, the walk's gather, the walk, its new page's task). Leaving
# after one quiet turn sent the asks already queued without it, and two walks started apart
# then took turns for good, a query (a point) each a round instead of one for both.
_QUIET_TURNS = 8

T = TypeVar("T")


class Refused:
    """GitHub refused a repository's list of stargazers to the token (FORBIDDEN at its
    `stargazers`): asking again will not help, and its stars gained cannot be counted."""

    def __repr__(self) -> str:
        return "REFUSED"


REFUSED = Refused()
Page = Node | Refused | None  # a page, refused, or None: the repository is gone (or hidden whole)


@dataclass
class _Ask:
    repo: str
    cursor: str | None
    future: asyncio.Future[Page]
    usage: Usage | None  # the asking refresh's usage scope, charged its share


class StarPager:
    """One client's stargazer pages, coalesced across every walk that runs on it."""

    def __init__(self, client: GitHubClient) -> None:
        self._client = client
        self._queue: list[_Ask] = []
        self._task: asyncio.Task[None] | None = None

    async def page(self, repo: str, cursor: str | None) -> Page:
        """The `repository { stargazerCount stargazers {...} }` node of `repo`'s page after
        `cursor` (newest first; None: the newest page), `REFUSED` when GitHub refuses the
        repository's stargazers to the token, or None when the repository is gone."""
        future: asyncio.Future[Page] = asyncio.get_running_loop().create_future()
        self._queue.append(_Ask(repo, cursor, future, current_usage_scope()))
        if self._task is None:
            # An empty context: the shared queries belong to no refresh's usage scope.
            self._task = asyncio.create_task(self._drain(), context=contextvars.Context())
        return await future

    async def _drain(self) -> None:
        try:
            while self._queue:
                await self._settle()
                asks, self._queue = [a for a in self._queue if not a.future.done()], []
                await asyncio.gather(*(self._send(group) for group in even_batches(asks, STAR_BATCH)))
        finally:
            self._task = None

    async def _settle(self) -> None:
        """Wait while walks resumed by the last round may still queue their next page."""
        seen, quiet = -1, 0
        for _ in range(_SETTLE_TURNS):
            quiet = quiet + 1 if len(self._queue) == seen else 0
            if len(self._queue) >= STAR_BATCH or quiet >= _QUIET_TURNS:
                return
            seen = len(self._queue)
            await asyncio.sleep(0)

    async def _send(self, asks: list[_Ask]) -> None:
        try:
            with usage_scope() as spent:
                data = await stargazer_page(self._client, [(a.repo, a.cursor) for a in asks])
        except BaseException as exc:
            for ask in asks:
                if not ask.future.done():
                    ask.future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        _share(spent, [a.usage for a in asks])
        for i, ask in enumerate(asks):
            if not ask.future.done():
                ask.future.set_result(data.get(f"r{i}"))


def _share(spent: Usage, usages: Sequence[Usage | None]) -> None:
    """Charge `spent`'s points and requests to the askers, split evenly, rounding so the
    shares add up to the whole."""
    n = len(usages)
    for i, usage in enumerate(usages):
        if usage is None:
            continue
        usage.graphql_points += (i + 1) * spent.graphql_points // n - i * spent.graphql_points // n
        for resource, count in spent.requests.items():
            usage.requests[resource] += (i + 1) * count // n - i * count // n


_PAGERS: weakref.WeakKeyDictionary[GitHubClient, StarPager] = weakref.WeakKeyDictionary()


def pager(client: GitHubClient) -> StarPager:
    """The client's pager (one per client, as its token pool and in-flight bound are)."""
    found = _PAGERS.get(client)
    if found is None:
        found = _PAGERS[client] = StarPager(client)
    return found


def even_batches(items: list[T], most: int) -> list[list[T]]:
    """As few batches as `most` allows, of near-equal size (120 -> 60+60, not 100+20)."""
    count = -(-len(items) // most)
    return [items[i::count] for i in range(count)]


async def stargazer_page(client: GitHubClient, asks: list[tuple[str, str | None]]) -> dict[str, Page]:
    """One page for each (repository, cursor) of `asks`, as `r{i}` nodes (null: gone, or
    hidden by GitHub; `REFUSED`: its stargazers refused to the token, the other pages
    answered all the same). A repository may be asked several times with different cursors.

    When GitHub times the batch out, each half is asked on its own (down to one page,
    which is then retried like any transient failure).
    """
    variables: dict[str, Any] = {}
    for i, (repo, cursor) in enumerate(asks):
        owner, name = repo.split("/", 1)
        variables |= {f"owner{i}": owner, f"name{i}": name, f"after{i}": cursor}
    try:
        answer = await client.graphql_partial(
            queries.stargazers_query(len(asks)),
            variables,
            allow_not_found=True,
            can_shrink=len(asks) > 1,
        )
    except QueryTimeout:
        first, second = halves_of(asks)
        pages = await asyncio.gather(stargazer_page(client, first), stargazer_page(client, second))
        return pages[0] | {f"r{len(first) + i}": node for i, node in enumerate(pages[1].values())}
    if answer.limited:
        raise GitHubError("GitHub cut a page of stargazers short (resource limits)")
    refused = refused_stargazers(answer)
    # A repository GitHub hides whole (SAML) is null like a deleted one: no stars to count.
    return {f"r{i}": REFUSED if f"r{i}" in refused else answer.data.get(f"r{i}") for i in range(len(asks))}


def refused_stargazers(answer: GraphQLAnswer) -> set[str]:
    """The aliases whose `stargazers` GitHub refused (FORBIDDEN at `[alias, "stargazers"]`;
    not SAML, which hides the whole repository), also when GitHub answered the field null
    but kept the rest of the node."""
    refused = {
        str(hidden.path[0])
        for hidden in answer.hidden
        if hidden.reason == "forbidden" and len(hidden.path) >= 2 and hidden.path[1] == "stargazers"
    }
    for alias, node in answer.data.items():
        if isinstance(node, dict) and "stargazers" in node and node["stargazers"] is None:
            refused.add(alias)
    return refused


def halves_of(batch: list[T]) -> tuple[list[T], list[T]]:
    """`batch` split in two (for a query GitHub found too heavy)."""
    middle = len(batch) // 2
    return batch[:middle], batch[middle:]
