"""Realistic change over time: `churn(ds, days, now)`, served as `POST /_fake/churn {"days": N}`.

Why: a client's incremental refresh is only tested if the fake changes the way GitHub does
between two refreshes: every repository gains stars at its own rate and loses a few,
active people open pull requests, and open ones get merged or closed.

The choice: churn generates the N days ending at `now` (the fake's clock, `FakeConfig.clock`)
on top of the existing history, which is never rewritten, because on GitHub the past only
changes by unstars and by pull requests changing state; a client may rely on that. Rates
are each repository's stars a day and each author's pull requests a day over the year
before the dataset's anchor, learnt at the first call and memoised (`ChurnMemo`), so churns
do not compound (a giant keeps gaining ~40 stars a day and losing a few). Call k draws from
its own stream `"{seed}/churn/{k}"`: the result is deterministic given the seed, the call
sequence and `now`. New stars, pull requests and state changes are dated after the anchor and
after the last request the fake answered (`Dataset.read_until`): on GitHub a change is dated
when it happens, so it never lands behind what a client has already read; a search index that
trails writes is a fault of its own, `search_lag_seconds`. A window reaching before that is
squeezed into the time since; two
calls at the same `now` date everything at `now`: advance the clock between calls to model
days passing. Afterwards the anchor is `now` if that is later.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from gitbrag.fakegithub.dataset import _TOPICS, _VERBS, DAY, _lifecycle, iso
from gitbrag.fakegithub.records import ChurnMemo, CompactStars, Dataset, FakePull, FakeRepo, FakeStar

MAX_DAYS = 3650
UNSTAR_SHARE = 0.08  # unstars a day, as a share of the repository's gains a day ...
UNSTAR_PER_STAR = 1e-5  # ... plus this share of its stars a day: old popular repositories lose a few too
RESOLVE_PER_DAY = 0.04  # chance a day that an open PR younger than two years is merged or closed
STALE_RESOLVE_PER_DAY = 0.002  # the same for older ones: most stay open forever
MERGE_SHARE = 0.75  # of resolved PRs


@dataclass(frozen=True)
class ChurnSummary:
    """What one churn did, as `POST /_fake/churn` answers it."""

    days: int
    now: datetime
    stars_added: int
    stars_removed: int
    pulls_opened: int
    pulls_merged: int
    pulls_closed: int

    def as_json(self) -> dict[str, Any]:
        return {**{k: v for k, v in vars(self).items() if k != "now"}, "now": iso(self.now)}


@dataclass(frozen=True)
class _Window:
    """The churned period, in epoch seconds: (end - span, end]."""

    end: int
    span: int
    # Nothing happens at or before the dataset's anchor, the moment up to which it has been
    # served: on GitHub a star or a pull request is dated when it happens, so it never lands
    # behind what a client has already read. A window reaching further back is squeezed.
    served: int = 0

    @property
    def start(self) -> int:
        return self.end - self.span

    def moment(self, rng: random.Random, not_before: int | None = None) -> int:
        lo = max(self.start, self.served)
        lo = lo if not_before is None else max(lo, min(not_before, self.end))
        return lo + int((self.end - lo) * rng.random())


def churn(ds: Dataset, days: int, now: datetime) -> ChurnSummary:
    """Apply `days` days of change ending at `now` to `ds` (see the module docstring)."""
    if not 1 <= days <= MAX_DAYS:
        raise ValueError(f"days must be 1..{MAX_DAYS}")
    memo = ds.churn = ds.churn or learn(ds)
    rng = random.Random(f"{ds.seed}/churn/{memo.calls}")
    memo.calls += 1
    served = max(ds.anchor, ds.read_until or ds.anchor)
    end = int(now.timestamp())
    window = _Window(end, days * DAY, served=min(int(served.timestamp()) + 1, end))
    added, removed = _churn_stars(ds, memo, rng, window)
    merged, closed = _resolve_pulls(ds, rng, window)
    opened = _open_pulls(ds, memo, rng, window)
    ds.anchor = max(ds.anchor, now)
    return ChurnSummary(days, now, added, removed, opened, merged, closed)


def learn(ds: Dataset) -> ChurnMemo:
    """Each repository's and author's rate over the year before the anchor."""
    end = ds.anchor
    year_ago = end - timedelta(days=365)
    star_rates = {key: _stars_since(r, year_ago) / 365 for key, r in ds.repos.items()}
    per_author: Counter[str] = Counter()
    per_repo: dict[str, Counter[str]] = {}
    association: dict[tuple[str, str], str] = {}
    for p in ds.pulls:
        if year_ago <= p.created_at < end:
            author, repo = p.author.lower(), p.repo.lower()
            per_author[author] += 1
            per_repo.setdefault(author, Counter())[repo] += 1
            role = "CONTRIBUTOR" if p.author_association == "FIRST_TIME_CONTRIBUTOR" else p.author_association
            association[author, repo] = role
    pull_rates = {a: n / 365 for a, n in per_author.items()}
    pull_repos = {a: [(r, n, association[a, r]) for r, n in c.items()] for a, c in per_repo.items()}
    return ChurnMemo(star_rates, pull_rates, pull_repos)


def _stars_since(r: FakeRepo, since: datetime) -> int:
    if isinstance(r.stars, CompactStars):
        return r.stars.count_since(int(since.timestamp()))
    return sum(1 for s in r.stars if s.starred_at >= since)


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw (Knuth's method; a rounded normal past 50, where they agree closely)."""
    if mean <= 0:
        return 0
    if mean > 50:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _churn_stars(ds: Dataset, memo: ChurnMemo, rng: random.Random, w: _Window) -> tuple[int, int]:
    """Stars and unstars on every repository at its own rate; unstars hit stars of any age."""
    days = w.span / DAY
    added = removed = 0
    for key, r in ds.repos.items():
        gains_a_day = memo.star_rates.get(key, 0.0)
        gains = poisson(rng, gains_a_day * days)
        losses = min(
            len(r.stars), poisson(rng, (UNSTAR_SHARE * gains_a_day + UNSTAR_PER_STAR * len(r.stars)) * days)
        )
        gone = set(rng.sample(range(len(r.stars)), losses))
        times = sorted(w.moment(rng) for _ in range(gains))
        if isinstance(r.stars, CompactStars):
            r.stars.remove_at(gone)
            r.stars.add((t, None) for t in times)
        else:
            r.stars = _churn_star_list(rng, r.stars, gone, times)
        if times:
            r.updated_at = max(r.updated_at, datetime.fromtimestamp(times[-1], UTC))
        added, removed = added + gains, removed + losses
    return added, removed


def _churn_star_list(
    rng: random.Random, stars: list[FakeStar], gone: set[int], times: list[int]
) -> list[FakeStar]:
    """The plain-list version (demo repositories): new stargazers are logins the repository lacks."""
    kept = [s for k, s in enumerate(stars) if k not in gone]
    taken = {s.login for s in stars}
    for t in times:
        login = f"stargazer-{rng.randrange(1, 5_000_000)}"
        while login in taken:
            login = f"stargazer-{rng.randrange(1, 5_000_000)}"
        taken.add(login)
        kept.append(FakeStar(login, datetime.fromtimestamp(t, UTC)))
    kept.sort(key=lambda s: s.starred_at)
    return kept


def _resolve_pulls(ds: Dataset, rng: random.Random, w: _Window) -> tuple[int, int]:
    """Merge or close open PRs: recent ones often, stale ones rarely, at a moment after creation."""
    days = w.span / DAY
    merged = closed = 0
    for p in ds.pulls:
        created = int(p.created_at.timestamp())
        if p.state != "open" or created >= w.end:
            continue
        per_day = RESOLVE_PER_DAY if w.end - created < 730 * DAY else STALE_RESOLVE_PER_DAY
        if rng.random() >= 1 - (1 - per_day) ** days:
            continue
        when = datetime.fromtimestamp(w.moment(rng, not_before=created + 60), UTC)
        merge = rng.random() < MERGE_SHARE
        ds.remember_before_change(p)
        p.state, p.closed_at, p.updated_at = "closed", when, when
        p.merged_at = when if merge else None
        p.draft = p.draft and not merge
        merged, closed = merged + merge, closed + (not merge)
        r = ds.repo(p.repo)
        if r is not None:
            r.updated_at = r.pushed_at = max(r.pushed_at, when)
    return merged, closed


def _open_pulls(ds: Dataset, memo: ChurnMemo, rng: random.Random, w: _Window) -> int:
    """New PRs from active authors, in the repositories they worked in that year, at their own rate."""
    now = datetime.fromtimestamp(w.end, UTC)
    planned: list[tuple[int, str, tuple[str, int, str]]] = []
    for author, per_day in memo.pull_rates.items():
        repos = [entry for entry in memo.pull_repos[author] if entry[0] in ds.repos]
        n = poisson(rng, per_day * w.span / DAY)
        if not repos or ds.user(author) is None or n == 0:
            continue
        picks = rng.choices(repos, [count for _, count, _ in repos], k=n)
        planned += [(w.moment(rng), author, pick) for pick in picks]
    planned.sort()
    numbers: dict[str, int] = {}
    for p in ds.pulls:
        numbers[p.repo.lower()] = max(numbers.get(p.repo.lower(), 0), p.number)
    next_id = max((p.id for p in ds.pulls), default=1_000_000)
    mine: dict[str, list[FakePull]] = {}
    for created_ts, author, (key, _, association) in planned:
        r = ds.repos[key]
        created = datetime.fromtimestamp(created_ts, UTC)
        state, closed_at, merged_at, updated = _lifecycle(rng, created, now, None)
        numbers[key] = numbers.get(key, 0) + rng.randint(1, 3)  # issues share the numbering
        next_id += rng.randint(1, 9)
        earlier = mine.setdefault(author, ds.pulls_by(author))  # new PRs reuse their file lists
        user = ds.user(author)
        pull = FakePull(
            next_id, r.full_name, numbers[key], f"{rng.choice(_VERBS)} {rng.choice(_TOPICS)}", None,
            user.login if user else author, association, state, created, updated, closed_at, merged_at,
            rng.choice(earlier).files if earlier else [], draft=state == "open" and rng.random() < 0.15,
        )  # fmt: skip
        ds.add_pull(pull)
        r.updated_at = r.pushed_at = max(r.pushed_at, updated)
    return len(planned)
