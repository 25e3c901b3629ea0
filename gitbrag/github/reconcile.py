"""Locating unstars: re-reading stretches of a kept star history from its checkpoints.

An unstar removes a star from the middle of GitHub's list without a trace; the counts
only say how many went (`stars.extended`), not which. Walking the history again would
find them, at a point per 100 stars: ~1,000 points for a repository gaining 20,000 stars
a year, every day someone unstars it. But GitHub's stargazer cursors are keyset cursors
(the edge's time and stargazer), so a cursor kept from an earlier walk still starts a page
right after the star it came from, whatever was added or removed elsewhere. A history keeps
one per page it was read in (`StarHistory.checkpoints`, at most 100 stars apart), and every
page after a checkpoint can be asked at once: 100 stretches in one query cost one point,
so a whole five-year history of 100,000 stars is re-read for ~10 points, not ~1,000.

Re-reading is budgeted: at most `STRETCHES` stretches per repository every `EVERY`, newest
first, continuing next time where it stopped, so a giant repository is re-read over a few
days for ~2 points a day and a smaller one at once. Until then the unstars not located are
`unlocated`: each is either one of the kept stars (counted though gone) or older than the
history's start (harmless), so a star count drawn from the history may be too high by at
most that many; reports state it (`star_increase_uncertainty`).

When a re-read that began at time S reaches the bottom, every unstar that happened before S
among the kept stars has been located; those revealed before S that were not are older than
the history's start. What is still unlocated is then at most what was revealed since S.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta
from typing import Any

from gitbrag.github import starpages
from gitbrag.github.client import GitHubClient
from gitbrag.github.nodes import parse_time
from gitbrag.models import Reconciliation, StarCheckpoint, StarHistory

log = logging.getLogger(__name__)

STRETCHES = 200  # per repository and re-read: 2 points alone, less when shared with others
EVERY = timedelta(hours=20)  # a repository is re-read at most this often (a daily refresh)


def due(history: StarHistory, now: datetime) -> bool:
    """Whether `history` has unstars to locate and the budget to look for them now."""
    if history.unlocated == 0:
        return False
    return history.reconcile is None or history.reconcile.at <= now - EVERY


def revealed(state: Reconciliation | None, unstars: int) -> Reconciliation | None:
    """A re-read under way counts the unstars revealed while it runs (it may miss them)."""
    if state is None or state.below is None or not unstars:
        return state
    return state.model_copy(update={"revealed": state.revealed + unstars})


async def reread(client: GitHubClient, histories: list[StarHistory], now: datetime) -> dict[str, StarHistory]:
    """Each history with its next stretches re-read (in one shared round of queries).

    A repository another refresh of this client is already re-reading is left to it: this
    refresh keeps its history as it is, with its stated bound."""
    flights = client.in_flight
    mine = [h for h in histories if _key(h) not in flights]
    loop = asyncio.get_running_loop()
    for history in mine:
        flights[_key(history)] = loop.create_future()
    try:
        results = await asyncio.gather(*(_reread(client, h, now) for h in mine))
    finally:
        for history in mine:
            future = flights.pop(_key(history))
            future.cancel()  # nobody awaits it: it only marks the re-read as taken
    return {h.repo: h for h in results}


def _key(history: StarHistory) -> str:
    return f"gitbrag:reread:{history.repo.lower()}"


async def _reread(client: GitHubClient, history: StarHistory, now: datetime) -> StarHistory:
    state = history.reconcile if history.reconcile is not None and history.reconcile.below else None
    bounds: list[StarCheckpoint | None] = [None, *history.checkpoints]  # None: the newest star
    start = 0 if state is None else 1 + _first_under(history.checkpoints, state.below)
    chosen = bounds[start : start + STRETCHES]
    pager = starpages.pager(client)
    pages = await asyncio.gather(*(pager.page(history.repo, b.cursor if b else None) for b in chosen))
    rest = bounds[start + len(chosen) :]
    located = _replaced(history, chosen, pages, rest[0].at if rest and rest[0] else None)
    if located is None:
        return _unread(history, now)
    history, found = located
    unlocated = max(0, history.unlocated - found)
    done = not rest
    if done:  # everything under S is located: what may remain was revealed since S
        unlocated = min(unlocated, state.revealed if state else 0)
    last = chosen[-1]
    next_state = Reconciliation(
        below=None if done or last is None else last.at, revealed=state.revealed if state else 0, at=now
    )
    _log(history, found, unlocated, len(chosen), done)
    return history.model_copy(update={"unlocated": unlocated, "reconcile": next_state})


def _unread(history: StarHistory, now: datetime) -> StarHistory:
    """The history as it was, its re-read put off for `EVERY` like a finished one, so that
    every refresh sharing the repository does not pay for the same failed pages again."""
    log.warning(
        "re-reading the stars of %s: a page did not reach its stretch's end (stars arrived"
        " meanwhile, or the stretch is longer than a page); kept as it was, %d unstars unlocated",
        history.repo,
        history.unlocated,
        extra={"repo": history.repo, "unlocated": history.unlocated},
    )
    state = history.reconcile or Reconciliation(below=None, revealed=0, at=now)
    return history.model_copy(update={"reconcile": state.model_copy(update={"at": now})})


def _first_under(checkpoints: list[StarCheckpoint], below: datetime | None) -> int:
    return next((i for i, c in enumerate(checkpoints) if below is None or c.at < below), len(checkpoints))


def _replaced(
    history: StarHistory,
    chosen: list[StarCheckpoint | None],
    pages: list[starpages.Page],
    lower: datetime | None,
) -> tuple[StarHistory, int] | None:
    """The history with the stretch between `chosen[0]` (None: the newest star) and `lower`
    (None: the history's start) as GitHub lists it now, and how many kept stars were gone
    from it; None if a page did not reach the next checkpoint (a stretch was not what the
    checkpoints claim, or stars arrived meanwhile)."""
    if not chosen or not history.starred_at:
        return (history, 0) if not chosen else None
    newest = history.starred_at[0]
    top = chosen[0].at if chosen[0] is not None else None
    bottom = lower if lower is not None else history.since

    def inside(t: datetime) -> bool:  # ties at either end belong to the stretch next door
        below_top = t < top if top is not None else t <= newest
        return below_top and (bottom < t if lower is not None else bottom <= t)

    live: dict[str, datetime] = {}
    ends = [b.at for b in chosen[1:] if b is not None] + [bottom]
    for i, (page, end) in enumerate(zip(pages, ends, strict=True)):
        edges = _covering(page, end, inclusive=i == len(pages) - 1 and lower is None)
        if edges is None:
            return None
        live |= {edge["cursor"]: parse_time(edge["starredAt"]) for edge in edges}
    kept = [t for t in history.starred_at if inside(t)]
    now_listed = sorted((t for t in live.values() if inside(t)), reverse=True)
    if len(now_listed) > len(kept):
        return None
    above = [t for t in history.starred_at if top is not None and t >= top]
    under = [t for t in history.starred_at if not inside(t) and (top is None or t < top)]
    times = above + now_listed + under
    return history.model_copy(update={"starred_at": times}), len(kept) - len(now_listed)


def _covering(page: starpages.Page, end: datetime, *, inclusive: bool) -> list[Any] | None:
    """The page's edges if it reached `end` (the next checkpoint, or the history's start,
    which the stretch includes when `inclusive`), else None (also when GitHub refused it:
    the history is then kept as it was, its bound still stated)."""
    if page is None or isinstance(page, starpages.Refused):
        return None
    connection = page["stargazers"]
    edges: list[Any] = connection["edges"]
    if not connection["pageInfo"]["hasNextPage"]:
        return edges
    last = parse_time(edges[-1]["starredAt"]) if edges else None
    reached = last is not None and (last < end if inclusive else last <= end)
    return edges if reached else None


def _log(history: StarHistory, found: int, unlocated: int, stretches: int, done: bool) -> None:
    log.info(
        "re-read %d stretches of %s's stars: %d unstars located, %d still unlocated%s",
        stretches,
        history.repo,
        found,
        unlocated,
        "" if done else " (continues next time)",
        extra={"repo": history.repo, "located": found, "unlocated": unlocated, "stretches": stretches},
    )
