"""Report periods: a period is a name (a parsed string) with a window for a given `now`.

The names are a contract (site folders, `report.json`'s `period`, `GITBRAG_PERIODS`,
`gitbrag report --period`, the hook's `?period=`):

* rolling windows ending now: ``1_year``, ``2_years``, ``5_years`` (365, 730 and 1,825
  days, as the reference tool counts them) and ``all_time`` (from GitHub's launch);
* calendar periods: a year ``2025``, a half ``2025-H1``, a quarter ``2025-Q3``, and a range
  of days ``2025-03-01..2025-08-31`` (both days included), each beginning at midnight in a
  time zone (`GITBRAG_TIMEZONE`, an IANA name; UTC by default), so that a Californian's
  New Year's Eve pull request belongs to the year she made it in. Windows are UTC instants
  (the zone only decides where they begin and end): rolling windows, which end "now" and
  have no calendar boundary, are the same in every zone.

People are reviewed on calendar periods, and a brag document of "2025" must not move when
it is read in 2026, so a calendar window is fixed; one that is still running ends now.

A window is ``[since, until]``, both included, so every report uses one membership rule.
A window that ended stops one microsecond before the next period starts (``2025`` ends
at ``2025-12-31T23:59:59.999999Z``): exact for any timestamp, and its last day reads as
the last day of the period.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo, available_timezones

# "All time" starts at GitHub's launch: nothing on GitHub is older.
GITHUB_EPOCH = datetime(2008, 1, 1, tzinfo=UTC)
ROLLING: tuple[str, ...] = ("1_year", "2_years", "5_years", "all_time")
ROLLING_DAYS: dict[str, int] = {"1_year": 365, "2_years": 730, "5_years": 1825}
_ROLLING_LABELS = {"1_year": "1 year", "2_years": "2 years", "5_years": "5 years", "all_time": "All time"}
_ROLLING_PHRASES = {
    "1_year": "in the past year",
    "2_years": "in the past 2 years",
    "5_years": "in the past 5 years",
    "all_time": "on GitHub so far",
}
_PREVIOUS_ROLLING = {
    "1_year": "the year before",
    "2_years": "the 2 years before",
    "5_years": "the 5 years before",
}
ONE_MICROSECOND = timedelta(microseconds=1)
LAST_YEAR = 9998  # a later year could not name its successor (`datetime` stops at 9999)

_YEAR = r"(?P<year>\d{4})"
_PATTERNS = (
    ("year", re.compile(rf"^{_YEAR}$")),
    ("half", re.compile(rf"^{_YEAR}-H(?P<part>[12])$")),
    ("quarter", re.compile(rf"^{_YEAR}-Q(?P<part>[1-4])$")),
    ("range", re.compile(r"^(?P<first>\d{4}-\d{2}-\d{2})\.\.(?P<last>\d{4}-\d{2}-\d{2})$")),
)
PERIOD_SYNTAX = "1_year, 2_years, 5_years, all_time, YYYY, YYYY-H1, YYYY-Q3 or YYYY-MM-DD..YYYY-MM-DD"

Kind = Literal["rolling", "all_time", "year", "half", "quarter", "range"]
DEFAULT_TIMEZONE = "UTC"
# Names the zone database has that do not name a place's time: the host's own setting.
_NOT_ZONES = frozenset({"localtime", "Factory"})


@lru_cache(maxsize=1)
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones()) - _NOT_ZONES


def check_timezone(name: str) -> str:
    """`name` when it is an IANA time zone name ("Europe/Berlin", "UTC"), else `ValueError`.

    Exact spelling only (the zone database is case-sensitive on most hosts, so
    "europe/berlin" would work on one machine and fail on the next)."""
    if name == DEFAULT_TIMEZONE:
        return name
    if not _known_zones():
        raise ValueError("no time zone database on this machine: install tzdata (apt, or pip)")
    if name not in _known_zones():
        raise ValueError(f"{name[:60]!r} is not an IANA time zone name (such as Europe/Berlin or UTC)")
    return name


@lru_cache(maxsize=256)
def timezone_named(name: str) -> tzinfo:
    """The zone `name` stands for; UTC needs no zone database (a slim image may have none)."""
    return UTC if name == DEFAULT_TIMEZONE else ZoneInfo(check_timezone(name))


@dataclass(frozen=True)
class Window:
    """A report's window, both ends included; `running` when it ends now (not at a fixed time)."""

    since: datetime
    until: datetime
    running: bool

    def contains(self, moment: datetime | None) -> bool:
        return moment is not None and self.since <= moment <= self.until

    @property
    def days(self) -> float:
        return (self.until - self.since).total_seconds() / 86400


@dataclass(frozen=True)
class PeriodSpec:
    """A parsed period name. Calendar periods have fixed bounds (`start` included, `end` not),
    local midnights in `zone`; rolling ones a length in days ending at `now`."""

    name: str
    kind: Kind
    start: datetime | None = None
    end: datetime | None = None
    days: int | None = None
    zone: str = DEFAULT_TIMEZONE

    @property
    def calendar(self) -> bool:
        return self.start is not None

    @property
    def _utc_bounds(self) -> tuple[datetime, datetime]:
        """`start` and `end` as UTC instants: arithmetic on them is exact (a local one across a
        daylight-saving change is not), and every timestamp compared with them is UTC."""
        assert self.start is not None and self.end is not None
        return self.start.astimezone(UTC), self.end.astimezone(UTC)

    def window(self, now: datetime) -> Window | None:
        """The window for a report made at `now`; None for a calendar period that has not begun."""
        if self.kind == "all_time":
            return Window(GITHUB_EPOCH, now, running=True)
        if self.days is not None:
            return Window(now - timedelta(days=self.days), now, running=True)
        start, end = self._utc_bounds
        if start > now:
            return None
        if end <= now:
            return Window(start, end - ONE_MICROSECOND, running=False)
        return Window(start, now, running=True)

    def previous(self, now: datetime) -> Window | None:
        """The window of the same length just before this one (a running calendar period is
        compared with the same stretch of its predecessor: year to date against the same days
        of last year); None for all time, which has nothing before it."""
        current = self.window(now)
        if current is None or self.kind == "all_time":
            return None
        if self.days is not None:
            since = current.since - timedelta(days=self.days)
            return Window(since, current.since - ONE_MICROSECOND, running=False)
        own_start, _ = self._utc_bounds
        start = self._predecessor_start().astimezone(UTC)
        if start < GITHUB_EPOCH:
            return None
        whole_end = own_start - ONE_MICROSECOND
        if not current.running:
            return Window(start, whole_end, running=False)
        return Window(start, min(start + (now - own_start), whole_end), running=False)

    def _predecessor_start(self) -> datetime:
        """The local midnight the period before begins at (a range: as many days before)."""
        assert self.start is not None and self.end is not None
        if self.kind == "year":
            return self.start.replace(year=self.start.year - 1)
        if self.kind in ("half", "quarter"):
            months = 6 if self.kind == "half" else 3
            return _add_months(self.start, -months)
        return self.start - (self.end - self.start)

    @property
    def label(self) -> str:
        """The tab's text: "1 year", "2025", "2025 H1", "2025 Q3", "Mar 1 – Aug 31, 2025"."""
        if self.name in _ROLLING_LABELS:
            return _ROLLING_LABELS[self.name]
        if self.kind in ("half", "quarter"):
            return self.name.replace("-", " ")
        if self.kind == "range":
            return _range_label(self)
        return self.name

    @property
    def phrase(self) -> str:
        """How a sentence says when: "in the past year", "in 2025", "between Mar 1 and Aug 31, 2025"."""
        if self.name in _ROLLING_PHRASES:
            return _ROLLING_PHRASES[self.name]
        if self.kind == "range":
            return f"between {_range_label(self, ' and ')}"
        return f"in {self.label}"

    def previous_phrase(self, now: datetime) -> str:
        """What the previous window is called: "the year before", "2024", "the same days of 2024"."""
        if self.name in _PREVIOUS_ROLLING:
            return _PREVIOUS_ROLLING[self.name]
        current = self.window(now)
        previous = self.previous(now)
        if previous is None or current is None:
            return "the period before"
        if self.kind == "range":
            return f"the {round(current.days):,} days before"
        name = PeriodSpec(*_calendar(self.kind, previous.since.astimezone(timezone_named(self.zone)))).label
        return f"the same days of {name}" if current.running else name

    @property
    def weekly(self) -> bool:
        """Whether its timeline is drawn per week: windows shorter than six months."""
        if self.start is None or self.end is None:
            return False
        month = _add_months(self.start.replace(day=1), 6)
        last_day = (_add_months(month, 1) - timedelta(days=1)).day
        return self.end < month.replace(day=min(self.start.day, last_day))


def _calendar(kind: Kind, start: datetime) -> tuple[str, Kind, datetime, datetime]:
    """The name, kind and bounds of the `kind` period that starts at `start`."""
    if kind == "year":
        return str(start.year), kind, start, start.replace(year=start.year + 1)
    if kind == "half":
        part = 1 if start.month <= 6 else 2
        return f"{start.year}-H{part}", kind, start, _add_months(start, 6)
    if kind == "quarter":
        part = (start.month - 1) // 3 + 1
        return f"{start.year}-Q{part}", kind, start, _add_months(start, 3)
    raise ValueError(f"no calendar period of kind {kind!r}")


def _add_months(moment: datetime, months: int) -> datetime:
    """The first of a month `months` away from `moment` (which is a first of a month)."""
    index = moment.year * 12 + moment.month - 1 + months
    return moment.replace(year=index // 12, month=index % 12 + 1, day=1)


def _range_label(period: PeriodSpec, between: str = " – ") -> str:
    assert period.start is not None and period.end is not None
    first, last = period.start, period.end - timedelta(days=1)
    if first.year == last.year:
        return f"{first:%b} {first.day}{between}{last:%b} {last.day}, {last.year}"
    return f"{first:%b} {first.day}, {first.year}{between}{last:%b} {last.day}, {last.year}"


@lru_cache(maxsize=4096)
def parse_period(name: str, zone: str = DEFAULT_TIMEZONE) -> PeriodSpec:
    """The period a name means, its days beginning at midnight in `zone` (an IANA name);
    `ValueError` (saying what is accepted) for anything else."""
    if name == "all_time":
        return PeriodSpec(name, "all_time", zone=zone)
    if name in ROLLING_DAYS:
        return PeriodSpec(name, "rolling", days=ROLLING_DAYS[name], zone=zone)
    for kind, pattern in _PATTERNS:
        match = pattern.fullmatch(name)
        if match is not None:
            return _calendar_period(name, kind, match.groupdict(), zone)
    raise ValueError(f"{name!r} is not a period: expected {PERIOD_SYNTAX}")


def _calendar_period(name: str, kind: str, parts: dict[str, str], zone: str) -> PeriodSpec:
    tz = timezone_named(zone)
    if kind == "range":
        first, last = _day(parts["first"], name), _day(parts["last"], name)
        if last < first:
            raise ValueError(f"{name!r} ends before it starts")
        _check_year(name, first.year, last.year)
        start = datetime(first.year, first.month, first.day, tzinfo=tz)
        end = datetime(last.year, last.month, last.day, tzinfo=tz) + timedelta(days=1)  # local midnight
        return PeriodSpec(name, "range", start, end, zone=zone)
    year = int(parts["year"])
    _check_year(name, year)
    part = int(parts.get("part") or 1)
    months = {"year": 12, "half": 6, "quarter": 3}[kind]
    start = datetime(year, (part - 1) * months + 1, 1, tzinfo=tz)
    return PeriodSpec(name, kind, start, _add_months(start, months), zone=zone)  # type: ignore[arg-type]


def _day(text: str, name: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{name!r}: {text} is not a date") from None


def _check_year(name: str, *years: int) -> None:
    for year in years:
        if not GITHUB_EPOCH.year <= year <= LAST_YEAR:
            raise ValueError(f"{name!r}: {year} is outside {GITHUB_EPOCH.year}..{LAST_YEAR}")


def is_period(name: str) -> bool:
    try:
        parse_period(name)
    except ValueError:
        return False
    return True


def ordered(names: Iterable[str]) -> list[str]:
    """Periods as the tabs show them: the rolling ones first (in their usual order), then the
    calendar years, newest first, then the other periods (halves, quarters, ranges), newest
    first; each once."""
    periods = {p.name: p for p in map(parse_period, names)}

    def key(period: PeriodSpec) -> tuple[int, int, float, float]:
        if period.name in ROLLING:
            return (0, ROLLING.index(period.name), 0.0, 0.0)
        assert period.start is not None and period.end is not None
        group = 1 if period.kind == "year" else 2
        return (group, 0, -period.start.timestamp(), -period.end.timestamp())

    return [p.name for p in sorted(periods.values(), key=key)]


def years_between(first: datetime, last: datetime) -> Iterator[str]:
    """The calendar years from `first`'s to `last`'s, as period names."""
    for year in range(max(first.year, GITHUB_EPOCH.year), min(last.year, LAST_YEAR) + 1):
        yield str(year)


class PeriodLabels(Mapping[str, str]):
    """`PERIOD_LABELS[name]` for any period name (a tab's text), not only the four rolling ones."""

    def __getitem__(self, name: str) -> str:
        try:
            return parse_period(name).label
        except ValueError:
            raise KeyError(name) from None

    def __iter__(self) -> Iterator[str]:
        return iter(ROLLING)

    def __len__(self) -> int:
        return len(ROLLING)
