"""Incremental refresh: bring a kept `Collection` up to date for a few GraphQL points.

What can change between two refreshes, and how each is caught:

* pull requests: any change to a PR (new, edited, merged, closed, reopened) bumps its
  `updated_at`, so one search `updated:>=<watermark>` finds every PR that changed; they
  replace the kept ones by (repo, number), whatever their age, so a PR closed without
  merging leaves the reports and a merged one counts as merged. Merged and closed PRs that
  did not change are kept with their files and stats. The watermark is what GitHub itself
  answered, not our clock: the newest `updatedAt` among the kept PRs, less `UPDATED_MARGIN`.
  GitHub's search index trails writes, so a PR changed shortly before a refresh may be found
  only later, with an `updatedAt` older than that refresh: a watermark taken from the wall
  clock would skip it for good, while anything newer than what the index had shown is still
  above this one. The margin covers writes indexed out of order (up to an hour apart); it
  costs re-reading the PRs updated in that hour, which ride in the same single search page;
* the profile rides along with that search's first page, as in a full collection;
* repositories (description, stargazerCount, language): every kept repository is
  re-read, 100 per query (1 point), together with the newest stargazers of those whose
  star history is kept, which `stars.extended` uses to extend the history;
* a repository that vanished or was renamed, or a kept history that cannot be checked,
  makes the increment give way to a full collection (`Drifted`): rare, and always right;
* a repository whose stargazers GitHub now refuses to the token (admins and collaborators
  only, since its 2026-06-30 changelog) is no drift: its metadata is read on its own, its
  kept history is neither extended nor used, and the collection names it in `stars_refused`;
* a kept collection learnt from a faulty answer (a pull request listing fewer files than
  GitHub counts, up to the 3,000 it lists: a redirect once read as an empty page) is not
  built on: its unchanged pull requests would keep the wrong numbers for good.

A full collection is also forced every `FULL_EVERY`, a safety net for anything the
rules above cannot see (a PR deleted by GitHub staff, say).

Measured against the fake GitHub, an unchanged user costs 2 GraphQL queries (2 points):
the search page with the profile (and the current quarter's reviews riding along,
`reviews.RideAlong`), and the repository revalidation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aiocache.base import BaseCache

from gitbrag.github import queries, reviews
from gitbrag.github.client import GitHubClient
from gitbrag.github.errors import QueryTimeout
from gitbrag.github.nodes import Node, iso, pull_key, repository
from gitbrag.github.nodes import profile as profile_of
from gitbrag.github.pulls import PullRequestSearch
from gitbrag.github.starpages import STAR_BATCH, even_batches, halves_of, refused_stargazers
from gitbrag.github.stars import (
    StarIndex,
    brought_up_to_date,
    continue_walks,
    extension,
    star_histories,
    trimmed,
)
from gitbrag.models import (
    GITHUB_EPOCH,
    Collection,
    Login,
    PrivateMode,
    Profile,
    PullRequest,
    Repository,
    ReviewContribution,
    StarHistory,
    period_since,
)

UPDATED_MARGIN = timedelta(hours=1)
FULL_EVERY = timedelta(days=7)
# GitHub lists at most this many of a pull request's files (its `changedFiles` counts them all).
FILES_LISTED = 3000
# Newest stargazers read per kept history with the revalidation: enough for a repository
# gaining up to ~18 stars between refreshes in one round trip; busier ones walk on.
STAR_PAGE = 20


class Drifted(Exception):
    """What was kept no longer matches GitHub in a way an increment cannot mend."""


def usable(previous: Collection | None, login: str, now: datetime, private: PrivateMode = "off") -> bool:
    """Whether `previous` can be brought up to date instead of collecting from scratch
    (never across a change of `GITBRAG_PRIVATE`: what was fetched depends on it)."""
    return (
        previous is not None
        and Login(previous.login) == Login(login)
        and previous.private_mode == private
        and not previous.incomplete_results
        and previous.full_collected_at is not None
        and previous.full_collected_at <= previous.collected_at <= now
        and now - previous.full_collected_at < FULL_EVERY
        and not short_of_files(previous)
    )


def short_of_files(previous: Collection) -> int:
    """How many kept pull requests list fewer files than GitHub counts for them (up to the
    3,000 it lists). A whole answer never leaves one; a faulty one did (a 301 read as an
    empty page), and an increment would keep those pull requests, and their numbers, as
    they are: such a collection is collected again in full instead."""
    return sum(1 for p in previous.pull_requests if len(p.files) < min(p.changed_files, FILES_LISTED))


async def refresh(
    client: GitHubClient,
    previous: Collection,
    *,
    now: datetime,
    cache: BaseCache | None,
    index: StarIndex | None = None,
    fresh: dict[str, Node] | None = None,
    given_refused: Iterable[str] = (),
) -> Collection:
    """`previous` updated to `now`; raises `Drifted` when a full collection is needed.
    `fresh`: repositories' nodes read for the whole pass (`changes`), as `revalidate` reads
    them; the user's own are revalidated unless it holds them all. `given_refused`: those
    of them whose stargazers GitHub refused to the token (`revalidate`)."""
    ride = reviews.RideAlong.for_previous(previous, now)
    search = PullRequestSearch(
        client,
        previous.login,
        qualifiers=f"updated:>={iso(watermark(previous))}",
        public_only=previous.private_mode == "off",
        page_size=previous.search_page_size,
        ride_along=ride.search_fields() if ride else None,
    )
    keep_stars = sorted(set(previous.stars) & set(previous.repositories))
    given = {r: fresh[r] for r in previous.repositories if r in fresh} if fresh is not None else {}
    (nodes, refused), _, all_reviews = await asyncio.gather(
        _given(given, set(given_refused) & set(previous.repositories))
        if len(given) == len(previous.repositories)
        else revalidate(client, sorted(previous.repositories), set(keep_stars)),
        search.run(GITHUB_EPOCH, now),
        # Kept reviews: this year's ride along with the search; none kept: all, in their own query.
        _all_reviews(client, previous, now) if ride is None else _nothing(),
    )
    if search.hidden:
        raise Drifted("GitHub hid updated pull requests; a full collection counts them exactly")
    profile = profile_of(search.user, previous.login)
    await search.complete_files()
    repositories = {name: repository(node) for name, node in nodes.items()}
    for name, node in search.repositories.items():
        repositories.setdefault(name, repository(node))
    pulls = _merged_pulls(previous.pull_requests, search.pulls.values())
    user_reviews, reviews_at = await _brought_up_to_date(client, previous, ride, search, all_reviews, now)
    found = Found(profile, pulls, repositories, user_reviews, reviews_at, search.incomplete, search.page_size)
    return await assembled(client, previous, found, nodes, refused, now=now, cache=cache, index=index)


@dataclass(frozen=True)
class Found:
    """What a refresh learnt of a user besides repositories' stars: from its search (or, for a
    user GitHub shows no change for, the kept collection and the batched check, `changes`)."""

    profile: Profile
    pulls: list[PullRequest]
    repositories: dict[str, Repository]
    reviews: list[ReviewContribution] | None
    reviews_at: datetime | None
    incomplete: bool
    page_size: int


async def assembled(
    client: GitHubClient,
    previous: Collection,
    found: Found,
    fresh: dict[str, Node],
    refused: set[str],
    *,
    now: datetime,
    cache: BaseCache | None,
    index: StarIndex | None,
) -> Collection:
    """The new collection: `found` with private work left out as `previous` was collected, and
    the star histories of its recent repositories extended from `fresh` (the repositories'
    nodes with their newest stargazers) or walked; none for those GitHub `refused` the
    stargazers of (named in `stars_refused`)."""
    refused = set(refused)
    pulls, repositories = found.pulls, found.repositories
    if previous.private_mode == "off":  # a repository that went private takes its PRs with it
        pulls = [p for p in pulls if not (r := repositories.get(p.repo)) or not r.private]
        repositories = {name: r for name, r in repositories.items() if not r.private}
    keep_stars = set(previous.stars) & set(previous.repositories)
    since = period_since("5_years", now)
    needed = recent_repos(pulls, since, repositories, previous.private_mode)
    refused &= set(needed)
    kept = {
        r: previous.stars[r] for r in needed if r in previous.stars and r in keep_stars and r not in refused
    }
    kept = {r: h for r, h in kept.items() if h.resume_cursor is None}  # partial: `star_histories` goes on
    stars = await _extend_all(client, kept, fresh, since, index, now, refused)
    stars |= await star_histories(
        client,
        [r for r in needed if r not in stars and r not in refused],
        since,
        cache=cache,
        index=index,
        now=now,
        refused=refused,
    )
    return Collection(
        login=found.profile.login,
        profile=found.profile,
        pull_requests=sorted(pulls, key=lambda p: (p.created_at, p.repo, p.number)),
        repositories=repositories,
        stars=stars,
        stars_refused=sorted(refused),
        collected_at=now,
        incomplete_results=found.incomplete,
        full_collected_at=previous.full_collected_at,
        private_mode=previous.private_mode,
        hidden_by_github=previous.hidden_by_github,
        search_page_size=found.page_size,
        reviews=found.reviews,
        reviews_collected_at=found.reviews_at,
    )


def watermark(previous: Collection) -> datetime:
    """Where the next search for changed PRs starts: the newest change GitHub has shown us
    (never later than when we looked), less the margin for writes indexed out of order."""
    newest = max((p.updated_at for p in previous.pull_requests), default=GITHUB_EPOCH)
    return min(newest, previous.collected_at) - UPDATED_MARGIN


async def _nothing() -> None:
    return None


async def _given(nodes: dict[str, Node], refused: set[str]) -> tuple[dict[str, Node], set[str]]:
    return nodes, refused


async def _all_reviews(
    client: GitHubClient, previous: Collection, now: datetime
) -> list[ReviewContribution] | None:
    max_nodes = previous.search_page_size**2  # no bigger than the search pages GitHub answered
    return await reviews.collect(client, previous.login, now, previous.private_mode, max_nodes=max_nodes)


async def _brought_up_to_date(
    client: GitHubClient,
    previous: Collection,
    ride: reviews.RideAlong | None,
    search: PullRequestSearch,
    collected: list[ReviewContribution] | None,
    now: datetime,
) -> tuple[list[ReviewContribution] | None, datetime | None]:
    """The reviews and when they were read: the ride-along's merged into the kept ones, or all
    of them when none were kept; the kept ones (and their time, so the next refresh reads on
    from there) when GitHub could not answer."""
    if ride is None:
        return collected, now if collected is not None else None
    merged = await ride.merge(client, previous, search.user, previous.private_mode)
    if merged is None:
        return previous.reviews, previous.reviews_collected_at
    return merged, now


def recent_repos(
    pulls: list[PullRequest],
    since: datetime,
    repositories: dict[str, Repository] | None = None,
    private: PrivateMode = "off",
) -> list[str]:
    """Repositories with a PR created or merged since `since`: the only ones whose stars count.

    Private ones only with `private == "full"`: elsewhere their stars are never shown.
    """
    recent = {p.repo for p in pulls if p.created_at >= since or (p.merged_at and p.merged_at >= since)}
    if private != "full" and repositories is not None:
        recent = {r for r in recent if not (repo := repositories.get(r)) or not repo.private}
    return sorted(recent)


def _merged_pulls(kept: list[PullRequest], updated: Iterable[PullRequest]) -> list[PullRequest]:
    pulls = {pull_key(p.repo, p.number): p for p in kept}
    for pr in updated:
        pulls[pull_key(pr.repo, pr.number)] = pr
    return list(pulls.values())


# --- repositories --------------------------------------------------------------------------


async def revalidate(
    client: GitHubClient, repos: list[str], starred: set[str]
) -> tuple[dict[str, Node], set[str]]:
    """Each repository's fresh node (with its newest stargazers when in `starred`), and the
    repositories of `starred` whose stargazers GitHub refused (their nodes without them).

    Raises `Drifted` when one vanished or now answers to another name.
    """
    batches = even_batches(repos, STAR_BATCH)
    answers = await asyncio.gather(*(_revalidate_batch(client, batch, starred) for batch in batches))
    fresh: dict[str, Node] = {}
    refused: set[str] = set()
    for nodes, denied in answers:
        fresh |= nodes
        refused |= denied
    return fresh, refused


async def _revalidate_batch(
    client: GitHubClient, batch: list[str], starred: set[str]
) -> tuple[dict[str, Node], set[str]]:
    plain = [r for r in batch if r not in starred]
    stars = [r for r in batch if r in starred]
    variables: dict[str, Any] = {"starPage": STAR_PAGE} if stars else {}
    aliases: dict[str, str] = {}
    for prefix, group in (("m", plain), ("s", stars)):
        for i, repo in enumerate(group):
            owner, name = repo.split("/", 1)
            variables |= {f"{prefix}Owner{i}": owner, f"{prefix}Name{i}": name}
            aliases[repo] = f"{prefix}{i}"
    query = queries.repositories_query(len(plain), len(stars))
    try:
        answer = await client.graphql_partial(
            query, variables, allow_not_found=True, can_shrink=len(batch) > 1
        )
    except QueryTimeout:
        halves = await asyncio.gather(
            *(_revalidate_batch(client, half, starred) for half in halves_of(batch))
        )
        return halves[0][0] | halves[1][0], halves[0][1] | halves[1][1]
    denied = refused_stargazers(answer)
    refused = {repo for repo, alias in aliases.items() if alias in denied}
    if answer.limited or any(str(h.path[0]) not in denied for h in answer.hidden):
        raise Drifted("GitHub now hides or cuts short some of the user's repositories")
    # Refused stargazers null the whole node (a non-null field): read those repositories' metadata alone.
    fresh, _ = await _revalidate_batch(client, sorted(refused), set()) if refused else ({}, set())
    data = answer.data
    for repo, alias in aliases.items():
        if repo in refused:
            continue
        node = data.get(alias)
        if node is None or node["nameWithOwner"].lower() != repo.lower():
            raise Drifted(f"repository {repo} was deleted, hidden or renamed")
        fresh[repo] = node
    return fresh, refused


# --- stars -------------------------------------------------------------------------------


async def _extend_all(
    client: GitHubClient,
    kept: dict[str, StarHistory],
    fresh: dict[str, Node],
    since: datetime,
    index: StarIndex | None,
    now: datetime,
    refused: set[str],
) -> dict[str, StarHistory]:
    """Kept histories extended with the stars since, re-read where unstars showed
    (`stars.brought_up_to_date`); walked again where that cannot be done, unless GitHub
    refused their stargazers meanwhile (then named in `refused`, with no history).

    The index keeps them whole (from their own start, not this window's), so whoever needs
    them next extends them from here."""
    walks = {repo: extension(history, fresh[repo]) for repo, history in kept.items()}
    await continue_walks(client, walks)
    refused |= {repo for repo, walk in walks.items() if walk.refused}
    learnt = await brought_up_to_date(client, index, kept, walks, now)
    again = [repo for repo in kept if repo not in learnt and repo not in refused]
    return {repo: trimmed(h, since) for repo, h in learnt.items()} | await star_histories(
        client, again, since, now=now, refused=refused
    )
