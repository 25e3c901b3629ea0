"""A user's pull requests from GraphQL search: every one of them, 100 per query.

A search page brings each PR's code stats, its first 100 changed files and its
repository, so nothing is fetched per PR or per repository; only PRs with more than
100 changed files need more (`complete_files`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from gitbrag.github import queries
from gitbrag.github.client import GitHubClient
from gitbrag.github.nodes import ONE_SECOND, Node, iso, parse_time, pull_key, whole_second

log = logging.getLogger(__name__)


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
    """

    client: GitHubClient
    login: str
    qualifiers: str = ""  # e.g. "updated:>=2024-01-01T00:00:00Z"
    user: Node | None = None
    nodes: dict[tuple[str, int], Node] = field(default_factory=dict)
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
        extra = f" {self.qualifiers}" if self.qualifiers else ""
        query = f"is:pr author:{self.login}{extra} created:{iso(start)}..{iso(end)} sort:created-asc"
        variables = {"query": query, "after": after}
        if self._pages == 0:
            variables["login"] = self.login
            data = await self.client.graphql(
                queries.PROFILE_AND_PULL_REQUESTS, variables, allow_not_found=True, search=True
            )
            self.user = data.get("user")
        else:
            data = await self.client.graphql(queries.SEARCH_PULL_REQUESTS, variables, search=True)
        self._pages += 1
        search: Node = data["search"]
        return search

    def _keep(self, page: Node, newest: datetime) -> datetime:
        """Keep a page's PRs; return the newest creation time among them and `newest`."""
        for node in page["nodes"] or []:
            if node and "number" in node:  # search may return non-PR nodes as {}
                self.nodes[pull_key(node["repository"]["nameWithOwner"], node["number"])] = node
                newest = max(newest, parse_time(node["createdAt"]))
        return newest


async def complete_files(client: GitHubClient, nodes: Iterable[Node]) -> None:
    """Fetch the changed files beyond the first 100 for the PRs that have more.

    REST's `pulls/{n}/files` listing does it at the same price as GraphQL's
    `repository { pullRequest(number:) { files(after:) } }` (one request per 100 files),
    and the fake GitHub serves it (its schema subset has no `Repository.pullRequest`).
    The whole list is re-read rather than resumed, so it never mixes two APIs' orderings.
    """
    big = [n for n in nodes if (n.get("files") or {}).get("pageInfo", {}).get("hasNextPage")]
    results = await asyncio.gather(*(_all_files(client, n) for n in big))
    for node, files in zip(big, results, strict=True):
        node["files"] = {"nodes": files, "pageInfo": {"hasNextPage": False, "endCursor": None}}


async def _all_files(client: GitHubClient, node: Node) -> list[Node]:
    path = f"/repos/{node['repository']['nameWithOwner']}/pulls/{node['number']}/files"
    files: list[Node] = []
    async for page in client.rest_pages(path, {"per_page": queries.PAGE_SIZE}):
        files.extend(
            {"path": f["filename"], "additions": f["additions"], "deletions": f["deletions"]} for f in page
        )
    return files
