"""GitHub's issue/PR search syntax, evaluated over the fake's records.

Both `GET /search/issues` (REST) and `search(type: ISSUE)` (GraphQL) go through
`search_issues`, so the two endpoints can never disagree about which PRs a query
matches. The parser follows GitHub's documented semantics where our client depends
on them: range qualifiers are inclusive at both ends, a bare date covers the whole
day, logins are case-insensitive, and unknown qualifiers are ignored.

Searches return *every* match: GitHub's 1,000-result cap belongs to the callers,
which expose only the first 1,000 items while reporting the full `total_count`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from gitbrag.fakegithub.access import FULL_ACCESS, Access
from gitbrag.fakegithub.records import Dataset, FakePull

# What GitHub answers (as a 422 on REST) when a query names a user or repo that doesn't exist.
UNKNOWN_TARGET_MESSAGE = (
    "The listed users and repositories cannot be searched either because the resources do not "
    "exist or you do not have permission to view them."
)

Predicate = Callable[[FakePull], bool]

_DATE_FIELDS: dict[str, Callable[[FakePull], datetime | None]] = {
    "created": lambda p: p.created_at,
    "updated": lambda p: p.updated_at,
    "merged": lambda p: p.merged_at,
    "closed": lambda p: p.closed_at,
}
_SORT_KEYS = {"created", "updated"}
# A token is a quoted phrase, or a run of non-space characters that may hold a quoted value.
_TOKEN = re.compile(r'-?"[^"]*"|(?:[^\s"]|"[^"]*")+')
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class SearchQueryError(ValueError):
    """The query cannot be evaluated; REST answers 422 "Validation Failed" with this message."""


class UnknownSearchTargetError(SearchQueryError):
    """An `author:`/`repo:`/`user:`/`org:` names something that does not exist."""

    def __init__(self) -> None:
        super().__init__(UNKNOWN_TARGET_MESSAGE)


@dataclass
class SearchResult:
    items: list[FakePull]  # every match, in the requested order
    total_count: int
    incomplete_results: bool = False


@dataclass(frozen=True)
class _Interval:
    """A set of instants; `None` bounds are open-ended (GitHub's `*`)."""

    lo: datetime | None = None
    lo_inclusive: bool = True
    hi: datetime | None = None
    hi_inclusive: bool = True

    def __contains__(self, t: datetime) -> bool:
        if self.lo is not None and (t < self.lo or (t == self.lo and not self.lo_inclusive)):
            return False
        return not (self.hi is not None and (t > self.hi or (t == self.hi and not self.hi_inclusive)))


@dataclass(frozen=True)
class _Span:
    """What one written date denotes: a whole day [start, end) or a single instant."""

    start: datetime
    end: datetime
    end_inclusive: bool


def search_issues(
    dataset: Dataset,
    q: str,
    sort: str | None = None,
    order: str = "desc",
    access: Access = FULL_ACCESS,
    indexed_at: datetime | None = None,
) -> SearchResult:
    """Evaluate `q` over the dataset's pull requests that `access` may see.

    With `indexed_at`, the search index trails writes as GitHub's does: a pull request
    created after it is not found yet, and one changed after it is found as it was before
    the change (or not at all when that is not known either).

    `sort`/`order` are REST's parameters; a `sort:FIELD-DIRECTION` qualifier inside `q`
    (GraphQL's way) wins over them. Best match, and sorts the fake has no data for
    (comments, reactions, ...), fall back to newest first. Private repositories the
    caller cannot see are left out silently, as GitHub does (naming one in `repo:` is
    an unknown target).
    """
    predicates, q_sort, author = _parse(dataset, q, access)
    if not access.private:
        predicates.insert(0, _negate(_private(dataset)))
    field, direction = q_sort or (sort or "created", order)
    # An `author:` search only needs that author's PRs (the dataset indexes them), so
    # searches stay O(user's PRs) however many other users the dataset holds.
    candidates = dataset.pulls if author is None else dataset.pulls_by(author)
    if indexed_at is not None:
        candidates = _as_indexed(dataset, candidates, indexed_at)
    items = [p for p in candidates if all(pred(p) for pred in predicates)]
    key_field = field if field in _SORT_KEYS else "created"
    items.sort(
        key=lambda p: (p.updated_at if key_field == "updated" else p.created_at, p.id),
        reverse=direction.lower() != "asc",
    )
    return SearchResult(items=items, total_count=len(items))


def _as_indexed(dataset: Dataset, pulls: list[FakePull], indexed_at: datetime) -> list[FakePull]:
    """The pull requests as an index that caught up with writes until `indexed_at` has them."""
    seen: list[FakePull] = []
    for pull in pulls:
        if pull.updated_at > indexed_at:
            before = dataset.index_before.get(pull.id)
            if before is None or before.updated_at > indexed_at:
                continue
            pull = before
        seen.append(pull)
    return seen


def _parse(
    dataset: Dataset, q: str, access: Access
) -> tuple[list[Predicate], tuple[str, str] | None, str | None]:
    """The query's predicates, its `sort:` qualifier, and the login of a (positive) `author:`."""
    predicates: list[Predicate] = []
    q_sort: tuple[str, str] | None = None
    author: str | None = None
    for token in _TOKEN.findall(q):
        negated = token.startswith("-") and len(token) > 1
        body = token[1:] if negated else token
        key, sep, value = body.partition(":")
        value = value.strip('"')
        if sep and key.lower() == "sort":
            field, _, direction = value.lower().partition("-")
            q_sort = (field, direction or "desc")
            continue
        if sep and value:
            pred = _qualifier(dataset, key.lower(), value, access)
        else:
            pred = _free_text(body.strip('"'))
        if pred is not None:
            predicates.append(_negate(pred) if negated else pred)
        if sep and value and key.lower() == "author" and not negated:
            author = value
    return predicates, q_sort, author


def _negate(pred: Predicate) -> Predicate:
    return lambda p: not pred(p)


def _free_text(word: str) -> Predicate | None:
    """Free text matches titles only (GitHub also searches bodies and comments)."""
    needle = word.lower()
    if not needle:
        return None
    return lambda p: needle in p.title.lower()


def _qualifier(dataset: Dataset, key: str, value: str, access: Access) -> Predicate | None:
    if key in ("is", "visibility") and value.lower() in ("public", "private"):
        private = _private(dataset)
        return private if value.lower() == "private" else _negate(private)
    if key in ("is", "type", "state"):
        return _state_qualifier(value.lower())
    if key == "draft":
        wanted = value.lower() == "true"
        return lambda p: p.draft == wanted
    if key == "author":
        return _author(dataset, value)
    if key == "repo":
        return _repo(dataset, value, access)
    if key in ("user", "org"):
        return _owner(dataset, value)
    if key in _DATE_FIELDS:
        return _date_qualifier(key, value)
    return None  # GitHub ignores qualifiers it doesn't know here; so do we


def _state_qualifier(value: str) -> Predicate | None:
    predicates: dict[str, Predicate] = {
        "pr": lambda p: True,
        "pull-request": lambda p: True,
        "issue": lambda p: False,  # the fake holds pull requests only
        "open": lambda p: p.state == "open",
        "closed": lambda p: p.state == "closed",
        "merged": lambda p: p.merged,
        "unmerged": lambda p: p.state == "closed" and not p.merged,
        "draft": lambda p: p.draft,
    }
    return predicates.get(value)


def _author(dataset: Dataset, login: str) -> Predicate:
    if dataset.user(login) is None:
        raise UnknownSearchTargetError()
    key = login.lower()
    return lambda p: p.author.lower() == key


def _private(dataset: Dataset) -> Predicate:
    """Whether a PR's repository is private (`is:private`; a deleted repo counts as public)."""

    def private(p: FakePull) -> bool:
        repo = dataset.repo(p.repo)
        return repo is not None and repo.private

    return private


def _repo(dataset: Dataset, full_name: str, access: Access) -> Predicate:
    repo = dataset.repo(full_name)
    if repo is None or not access.sees(repo):
        raise UnknownSearchTargetError()
    key = full_name.lower()
    return lambda p: p.repo.lower() == key


def _owner(dataset: Dataset, login: str) -> Predicate:
    if dataset.user(login) is None:
        raise UnknownSearchTargetError()
    prefix = login.lower() + "/"
    return lambda p: p.repo.lower().startswith(prefix)


def _date_qualifier(key: str, value: str) -> Predicate:
    interval = _parse_date_range(key, value)
    get = _DATE_FIELDS[key]

    def matches(p: FakePull) -> bool:
        t = get(p)
        return t is not None and t in interval

    return matches


def _parse_date_range(key: str, value: str) -> _Interval:
    """`A..B`, `>=A`, `>A`, `<=A`, `<A` or a bare `A`, where A/B are dates or datetimes."""
    if ".." in value:
        a, _, b = value.partition("..")
        lo = None if a == "*" else _span(key, a)
        hi = None if b == "*" else _span(key, b)
        return _Interval(
            lo=lo.start if lo else None,
            hi=hi.end if hi else None,
            hi_inclusive=hi.end_inclusive if hi else True,
        )
    for op in (">=", "<=", ">", "<"):
        if value.startswith(op):
            s = _span(key, value[len(op) :])
            return {
                ">=": _Interval(lo=s.start),
                ">": _Interval(lo=s.end, lo_inclusive=not s.end_inclusive),
                "<=": _Interval(hi=s.end, hi_inclusive=s.end_inclusive),
                "<": _Interval(hi=s.start, hi_inclusive=False),
            }[op]
    s = _span(key, value)
    return _Interval(lo=s.start, hi=s.end, hi_inclusive=s.end_inclusive)


def _span(key: str, text: str) -> _Span:
    try:
        if _DATE_ONLY.match(text):
            day = date.fromisoformat(text)
            start = datetime(day.year, day.month, day.day, tzinfo=UTC)
            return _Span(start, start + timedelta(days=1), end_inclusive=False)
        instant = datetime.fromisoformat(text)
    except ValueError:
        raise SearchQueryError(
            f'Invalid value "{text}" for the "{key}" qualifier: '
            "expected a date (YYYY-MM-DD) or an ISO 8601 datetime."
        ) from None
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return _Span(instant, instant, end_inclusive=True)
