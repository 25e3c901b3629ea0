"""The daily pass's change check: ask GitHub once, for many users, whether anything changed.

Why: on a given day most tracked users change nothing, yet each due user's incremental
refresh (`incremental.refresh`) costs about 2 points: its search page (with the profile and
the current quarter's reviews riding along) and the revalidation of its repositories, a
query each. At 100,000 users that is 200,000 points a day.

What a pass does instead, before claiming its due reports (`ChangeCheck.run`):

* one GraphQL query asks, for many users at once (aliases `u{i}`, `s{i}`), exactly what an
  incremental refresh would re-read of them: the search `is:pr author:LOGIN [is:public]
  updated:>=WATERMARK` (the same watermark, `incremental.watermark`), its `issueCount` and
  its pull requests' `number`, `state`, `updatedAt` and `mergedAt` (no files, no stats), the
  profile, and the ride-along's review spans (`reviews.RideAlong`). A user is *unchanged*
  when that search finds exactly the kept pull requests updated since the watermark, each as
  kept (any change to a pull request moves its `updatedAt`; one indexed late shows up in a
  later pass's search, as it would in the incremental refresh's), and the spans hold exactly
  the kept reviews. Anything else (more than a page, a hidden node, an unknown user, a reply
  cut short) counts as changed;
* GitHub charges a query by its connections, a request each whatever the nodes asked
  (`first: 100` costs what `first: 1` does), divided by 100 and rounded (at least 1): a user
  here is 3 or 4 connections (search, social accounts, one or two review spans), so a query
  holds users up to `CHECK_REQUESTS` requests and costs 1 point for 25 to 33 users;
* the repositories of the unchanged users (every one they have pull requests in, as the
  incremental refresh revalidates them) are read once for all of them, 100 to a query with
  the newest stargazers of those whose stars the reports count (`incremental.revalidate`),
  so a repository shared by many users is read once, not once per user.

An unchanged user's refresh then builds the new collection from the kept one, the fresh
profile, reviews and repositories (`brought_forward`): its star histories are extended from
the fresh nodes exactly as an incremental refresh extends them (the upkeep stays shared per
repository, in the star index), and its reports are rebuilt and published for today, so
their windows, stars and "checked at" move on as before. Only the changed users get an
incremental refresh.

Failure never skips a user: a batch GitHub does not answer, a repository that vanished or was
renamed, a point budget too short for the check: the users concerned get no
verdict and are refreshed one by one, as before. A verdict is used only by a due (not forced)
refresh of the very collection it was made from, and only for `VERDICT_TTL`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiocache.base import BaseCache

from gitbrag.github import incremental, queries, reviews
from gitbrag.github.budget import retry_budget
from gitbrag.github.client import GitHubClient, usage_scope
from gitbrag.github.errors import GitHubError, QueryTimeout
from gitbrag.github.nodes import Node, iso, maybe_time, parse_time, pull_key, repository, whole_second
from gitbrag.github.nodes import profile as profile_of
from gitbrag.github.starpages import STAR_BATCH, even_batches
from gitbrag.github.stars import StarIndex
from gitbrag.models import (
    Collection,
    Login,
    PrivateMode,
    Profile,
    ReviewContribution,
    period_since,
)

log = logging.getLogger(__name__)

# Requests (connections) one check query may hold: GitHub rounds requests / 100 to points,
# so up to 100 cost 1 point under any rounding.
CHECK_REQUESTS = 100
# Pull requests a user's search page lists: more updated since the watermark is a change.
CHECK_PAGE = queries.PAGE_SIZE
# How long a verdict may stand in for a search (a pass claims its due reports within it).
VERDICT_TTL = 3600.0

_PULL_FIELDS = "number state updatedAt mergedAt repository { nameWithOwner isPrivate }"
_REVIEW_FIELDS = "occurredAt pullRequest { number } repository { nameWithOwner isPrivate }"


# --- the query -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Asked:
    """One user's part of a check query: the search text and the review spans."""

    login: str
    search: str
    spans: list[reviews.Span]

    @property
    def requests(self) -> int:
        """Connections GitHub counts for it: the search, social accounts and each span."""
        return 2 + len(self.spans)


def check_query(spans: list[int]) -> str:
    """A check of `len(spans)` users, user i with `spans[i]` review spans: `u{i}` is the user
    (`$login{i}`, its profile and spans `reviews{j}` over `$from{i}_{j}`..`$to{i}_{j}`), `s{i}`
    its search (`$q{i}`), the first `CHECK_PAGE` pull requests with `issueCount`."""
    params: list[str] = []
    fields: list[str] = []
    for i, count in enumerate(spans):
        params.append(f"$login{i}: String!, $q{i}: String!")
        params += [f"$from{i}_{j}: DateTime!, $to{i}_{j}: DateTime!" for j in range(count)]
        spans_text = " ".join(
            f"reviews{j}: contributionsCollection(from: $from{i}_{j}, to: $to{i}_{j}) {{ "
            f"pullRequestReviewContributions(first: {queries.PAGE_SIZE}) {{ totalCount "
            f"pageInfo {{ hasNextPage endCursor }} nodes {{ {_REVIEW_FIELDS} }} }} }}"
            for j in range(count)
        )
        fields.append(f"  u{i}: user(login: $login{i}) {{ {queries.PROFILE_FIELDS} {spans_text} }}")
        fields.append(
            f"  s{i}: search(query: $q{i}, type: ISSUE, first: {CHECK_PAGE}) {{ issueCount "
            f"nodes {{ ... on PullRequest {{ {_PULL_FIELDS} }} }} }}"
        )
    body = "\n".join(fields)
    return f"query Changes({', '.join(params)}) {{\n{body}\n  {queries.RATE_LIMIT}\n}}\n"


def check_variables(asked: list[Asked]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i, one in enumerate(asked):
        out |= {f"login{i}": one.login, f"q{i}": one.search}
        for j, span in enumerate(one.spans):
            out |= {f"from{i}_{j}": iso(span.since), f"to{i}_{j}": iso(span.until)}
    return out


def batches(asked: list[Asked], limit: int = CHECK_REQUESTS) -> list[list[Asked]]:
    """`asked` in queries of at most `limit` requests each."""
    out: list[list[Asked]] = []
    size = 0
    for one in asked:
        if not out or size + one.requests > limit:
            out.append([])
            size = 0
        out[-1].append(one)
        size += one.requests
    return out


# --- what is compared ----------------------------------------------------------------------


@dataclass(frozen=True)
class Kept:
    """What a check compares of a kept collection, without holding the collection."""

    login: str
    collected_at: datetime
    private: PrivateMode
    since: datetime  # the watermark, to the second, as the search says it
    pulls: dict[tuple[str, int], tuple[datetime, str, datetime | None]]  # updated since, as kept
    spans: list[reviews.Span]
    reviews_in_spans: list[ReviewContribution]  # the kept reviews the spans re-read
    repositories: list[str]
    starred: list[str]  # those whose stars the reports count

    @classmethod
    def of(cls, previous: Collection, now: datetime) -> Kept | None:
        """None when the collection cannot be checked (no reviews kept: they are read whole)."""
        ride = reviews.RideAlong.for_previous(previous, now)
        if ride is None or previous.reviews is None:
            return None
        since = whole_second(incremental.watermark(previous))
        recent = incremental.recent_repos(
            previous.pull_requests, period_since("5_years", now), previous.repositories, previous.private_mode
        )
        return cls(
            login=previous.login,
            collected_at=previous.collected_at,
            private=previous.private_mode,
            since=since,
            pulls={
                pull_key(p.repo, p.number): (p.updated_at, p.state, p.merged_at)
                for p in previous.pull_requests
                if p.updated_at >= since
            },
            spans=ride.spans,
            reviews_in_spans=[r for r in previous.reviews if r.occurred_at >= ride.since],
            repositories=sorted(previous.repositories),
            starred=sorted(set(recent) & set(previous.repositories)),
        )

    def asked(self) -> Asked:
        visibility = " is:public" if self.private == "off" else ""
        return Asked(
            self.login, f"is:pr author:{self.login}{visibility} updated:>={iso(self.since)}", self.spans
        )


def same_pulls(kept: Kept, search: Node | None) -> bool:
    """Whether the check's search found exactly the kept pull requests updated since the
    watermark, each as kept: then the incremental refresh's search would bring nothing new."""
    if not search or not isinstance(search.get("nodes"), list):
        return False
    nodes = search["nodes"]
    if search.get("issueCount") != len(nodes) or any(n is None for n in nodes):
        return False  # more than a page, or a node GitHub hid: the refresh must look
    found: dict[tuple[str, int], tuple[datetime, str, datetime | None]] = {}
    for node in nodes:
        if "number" not in node:  # not a pull request
            continue
        if kept.private == "off" and node["repository"].get("isPrivate"):
            continue  # `is:public` keeps them out; never let one in
        key = pull_key(node["repository"]["nameWithOwner"], node["number"])
        found[key] = (parse_time(node["updatedAt"]), node["state"], maybe_time(node.get("mergedAt")))
    return found == kept.pulls


def same_reviews(kept: Kept, user: Node) -> bool:
    """Whether the spans hold exactly the kept reviews since their start (a span with a
    further page, or cut short, is not compared). Then the ride-along's merge
    (`reviews.RideAlong.merge`: the older kept ones and the spans') gives the kept reviews."""
    pages = reviews.read_spans(user, kept.spans)
    if pages is None or pages.more:
        return False
    return reviews.kept(kept.private, pages.found) == kept.reviews_in_spans


# --- verdicts ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Quiet:
    """What the check read of a user GitHub showed no change for, instead of a search."""

    profile: Profile


@dataclass(frozen=True)
class Verdict:
    """What the check learnt of one user: the fresh nodes of its repositories (shared by
    every verdict of the pass) and, when GitHub showed no change, what stands for a search."""

    collected_at: datetime  # of the collection it was checked against
    fresh: dict[str, Node]
    checked: float  # time.monotonic() of the check
    quiet: Quiet | None = None
    refused: frozenset[str] = frozenset()  # of `fresh`, those whose stargazers GitHub refused

    def fits(self, previous: Collection) -> bool:
        return previous.collected_at == self.collected_at and time.monotonic() - self.checked < VERDICT_TTL


@dataclass
class ChangeCheck:
    """The pass's verdicts, by Login: made by `run`, taken by each due user's refresh."""

    verdicts: dict[Login, Verdict] = field(default_factory=dict)

    def take(self, login: Login) -> Verdict | None:
        return self.verdicts.pop(login, None)

    async def run(
        self,
        client: GitHubClient,
        load: Callable[[Login], Awaitable[Collection | None]],
        logins: Iterable[Login],
        now: datetime,
        *,
        private: PrivateMode,
        retries: int,
    ) -> None:
        """Check `logins` (due users) whose kept collections an increment can build on; the
        unchanged ones get a verdict. Never raises for GitHub: who is not found unchanged is
        refreshed one by one."""
        self.verdicts = {}
        started = time.monotonic()
        kept = await _kept(load, logins, now, private)
        if not kept:
            return
        with usage_scope() as spent:
            try:
                with retry_budget(retries):
                    verdicts = await _verdicts(client, kept)
            except GitHubError as exc:  # never skip a user: refresh them one by one
                log.warning(
                    "change check failed; each due user is refreshed in full", extra={"error": str(exc)}
                )
                return
        self.verdicts = verdicts
        unchanged = sum(1 for v in verdicts.values() if v.quiet is not None)
        log.info(
            "change check: %d of %d due users unchanged",
            unchanged,
            len(kept),
            extra={
                "users": len(kept),
                "unchanged": unchanged,
                "points": spent.graphql_points,
                "requests": spent.total_requests,
                "seconds": round(time.monotonic() - started, 3),
            },
        )


async def _kept(
    load: Callable[[Login], Awaitable[Collection | None]],
    logins: Iterable[Login],
    now: datetime,
    private: PrivateMode,
) -> list[Kept]:
    """What is compared of each user's kept collection, read one at a time (a 20,000-PR
    user's is 50 MB): only collections an incremental refresh would build on."""
    out: list[Kept] = []
    for login in dict.fromkeys(logins):
        previous = await load(login)
        if previous is not None and incremental.usable(previous, login, now, private):
            summary = Kept.of(previous, now)
            if summary is not None:
                out.append(summary)
        del previous
    return out


async def _verdicts(client: GitHubClient, kept: list[Kept]) -> dict[Login, Verdict]:
    """Every checked user's verdict: the repositories of all of them read once (a changed
    user's incremental refresh takes them too, instead of revalidating its own), and who
    GitHub showed no change for."""
    by_login = {k.login: k for k in kept}
    asked = batches([k.asked() for k in kept])
    answers, (fresh, refused) = await asyncio.gather(
        asyncio.gather(*(_ask(client, batch, by_login) for batch in asked)), _repositories(client, kept)
    )
    quiet = {login: Quiet(profile) for answer in answers for login, profile in answer.items()}
    checked = time.monotonic()
    return {
        Login(k.login): Verdict(k.collected_at, fresh, checked, quiet.get(k.login), frozenset(refused))
        for k in kept
        if all(r in fresh for r in k.repositories)
    }


async def _ask(client: GitHubClient, batch: list[Asked], by_login: dict[str, Kept]) -> dict[str, Profile]:
    """The users of `batch` GitHub shows no change for, with their profile and reviews. A
    batch GitHub stops as too slow is asked again in halves; one it cannot answer has none,
    nor one the pass's point budget (GITBRAG_BUDGET_POINTS) no longer covers."""
    if not _affordable(client):
        return {}
    try:
        answer = await client.graphql_partial(
            check_query([len(a.spans) for a in batch]),
            check_variables(batch),
            allow_not_found=True,
            search=True,
            can_shrink=len(batch) > 1,
        )
    except QueryTimeout:
        half = len(batch) // 2
        parts = await asyncio.gather(
            _ask(client, batch[:half], by_login), _ask(client, batch[half:], by_login)
        )
        return parts[0] | parts[1]
    except GitHubError as exc:
        log.warning(
            "change check of %d users not answered; they are refreshed in full",
            len(batch),
            extra={"users": len(batch), "error": str(exc)},
        )
        return {}
    # A search node GitHub hid makes the increment give way to a full collection; a hidden
    # review is left out, as the ride-along leaves it out (`reviews.read_spans`).
    hidden = {
        str(h.path[0]) for h in answer.hidden if h.path and (len(h.path) == 1 or str(h.path[0])[0] == "s")
    }
    spoilt = hidden | _limited(answer.limited)
    return _read(batch, answer.data, spoilt, by_login)


def _affordable(client: GitHubClient) -> bool:
    """Whether the pass's point budget, if any, still covers a query of the check."""
    return client.budget is None or client.budget.left > 0


def _limited(paths: list[tuple[str | int, ...]]) -> set[str]:
    return {str(path[0]) for path in paths if path}


def _read(batch: list[Asked], data: Node, spoilt: set[str], by_login: dict[str, Kept]) -> dict[str, Profile]:
    """Who of `batch` the answer shows unchanged; `spoilt`: the aliases GitHub hid or cut short."""
    out: dict[str, Profile] = {}
    for i, one in enumerate(batch):
        user, search = data.get(f"u{i}"), data.get(f"s{i}")
        if f"u{i}" in spoilt or f"s{i}" in spoilt or not isinstance(user, dict):
            continue  # hidden, cut short, or not found: the refresh finds out which
        kept = by_login[one.login]
        if same_pulls(kept, search) and same_reviews(kept, user):
            out[one.login] = profile_of(user, one.login)
    return out


async def _repositories(client: GitHubClient, kept: list[Kept]) -> tuple[dict[str, Node], set[str]]:
    """Fresh nodes of every repository of `kept`, read once each, 100 to a query, and those
    whose stargazers GitHub refused (`incremental.revalidate`); those of a batch GitHub did
    not answer (or that vanished, went hidden or were renamed) are left out, and their users
    get no verdict (an incremental refresh of their own)."""
    repos = sorted({r for k in kept for r in k.repositories})
    starred = {r for k in kept for r in k.starred}
    fresh: dict[str, Node] = {}
    refused: set[str] = set()

    async def one(batch: list[str]) -> None:
        if not _affordable(client):
            return
        try:
            nodes, denied = await incremental.revalidate(client, batch, starred)
            fresh.update(nodes)
            refused.update(denied)
        except (incremental.Drifted, GitHubError) as exc:
            log.info(
                "repositories not revalidated for the change check; their users are refreshed in full",
                extra={"repos": len(batch), "error": str(exc)},
            )

    await asyncio.gather(*(one(batch) for batch in even_batches(repos, STAR_BATCH)))
    return fresh, refused


# --- an unchanged user's collection --------------------------------------------------------


async def brought_forward(
    client: GitHubClient,
    previous: Collection,
    verdict: Verdict,
    *,
    now: datetime,
    cache: BaseCache | None,
    index: StarIndex | None,
) -> Collection:
    """`previous` updated to `now` for a user the check found unchanged: its pull requests as
    kept, the checked profile and reviews, the pass's fresh repositories, and its star
    histories extended as an incremental refresh extends them (`incremental.assembled`)."""
    quiet = verdict.quiet
    if quiet is None:
        raise ValueError("only a user GitHub showed no change for is brought forward")
    fresh = {r: verdict.fresh[r] for r in previous.repositories}  # a verdict holds them all
    found = incremental.Found(
        profile=quiet.profile,
        pulls=list(previous.pull_requests),
        repositories={name: repository(node) for name, node in fresh.items()},
        reviews=previous.reviews,  # the spans re-read them all, unchanged (`same_reviews`)
        reviews_at=now,
        incomplete=previous.incomplete_results,
        page_size=previous.search_page_size,
    )
    refused = verdict.refused & set(previous.repositories)
    return await incremental.assembled(
        client, previous, found, fresh, set(refused), now=now, cache=cache, index=index
    )
