"""A pass's GraphQL point budget (GITBRAG_BUDGET_POINTS, the action's `budget` input).

A workflow's GITHUB_TOKEN has 1,000 points an hour; a pass that runs the token dry rests
until the reset, which a scheduled job should not do. With a budget, the pass stops
claiming new reports while a reserve is still left (what a user's pull requests cost),
and star walks stop at a page boundary before their next round would overspend it
(`stars.continue_walks`); what was not done is deferred to the next run.

Points are counted as GitHub charges them: each answer's `rateLimit.cost`, summed by the
client (`Usage.graphql_points`), from the moment the budget was set.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from gitbrag.clock import utcnow
from gitbrag.github.client import GitHubClient, Usage
from gitbrag.models import StarCheckpoint, StarHistory

if TYPE_CHECKING:
    from gitbrag.github.stars import StarIndex, Walk

# Points a claim keeps in reserve for the work besides star walks (pull requests, reviews,
# repositories): a new report is claimed only while more than this is left. A tenth of the
# budget, at least 20 points and at most 150 (one heavy user's pull requests).
CLAIM_RESERVE_SHARE = 0.1
CLAIM_RESERVE_MIN = 20
CLAIM_RESERVE_MAX = 150
# Points a round of star pages keeps for the rest of the in-flight work: a round is sent
# only when its worst-case cost and this margin are still left.
WALK_MARGIN = 10


@dataclass
class PointBudget:
    """`limit` GraphQL points, counted on `usage` (a client's totals) from `start` on."""

    limit: int
    usage: Usage
    start: int = field(default=-1)

    def __post_init__(self) -> None:
        if self.start < 0:
            self.start = self.usage.graphql_points

    def restart(self) -> None:
        """A new pass: the budget is per pass (the service runs one every scan interval)."""
        self.start = self.usage.graphql_points

    @property
    def spent(self) -> int:
        return self.usage.graphql_points - self.start

    @property
    def left(self) -> int:
        return self.limit - self.spent

    @property
    def claim_reserve(self) -> int:
        return max(CLAIM_RESERVE_MIN, min(CLAIM_RESERVE_MAX, int(self.limit * CLAIM_RESERVE_SHARE)))

    def may_claim(self) -> bool:
        """Whether a new report may start: more than the reserve is left."""
        return self.left > self.claim_reserve

    def may_walk(self, pages: int, batch: int) -> bool:
        """Whether a round of `pages` star pages (`batch` to a query, a point per query at
        most when it is full) may be sent, keeping `WALK_MARGIN` for the work in flight."""
        queries = -(-pages // batch)
        return self.left >= queries + WALK_MARGIN


# --- star walks a budget stopped ---------------------------------------------------------
# Kept apart from `stars` so that module changes little: a stopped walk is kept in the star
# index as a partial history (its `resume_cursor` set, `since` the oldest star read), which
# reports show as "stars still being counted", and the next pass continues it from there.

Thin = Callable[[list[StarCheckpoint], list[datetime], datetime], list[StarCheckpoint]]


class Continue(Protocol):
    async def __call__(
        self, client: GitHubClient, walks: dict[str, Walk], *, first_round: bool = ..., stoppable: bool = ...
    ) -> None: ...


def walked(repo: str, walk: Walk, day: datetime, thin: Thin) -> StarHistory:
    """The history a full walk back to `day` found: complete, or, when the budget stopped
    it, complete back to the oldest star read, with the cursor to continue from."""
    if walk.stopped and walk.count is None:  # stopped before its first page
        return StarHistory(repo=repo, since=utcnow(), resume_cursor="")
    since = day if not walk.stopped else (walk.floor or day)
    return StarHistory(
        repo=repo,
        since=since,
        starred_at=walk.starred_at,
        stargazer_count=walk.count,
        checkpoints=thin([c for c in walk.checkpoints if c.at >= since], walk.starred_at, since),
        resume_cursor=walk.cursor if walk.stopped else None,
    )


async def resumed(
    client: GitHubClient,
    index: StarIndex,
    histories: dict[str, StarHistory],
    day: datetime,
    walk_on: Continue,
    thin: Thin,
    refused: set[str],
) -> dict[str, StarHistory]:
    """`histories` with the partial ones walked on from their cursor towards `day` (as far
    as the budget allows), and what changed saved to the index.

    The newer end was brought up to date first (`stars.extended`, which squares the counts);
    the stars older than the oldest read were `count - len(kept)` and only those are read now.
    A walk GitHub refused (its stargazers are for admins and collaborators) leaves its partial
    history as the index holds it, still partial, and its repository out of the result and
    in `refused`: joined, it would pass for complete."""
    partial = {repo: h for repo, h in histories.items() if h.resume_cursor}
    if not partial:
        return histories
    walks: dict[str, Walk] = {}
    for repo, history in partial.items():
        walks[repo] = walk = _walk_type()(stop_at=day)
        walk.cursor = history.resume_cursor
    await walk_on(client, walks, stoppable=True)
    denied = {repo for repo, walk in walks.items() if walk.refused}
    refused |= denied
    done = {repo: _joined(h, walks[repo], day, thin) for repo, h in partial.items() if repo not in denied}
    await index.save([h for repo, h in done.items() if h != partial[repo]])
    return {repo: h for repo, h in histories.items() if repo not in denied} | done


def _joined(history: StarHistory, walk: Walk, day: datetime, thin: Thin) -> StarHistory:
    """A partial history and its continuation, one history (partial again if stopped again)."""
    if not walk.checkpoints and walk.stopped:
        return history
    since = (walk.floor or history.since) if walk.stopped else day
    times = history.starred_at + walk.starred_at
    checkpoints = thin([*history.checkpoints, *(c for c in walk.checkpoints if c.at >= since)], times, since)
    update = {
        "since": since,
        "starred_at": times,
        "checkpoints": checkpoints,
        "resume_cursor": walk.cursor if walk.stopped else None,
    }
    return history.model_copy(update=update)


def _walk_type() -> type[Walk]:
    from gitbrag.github.stars import Walk  # noqa: PLC0415  (stars imports this module)

    return Walk
