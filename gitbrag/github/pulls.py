"""A user's pull requests from GraphQL search: every one of them, 100 per query.

A search page brings each PR's code stats, its first changed files and its
repository, so nothing is fetched per PR or per repository; only PRs with more changed
files than the page brought need more (`complete_files`).

What real GitHub does to such pages, and what the search does about it:
* it stops a query after 10 s (a timeout: 502/504, or 200 with `data: null`): the page
  is asked again with half as many PRs and files (`PAGE_SIZES`), never resent as it was,
  and the size that worked is kept for the user's next collection;
* it hides PRs the token may not see (SAML enforcement, FORBIDDEN): they are null in
  the page, counted by reason in `hidden`, and never retried (retrying cannot help);
* it cuts heavy answers short (RESOURCE_LIMITS_EXCEEDED, partial data): a PR whose
  `files` came back null gets its files over REST, and later pages are asked smaller;
* with `public_only`, the search says `is:public`, and a PR whose repository is private
  anyway is dropped: private work never reaches a collection unless asked for.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gitbrag.github import queries
from gitbrag.github.client import GitHubClient, GraphQLAnswer
from gitbrag.github.errors import GitHubError, MalformedAnswer, QueryTimeout
from gitbrag.github.nodes import ONE_SECOND, Node, iso, parse_time, pull_key, pull_request, whole_second
from gitbrag.models import ChangedFile, PullRequest

log = logging.getLogger(__name__)

# PRs (and files per PR) per search page, from GitHub's maximum down to the floor.
PAGE_SIZES = (100, 50, 25, 10)


def smaller_page(size: int) -> int | None:
    """The next page size to try after `size` timed out; None at the floor."""
    below = [s for s in PAGE_SIZES if s < size]
    return below[0] if below else None


@dataclass
class PullRequestSearch:
    """Pages through `is:pr author:LOGIN [QUALIFIERS] created:A..B sort:created-asc`, past the cap.

    GitHub search shows at most 1,000 results per query. When a window holds more, the
    first 1,000 (oldest first) are read as usual, and the search continues with a new
    window starting at the creation time of the last one read (inclusive, so PRs created
    in that same second are not lost; duplicates are dropped by (repo, number)). Every
    page fetched is used, unlike bisecting, which throws away the first page of every
    window it has to split; and it is no slower, as a window's pages are sequential anyway.

    Results are always ordered by creation time, even for incremental refreshes that
    filter on `updated:>=`: creation times never change, so a PR updated while the pages
    are read can only be inserted (read twice, kept once), never shift another one out of
    the page being read, as ordering by `updated` could.

    The first page also brings the user's profile (`user`, None if there is no such user):
    one round trip fewer per collection.

    Each page's pull requests become `PullRequest`s as the page arrives (`pulls`), with
    their repositories' latest nodes (`repositories`); only those whose files did not all
    fit in the page stay raw (`nodes`) until `complete_files` reads the rest. Keeping every
    page raw to the end held 69 MB of a 20,000-PR user's first collection besides its
    models; page by page, the next page reuses the memory of the last.
    """

    client: GitHubClient
    login: str
    qualifiers: str = ""  # e.g. "updated:>=2024-01-01T00:00:00Z"
    public_only: bool = True  # `is:public`: private work is not even fetched
    page_size: int = PAGE_SIZES[0]  # shrinks when GitHub times a page out; kept per user
    # Fields riding along with the first page, under `user` (an incremental refresh's
    # reviews: `reviews.RideAlong`): the document to send instead and its extra variables.
    # Their data comes back in `user`; what GitHub hid or cut short there is theirs to judge.
    ride_along: tuple[str, dict[str, Any]] | None = None
    user: Node | None = None
    pulls: dict[tuple[str, int], PullRequest] = field(default_factory=dict)
    repositories: dict[str, Node] = field(default_factory=dict)  # by nameWithOwner, as last read
    nodes: dict[tuple[str, int], Node] = field(default_factory=dict)  # files still to complete
    hidden: Counter[str] = field(default_factory=Counter)  # null PR nodes, by reason
    incomplete: bool = False
    _pages: int = 0

    async def run(self, since: datetime, until: datetime) -> None:
        start, end = whole_second(since), whole_second(until)
        while True:
            reached = await self._window(start, end)
            if reached is None:
                return
            if reached <= start:  # over 1,000 PRs created within one second
                self._give_up_on(start)
                reached = start + ONE_SECOND
            start = reached

    async def _window(self, start: datetime, end: datetime) -> datetime | None:
        """Read every page GitHub shows for [start, end] (both inclusive, as `A..B` ranges are).

        Returns None when that was everything, else the newest creation time read, from
        which the search must continue.
        """
        page = await self._page(start, end, after=None)
        capped = page["issueCount"] > queries.SEARCH_CAP
        newest = self._keep(page, start)
        while page["pageInfo"]["hasNextPage"]:
            page = await self._page(start, end, after=page["pageInfo"]["endCursor"])
            newest = max(newest, self._keep(page, start))
        return newest if capped else None

    def _give_up_on(self, second: datetime) -> None:
        self.incomplete = True
        log.warning(
            "more than %d pull requests created in one second; GitHub shows only %d of them",
            queries.SEARCH_CAP,
            queries.SEARCH_CAP,
            extra={"user": self.login, "window": second.isoformat()},
        )

    async def _page(self, start: datetime, end: datetime, after: str | None) -> Node:
        """One page, asked again smaller for as long as GitHub times it out."""
        while True:
            try:
                answer = await self._ask(start, end, after)
            except QueryTimeout:
                answer = None
            if answer is not None and self._accept(_checked_search(answer)):
                search: Node = answer.data["search"]
                return search
            self.ride_along = None  # too heavy: what rode along is asked on its own, sized to fit
            self._shrink()

    async def _ask(self, start: datetime, end: datetime, after: str | None) -> GraphQLAnswer:
        visibility = " is:public" if self.public_only else ""
        extra = f" {self.qualifiers}" if self.qualifiers else ""
        query = (
            f"is:pr author:{self.login}{visibility}{extra} created:{iso(start)}..{iso(end)} sort:created-asc"
        )
        variables = {
            "query": query,
            "after": after,
            "pageSize": self.page_size,
            "filesPageSize": self.page_size,
        }
        can_shrink = smaller_page(self.page_size) is not None
        first = self._pages == 0
        if first:
            variables["login"] = self.login
        document = queries.PROFILE_AND_PULL_REQUESTS if first else queries.SEARCH_PULL_REQUESTS
        if first and self.ride_along is not None:
            document = self.ride_along[0]
            variables |= self.ride_along[1]
        answer = await self.client.graphql_partial(
            document, variables, allow_not_found=first, search=True, can_shrink=can_shrink
        )
        if first:
            self.user = answer.data.get("user")
        self._pages += 1
        return answer

    def _accept(self, answer: GraphQLAnswer) -> bool:
        """Take what GitHub hid or cut short into account; False when the page must be asked again."""
        nodes = answer.data["search"]["nodes"] or []
        for path in (p for p in answer.limited if not _riding(p)):
            index = _node_index(path)
            if index is None or index >= len(nodes) or path[-1] != "files" or nodes[index] is None:
                return False  # more than files is missing: only a smaller page gets it
            nodes[index]["files"] = {"nodes": [], "pageInfo": {"hasNextPage": True, "endCursor": None}}
        if answer.limited:
            self._shrink(required=False)  # the next pages ask for less
        for hidden in (h for h in answer.hidden if not _riding(h.path)):
            index = _node_index(hidden.path)
            if index is None or index >= len(nodes) or nodes[index] is not None:
                raise GitHubError(f"GitHub hid part of a search page: {'.'.join(map(str, hidden.path))}")
            self.hidden[hidden.reason] += 1
        return True

    def _shrink(self, *, required: bool = True) -> None:
        smaller = smaller_page(self.page_size)
        if smaller is None:
            if required:
                raise GitHubError(f"GitHub cut a search page of {self.page_size} pull requests short")
            return
        log.info(
            "GitHub timed out or cut short a page of %d pull requests; asking for %d at a time",
            self.page_size,
            smaller,
            extra={"user": self.login, "page_size": smaller},
        )
        self.page_size = smaller

    def _keep(self, page: Node, newest: datetime) -> datetime:
        """Keep a page's PRs; return the newest creation time among them and `newest`."""
        for node in page["nodes"] or []:
            if node and "number" in node:  # search may return non-PR nodes as {}; hidden ones are null
                newest = max(newest, parse_time(node["createdAt"]))
                if self.public_only and node["repository"].get("isPrivate"):
                    continue  # `is:public` should have kept it out; never let it in
                self._take(node)
        return newest

    def _take(self, node: Node) -> None:
        """A kept node as a `PullRequest`, or raw until its files are complete; a pull request
        read again (in two windows, or updated meanwhile) is the later reading."""
        key = pull_key(node["repository"]["nameWithOwner"], node["number"])
        self.repositories[node["repository"]["nameWithOwner"]] = node["repository"]
        if _files_left(node):
            self.pulls.pop(key, None)
            self.nodes[key] = node
        else:
            self.nodes.pop(key, None)
            self.pulls[key] = pull_request(node)

    async def complete_files(self) -> None:
        """Read the files the search pages could not bring, and make those pull requests too."""
        await complete_files(self.client, self.nodes.values())
        for key, node in self.nodes.items():
            self.pulls[key] = pull_request(node)
        self.nodes.clear()


def _checked_search(answer: GraphQLAnswer) -> GraphQLAnswer:
    """`answer` if its `data.search` has what a page is read by; else one line naming what is
    missing (a 200 without it is a malformed answer, not a crash of the refresh)."""
    search = answer.data.get("search")
    if not isinstance(search, dict):
        raise MalformedAnswer("GitHub's search answer has no data.search")
    page_info = search.get("pageInfo")
    for field_name, ok in (
        ("issueCount", isinstance(search.get("issueCount"), int)),
        ("nodes", isinstance(search.get("nodes"), list | None)),
        ("pageInfo", isinstance(page_info, dict)),
        (
            "pageInfo.hasNextPage",
            isinstance(page_info, dict) and isinstance(page_info.get("hasNextPage"), bool),
        ),
    ):
        if not ok:
            raise MalformedAnswer(f"GitHub's search answer has no usable data.search.{field_name}")
    return answer


def _riding(path: tuple[str | int, ...]) -> bool:
    """Whether `path` is in fields riding along with the first page (`user.reviews{i}...`)."""
    return len(path) >= 2 and path[0] == "user" and str(path[1]).startswith("reviews")


def _node_index(path: tuple[str | int, ...]) -> int | None:
    """i for a path under `search.nodes[i]`, else None."""
    if len(path) >= 3 and path[:2] == ("search", "nodes") and isinstance(path[2], int):
        return path[2]
    return None


async def complete_files(client: GitHubClient, nodes: Iterable[Node]) -> None:
    """Fetch the changed files beyond those a search page brought, for the PRs that have more.

    REST's `pulls/{n}/files` listing does it at the same price as GraphQL's
    `repository { pullRequest(number:) { files(after:) } }` (one request per 100 files),
    and the fake GitHub serves it (its schema subset has no `Repository.pullRequest`).
    The whole list is re-read rather than resumed, so it never mixes two APIs' orderings.
    """
    big = [n for n in nodes if _files_left(n)]
    results = await asyncio.gather(*(_all_files(client, n) for n in big))
    for node, files in zip(big, results, strict=True):
        node["files"] = {"nodes": files, "pageInfo": {"hasNextPage": False, "endCursor": None}}


def _files_left(node: Node) -> bool:
    """Whether GitHub has more of the node's changed files than it brought."""
    return bool((node.get("files") or {}).get("pageInfo", {}).get("hasNextPage"))


async def _all_files(client: GitHubClient, node: Node) -> list[ChangedFile]:
    path = f"/repos/{node['repository']['nameWithOwner']}/pulls/{node['number']}/files"
    files: list[ChangedFile] = []
    async for page in client.rest_pages(path, {"per_page": queries.PAGE_SIZE}):
        files.extend(ChangedFile(f["filename"], f["additions"], f["deletions"]) for f in page)
    return files
