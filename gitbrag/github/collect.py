"""Collection: everything GitHub knows that a user's reports need, fetched once per refresh.

One `Collection` serves all four periods, so it holds every pull request the user ever
opened and the star history reaching back to the start of the longest dated window
(5 years); all-time reports use `stargazer_count`, so no full star walk is ever needed.

How it stays cheap:
* with the user's previous collection (kept in the store), only what changed is fetched
  (`incremental`): an unchanged user costs 2 GraphQL points;
* otherwise a full collection: the PR search returns code stats, the first 100 changed
  files and the repository in the same page, so nothing is fetched per PR or per
  repository, and continues past GitHub's 1,000-result cap (`pulls`); star histories
  are walked newest first, many repositories per query, stop at the window start, and
  are shared: within a pass by the cache, and for good by the deployment's star index
  (the store), where a repository's history is walked once and then only extended; a
  kept collection holds no copy of them (`stars`). Given the window boundaries its reports
  need (`moments`), a first collection counts the stars there by searching REST's
  stargazer list instead, where it can (`starprobe`: up to 40,000 stars, a list this token
  may read), and each later one counts the boundaries that moved.

The pull requests the user reviewed come from GitHub's contributions data, riding along with
the search's first page (no point): every year since 2008, or, incrementally, the current
quarter (`reviews`).

Every query's cost is read from GraphQL's `rateLimit` and counted by the client; each
collection logs what it spent.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from aiocache.base import BaseCache

from gitbrag.github import changes, incremental, queries, reviews, starprobe
from gitbrag.github.client import GitHubClient, Usage, usage_scope
from gitbrag.github.errors import NotFound, UserNotFound
from gitbrag.github.nodes import profile as profile_of
from gitbrag.github.nodes import repository
from gitbrag.github.pulls import PAGE_SIZES, PullRequestSearch
from gitbrag.github.stars import StarIndex, save_changed, star_histories
from gitbrag.models import GITHUB_EPOCH, Collection, HiddenNodes, PrivateMode, Profile, period_since

# UserNotFound is part of this module's API: it is what collecting an unknown login raises.
__all__ = ["UserNotFound", "collect_user", "fetch_profile", "star_histories"]

log = logging.getLogger(__name__)


async def collect_user(
    client: GitHubClient,
    login: str,
    *,
    now: datetime,
    cache: BaseCache | None = None,
    previous: Collection | None = None,
    private: PrivateMode = "off",
    index: StarIndex | None = None,
    checked: changes.Verdict | None = None,
    moments: list[datetime] | None = None,
) -> Collection:
    """Fetch `login`'s profile, all their pull requests and the star histories reports need.

    With `previous` (the user's last collection) only what changed since is fetched,
    when that is possible (`incremental.usable`); the result is the same either way.
    `private` says whether work in private repositories is fetched at all ("off": the
    searches say `is:public`). `index` is the deployment's star index (histories walked
    once, then extended). `checked`: what the pass's change check learnt (`changes`): the
    user's repositories, read with everyone's, and, when GitHub showed no change since
    `previous`, what stands for a search. `moments`: the window boundaries the reports will
    count stars at (`report.build.star_moments`), which REST's stargazer list may count
    instead of a walk; None: walk. Raises `UserNotFound` when GitHub has no such user.
    """
    with usage_scope() as spent:
        collection: Collection | None = None
        brought = False  # forward, unchanged (`changes`)
        if previous is not None and index is not None and not previous.stars:
            previous = await _with_indexed_stars(previous, index, now)
        if previous is not None and (short := incremental.short_of_files(previous)):
            log.warning(
                "the kept collection lists fewer files than GitHub counts for %d pull requests "
                "(learnt from a faulty answer); collecting in full",
                short,
                extra={"user": login, "short_of_files": short},
            )
        if previous is not None and incremental.usable(previous, login, now, private):
            try:
                fits = checked is not None and checked.fits(previous)
                if checked is not None and fits and checked.quiet is not None:
                    collection = await changes.brought_forward(
                        client, previous, checked, now=now, cache=cache, index=index
                    )
                    brought = True
                else:
                    fresh = checked.fresh if checked is not None and fits else None
                    refused = checked.refused if checked is not None and fits else ()
                    collection = await incremental.refresh(
                        client,
                        previous,
                        now=now,
                        cache=cache,
                        index=index,
                        fresh=fresh,
                        given_refused=refused,
                    )
            except incremental.Drifted as exc:
                log.info("collecting in full: %s", exc, extra={"user": login})
        if collection is None:
            page_size = previous.search_page_size if previous is not None else PAGE_SIZES[0]
            collection = await _collect(
                client,
                login,
                now=now,
                cache=cache,
                private=private,
                page_size=page_size,
                index=index,
                moments=moments,
            )
        if moments is not None:
            collection = await _counted_up_to_date(client, collection, moments, index, now)
        incremental_ = collection.collected_at != collection.full_collected_at
        _log_spent(collection, spent, incremental=incremental_, unchanged=brought)
        return collection


async def _collect(
    client: GitHubClient,
    login: str,
    *,
    now: datetime,
    cache: BaseCache | None,
    private: PrivateMode,
    page_size: int,
    index: StarIndex | None,
    moments: list[datetime] | None,
) -> Collection:
    ride = reviews.RideAlong.everything(now)  # every year's reviews, with the first search page
    search = PullRequestSearch(
        client, login, public_only=private == "off", page_size=page_size, ride_along=ride.search_fields()
    )
    await search.run(GITHUB_EPOCH, now)
    profile = profile_of(search.user, login)
    await search.complete_files()
    pulls = sorted(search.pulls.values(), key=lambda p: (p.created_at, p.repo, p.number))
    repositories = {r.name_with_owner: r for r in map(repository, search.repositories.values())}
    since = period_since("5_years", now)
    walk = incremental.recent_repos(pulls, since, repositories, private)
    refused: set[str] = set()  # stargazers GitHub refused to the token: stars gained not available
    counts = {name: r.stargazer_count for name, r in repositories.items()}
    counting = starprobe.Counting(moments, counts, now) if moments is not None else None
    # The reviews' further pages (a year of over a hundred), beside the star walks.
    stars, user_reviews = await asyncio.gather(
        star_histories(client, walk, since, cache=cache, index=index, refused=refused, counting=counting),
        ride.read(client, profile.login, search.user, max_nodes=search.page_size**2),
    )
    user_reviews = None if user_reviews is None else reviews.kept(private, user_reviews)
    return Collection(
        login=profile.login,
        profile=profile,
        pull_requests=pulls,
        repositories=repositories,
        stars=stars,
        stars_refused=sorted(refused),
        collected_at=now,
        incomplete_results=search.incomplete,
        full_collected_at=now,
        private_mode=private,
        hidden_by_github=hidden_nodes(search),
        search_page_size=search.page_size,
        reviews=user_reviews,
        reviews_collected_at=now if user_reviews is not None else None,
    )


def hidden_nodes(search: PullRequestSearch) -> list[HiddenNodes]:
    """What GitHub hid from `search`, by reason, as a collection keeps it (and logs it once)."""
    hidden = [HiddenNodes(reason=reason, count=n) for reason, n in sorted(search.hidden.items())]
    if hidden:
        log.warning(
            "GitHub hid %d of %s's pull requests (%s); the reports count them without showing them",
            sum(h.count for h in hidden),
            search.login,
            ", ".join(f"{h.count} {h.reason}" for h in hidden),
            extra={"user": search.login, "hidden": {h.reason: h.count for h in hidden}},
        )
    return hidden


async def _counted_up_to_date(
    client: GitHubClient,
    collection: Collection,
    moments: list[datetime],
    index: StarIndex | None,
    now: datetime,
) -> Collection:
    """The collection's counted star histories given the boundaries its reports need that
    they lack (a rolling year starts a day later each day), or walked where the search can
    no longer count them (`starprobe.topped_up`); the index keeps what changed."""
    counted = {repo: h for repo, h in collection.stars.items() if h.counted}
    if not counted:
        return collection
    done = await starprobe.topped_up(client, counted, moments)
    walked = await star_histories(client, [r for r in counted if r not in done], period_since("5_years", now))
    if index is not None:
        await save_changed(index, counted, done | walked)
    return collection.model_copy(update={"stars": collection.stars | done | walked})


async def _with_indexed_stars(previous: Collection, index: StarIndex, now: datetime) -> Collection:
    """A kept collection with its star histories from the deployment's index: the store keeps
    one history per repository, not a copy in every collection that needs it."""
    since = period_since("5_years", now)
    needed = incremental.recent_repos(
        previous.pull_requests, since, previous.repositories, previous.private_mode
    )
    stars = await index.load(needed) if needed else {}
    return previous.model_copy(update={"stars": stars})


def _log_spent(collection: Collection, spent: Usage, *, incremental: bool, unchanged: bool = False) -> None:
    """One line per collection: what it spent, and how it was made (`unchanged`: from the
    kept collection, GitHub having shown no change in the pass's check)."""
    log.info(
        "collected %s (%s): %d pull requests, %d repositories, %d star histories",
        collection.login,
        "unchanged" if unchanged else "incremental" if incremental else "full",
        len(collection.pull_requests),
        len(collection.repositories),
        len(collection.stars),
        extra={
            "user": collection.login,
            "incremental": incremental,
            "unchanged": unchanged,
            "prs": len(collection.pull_requests),
            "requests": spent.total_requests,
            "points": spent.graphql_points,
            "not_modified": spent.not_modified,
        },
    )


async def fetch_profile(client: GitHubClient, login: str) -> Profile:
    """The profile alone (a collection gets it with its first search page instead)."""
    try:
        data = await client.graphql(queries.PROFILE, {"login": login})
    except NotFound:
        raise UserNotFound(login) from None
    return profile_of(data.get("user"), login)
