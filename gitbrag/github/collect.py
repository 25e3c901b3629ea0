"""Collection: everything GitHub knows that a user's reports need, fetched once per refresh.

One `Collection` serves all four periods, so it holds every pull request the user ever
opened and the star history reaching back to the start of the longest dated window
(5 years); all-time reports use `stargazer_count`, so no full star walk is ever needed.

How it stays cheap (a few GraphQL queries for a typical user):
* the PR search returns code stats, the first 100 changed files and the repository in the
  same page, so nothing is fetched per PR or per repository;
* GitHub search stops at 1,000 results, so when the whole history holds more, the search
  continues from the creation time of the last result read (see `_PullRequestSearch`);
* star histories are walked newest first and stop at the window start, many repositories
  per query, and are cached so users sharing a repository in one pass share the walk.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiocache.base import BaseCache

from gitbrag.github import queries
from gitbrag.github.client import GitHubClient, Usage, usage_scope
from gitbrag.github.errors import NotFound, UserNotFound
from gitbrag.models import (
    GITHUB_EPOCH,
    ChangedFile,
    Collection,
    Profile,
    PullRequest,
    Repository,
    SocialAccount,
    StarHistory,
    period_since,
)

# UserNotFound is part of this module's API: it is what collecting an unknown login raises.
__all__ = ["UserNotFound", "collect_user", "fetch_profile", "star_histories"]

log = logging.getLogger(__name__)

# Repositories per stargazers query. GitHub charges by connections (50 pages of 100 cost
# 1 point) and allows 500,000 nodes per query; a round trip is what costs time, so batch wide.
STAR_BATCH = 50
STAR_CACHE_TTL = 3600  # seconds; long enough for one refresh pass, short enough to stay fresh
ONE_SECOND = timedelta(seconds=1)

Node = dict[str, Any]


async def collect_user(
    client: GitHubClient,
    login: str,
    *,
    now: datetime,
    cache: BaseCache | None = None,
    previous: Collection | None = None,
) -> Collection:
    """Fetch `login`'s profile, all their pull requests and the star histories reports need.

    `previous` (an earlier collection, for incremental refresh) is accepted but not yet used.
    Raises `UserNotFound` when GitHub has no such user.
    """
    del previous  # incremental refresh comes later; a full collection is always correct
    with usage_scope() as spent:
        return await _collect(client, login, now=now, cache=cache, spent=spent)


async def _collect(
    client: GitHubClient, login: str, *, now: datetime, cache: BaseCache | None, spent: Usage
) -> Collection:
    search = _PullRequestSearch(client, login)
    await search.run(GITHUB_EPOCH, now)
    profile = _profile(search.user, login)
    await _complete_files(client, search.nodes.values())
    pulls = sorted((_pull_request(n) for n in search.nodes.values()), key=lambda p: (p.created_at, p.repo))
    repositories = {
        r.name_with_owner: r for r in (_repository(n["repository"]) for n in search.nodes.values())
    }
    since = period_since("5_years", now)
    stars = await star_histories(client, _recent_repos(pulls, since), since, cache=cache)
    log.info(
        "collected %s: %d pull requests, %d repositories, %d star histories",
        profile.login,
        len(pulls),
        len(repositories),
        len(stars),
        extra={
            "user": profile.login,
            "prs": len(pulls),
            "requests": spent.total_requests,
            "points": spent.graphql_points,
        },
    )
    return Collection(
        login=profile.login,
        profile=profile,
        pull_requests=pulls,
        repositories=repositories,
        stars=stars,
        collected_at=now,
        incomplete_results=search.incomplete,
    )


# --- profile ---------------------------------------------------------------------------


async def fetch_profile(client: GitHubClient, login: str) -> Profile:
    """The profile alone (a collection gets it with its first search page instead)."""
    try:
        data = await client.graphql(queries.PROFILE, {"login": login})
    except NotFound:
        raise UserNotFound(login) from None
    return _profile(data.get("user"), login)


def _profile(user: Node | None, login: str) -> Profile:
    if not user:
        raise UserNotFound(login)
    accounts = (user.get("socialAccounts") or {}).get("nodes") or []
    return Profile(
        login=user["login"],
        name=user.get("name") or None,
        avatar_url=user.get("avatarUrl"),
        html_url=user.get("url"),
        bio=user.get("bio") or None,
        company=user.get("company") or None,
        location=user.get("location") or None,
        blog=user.get("websiteUrl") or None,
        # GraphQL spells providers as enum values (TWITTER); REST and our pages use "twitter".
        social_accounts=[SocialAccount(provider=a["provider"].lower(), url=a["url"]) for a in accounts if a],
    )


# --- pull requests ---------------------------------------------------------------------


@dataclass
class _PullRequestSearch:
    """Pages through `is:pr author:LOGIN created:A..B sort:created-asc`, past the search cap.

    GitHub search shows at most 1,000 results per query. When a window holds more, the
    first 1,000 (oldest first) are read as usual, and the search continues with a new
    window starting at the creation time of the last one read (inclusive, so PRs created
    in that same second are not lost; duplicates are dropped by (repo, number)). Every
    page fetched is used, unlike bisecting, which throws away the first page of every
    window it has to split; and it is no slower, as a window's pages are sequential anyway.

    The first page also brings the user's profile (`user`, None if there is no such user):
    one round trip fewer per collection.
    """

    client: GitHubClient
    login: str
    user: Node | None = None
    nodes: dict[tuple[str, int], Node] = field(default_factory=dict)
    incomplete: bool = False
    _pages: int = 0

    async def run(self, since: datetime, until: datetime) -> None:
        start, end = _whole_second(since), _whole_second(until)
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
        query = f"is:pr author:{self.login} created:{_iso(start)}..{_iso(end)} sort:created-asc"
        variables = {"query": query, "after": after}
        if self._pages == 0:
            variables["login"] = self.login
            data = await self.client.graphql(
                queries.PROFILE_AND_PULL_REQUESTS, variables, allow_not_found=True
            )
            self.user = data.get("user")
        else:
            data = await self.client.graphql(queries.SEARCH_PULL_REQUESTS, variables)
        self._pages += 1
        search: Node = data["search"]
        return search

    def _keep(self, page: Node, newest: datetime) -> datetime:
        """Keep a page's PRs; return the newest creation time among them and `newest`."""
        for node in page["nodes"] or []:
            if node and "number" in node:  # search may return non-PR nodes as {}
                self.nodes[(node["repository"]["nameWithOwner"].lower(), node["number"])] = node
                newest = max(newest, _time(node["createdAt"]))
        return newest


async def _complete_files(client: GitHubClient, nodes: Iterable[Node]) -> None:
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


def _pull_request(node: Node) -> PullRequest:
    files = (node.get("files") or {}).get("nodes") or []
    return PullRequest(
        repo=node["repository"]["nameWithOwner"],
        number=node["number"],
        title=node["title"],
        url=node["url"],
        state=node["state"],
        created_at=_time(node["createdAt"]),
        updated_at=_time(node["updatedAt"]),
        closed_at=_maybe_time(node.get("closedAt")),
        merged_at=_maybe_time(node.get("mergedAt")),
        additions=node["additions"],
        deletions=node["deletions"],
        changed_files=node["changedFiles"],
        author_association=node["authorAssociation"],
        files=[
            ChangedFile(path=f["path"], additions=f["additions"], deletions=f["deletions"]) for f in files
        ],
    )


def _repository(node: Node) -> Repository:
    language = node.get("primaryLanguage") or {}
    return Repository(
        name_with_owner=node["nameWithOwner"],
        url=node["url"],
        description=node.get("description"),
        stargazer_count=node["stargazerCount"],
        primary_language=language.get("name"),
    )


def _recent_repos(pulls: list[PullRequest], since: datetime) -> list[str]:
    """Repositories with a PR created or merged since `since`: the only ones whose stars count."""
    recent = {p.repo for p in pulls if p.created_at >= since or (p.merged_at and p.merged_at >= since)}
    return sorted(recent)


# --- star histories --------------------------------------------------------------------


async def star_histories(
    client: GitHubClient, repos: list[str], since: datetime, *, cache: BaseCache | None = None
) -> dict[str, StarHistory]:
    """Each repository's stars since `since`, newest first, from the cache or a walk.

    Walks reach back to midnight UTC of `since`'s day and are cached under that day, so
    collections made moments apart (different `now`, same day) share one walk.
    """
    day = since.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    keys = {repo: _star_key(repo, day) for repo in repos}
    found: dict[str, list[datetime]] = {}
    if cache is not None and repos:
        cached = await cache.multi_get([keys[repo] for repo in repos])
        found = {
            repo: StarHistory.model_validate(v).starred_at for repo, v in zip(repos, cached, strict=True) if v
        }
    walked = await _walk_stargazers(client, [r for r in repos if r not in found], day)
    found |= walked
    if cache is not None and walked:
        pairs = [
            (keys[repo], StarHistory(repo=repo, since=day, starred_at=times).model_dump(mode="json"))
            for repo, times in walked.items()
        ]
        await cache.multi_set(pairs, ttl=STAR_CACHE_TTL)
    return {
        repo: StarHistory(repo=repo, since=since, starred_at=[t for t in times if t >= since])
        for repo, times in found.items()
    }


def _star_key(repo: str, day: datetime) -> str:
    return f"gitbrag:stars:{repo.lower()}:{day.date().isoformat()}"


async def _walk_stargazers(
    client: GitHubClient, repos: list[str], stop_at: datetime
) -> dict[str, list[datetime]]:
    """Newest-first stargazer pages, in rounds of batched queries, until each repo passes `stop_at`."""
    starred: dict[str, list[datetime]] = {repo: [] for repo in repos}
    cursors: dict[str, str | None] = dict.fromkeys(repos)
    pending = list(repos)
    while pending:
        batches = _even_batches(pending, STAR_BATCH)
        answers = await asyncio.gather(*(_stargazer_page(client, batch, cursors) for batch in batches))
        pending = []
        for batch, data in zip(batches, answers, strict=True):
            for i, repo in enumerate(batch):
                node = data.get(f"r{i}")
                if node is None:  # deleted or hidden since the search: no stars to count
                    starred.pop(repo, None)
                    continue
                times = [_time(edge["starredAt"]) for edge in node["stargazers"]["edges"]]
                starred[repo].extend(t for t in times if t >= stop_at)
                info = node["stargazers"]["pageInfo"]
                if info["hasNextPage"] and times and times[-1] >= stop_at:
                    cursors[repo] = info["endCursor"]
                    pending.append(repo)
    return starred


def _even_batches(items: list[str], most: int) -> list[list[str]]:
    """As few batches as `most` allows, of near-equal size (60 -> 30+30, not 50+10)."""
    count = -(-len(items) // most)
    return [items[i::count] for i in range(count)]


async def _stargazer_page(client: GitHubClient, batch: list[str], cursors: dict[str, str | None]) -> Node:
    variables: dict[str, Any] = {}
    for i, repo in enumerate(batch):
        owner, name = repo.split("/", 1)
        variables |= {f"owner{i}": owner, f"name{i}": name, f"after{i}": cursors[repo]}
    data: Node = await client.graphql(queries.stargazers_query(len(batch)), variables, allow_not_found=True)
    return data


# --- time helpers ----------------------------------------------------------------------


def _whole_second(t: datetime) -> datetime:
    return t.astimezone(UTC).replace(microsecond=0)


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


def _maybe_time(value: str | None) -> datetime | None:
    return _time(value) if value else None
