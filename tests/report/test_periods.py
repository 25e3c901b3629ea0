"""Periods people are reviewed on: calendar years, halves, quarters and ranges beside the
rolling windows, each a parsed name with a fixed window, all from the one collection."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gitbrag.models import PERIOD_LABELS, PERIODS, Report
from gitbrag.periods import GITHUB_EPOCH, ONE_MICROSECOND, ordered, parse_period
from gitbrag.publish.publisher import Publisher
from gitbrag.report.build import ReportOptions, build_report, build_reports, report_periods
from gitbrag.report.timeline import changes
from gitbrag.settings import ConfigError, load_settings
from tests.report.test_report import GENERATED, collection, pr, repo

NOW = datetime(2026, 3, 12, 12, 0, tzinfo=UTC)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


# --- names ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kind", "start", "end"),
    [
        ("2025", "year", utc(2025, 1, 1), utc(2026, 1, 1)),
        ("2025-H1", "half", utc(2025, 1, 1), utc(2025, 7, 1)),
        ("2025-H2", "half", utc(2025, 7, 1), utc(2026, 1, 1)),
        ("2025-Q1", "quarter", utc(2025, 1, 1), utc(2025, 4, 1)),
        ("2025-Q4", "quarter", utc(2025, 10, 1), utc(2026, 1, 1)),
        ("2024-02-01..2024-02-29", "range", utc(2024, 2, 1), utc(2024, 3, 1)),  # both days included
        ("2025-12-31..2026-01-01", "range", utc(2025, 12, 31), utc(2026, 1, 2)),
    ],
)
def test_calendar_names_parse_to_fixed_bounds(name: str, kind: str, start: datetime, end: datetime) -> None:
    period = parse_period(name)
    assert (period.name, period.kind, period.start, period.end) == (name, kind, start, end)


@pytest.mark.parametrize(
    "name",
    ["2025-Q5", "2025-Q0", "2025-H3", "25", "2025-1", "last_year", "1_years", "1999", "2007-Q4", "",
     "2025-02-30..2025-03-01", "2025-08-31..2025-03-01", "2025-03-01..", "2025-3-1..2025-4-1", " 2025"],
)  # fmt: skip
def test_anything_else_is_refused_with_what_is_accepted(name: str) -> None:
    with pytest.raises(ValueError, match="period|outside|date|ends before"):
        parse_period(name)


def test_the_rolling_periods_keep_their_windows() -> None:
    assert parse_period("1_year").window(NOW).since == NOW - timedelta(days=365)  # type: ignore[union-attr]
    assert parse_period("5_years").window(NOW).since == NOW - timedelta(days=1825)  # type: ignore[union-attr]
    everything = parse_period("all_time").window(NOW)
    assert everything is not None and (everything.since, everything.until) == (GITHUB_EPOCH, NOW)


def test_an_ended_period_stops_just_before_the_next_one_and_a_running_one_ends_now() -> None:
    ended = parse_period("2025").window(NOW)
    assert ended is not None and not ended.running
    assert (ended.since, ended.until) == (utc(2025, 1, 1), utc(2026, 1, 1) - ONE_MICROSECOND)
    assert ended.contains(utc(2025, 12, 31, 23, 59, 59)) and not ended.contains(utc(2026, 1, 1))
    running = parse_period("2026").window(NOW)
    assert (
        running is not None and running.running and (running.since, running.until) == (utc(2026, 1, 1), NOW)
    )
    assert parse_period("2026-Q2").window(NOW) is None  # not begun: no report
    assert parse_period("2026-Q1").window(NOW).until == NOW  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("name", "since", "until", "phrase"),
    [
        ("2025", utc(2024, 1, 1), utc(2025, 1, 1), "2024"),
        ("2025-H1", utc(2024, 7, 1), utc(2025, 1, 1), "2024 H2"),
        ("2025-Q1", utc(2024, 10, 1), utc(2025, 1, 1), "2024 Q4"),
        ("2025-03-01..2025-03-10", utc(2025, 2, 19), utc(2025, 3, 1), "the 10 days before"),
        ("1_year", NOW - timedelta(days=730), NOW - timedelta(days=365), "the year before"),
    ],
)
def test_the_previous_period_is_the_same_length_just_before(
    name: str, since: datetime, until: datetime, phrase: str
) -> None:
    previous = parse_period(name).previous(NOW)
    assert previous is not None and (previous.since, previous.until) == (since, until - ONE_MICROSECOND)
    assert parse_period(name).previous_phrase(NOW) == phrase


def test_a_running_period_is_compared_with_the_same_days_before() -> None:
    previous = parse_period("2026").previous(NOW)  # year to date against the same days of 2025
    assert previous is not None and (previous.since, previous.until) == (
        utc(2025, 1, 1),
        utc(2025, 3, 12, 12),
    )
    assert parse_period("2026").previous_phrase(NOW) == "the same days of 2025"
    assert parse_period("all_time").previous(NOW) is None
    assert parse_period("2008").previous(NOW) is None  # nothing on GitHub before


def test_labels_and_phrases_read_like_the_page() -> None:
    assert [PERIOD_LABELS[p] for p in ("1_year", "all_time", "2025", "2025-H1", "2025-Q3")] == [
        "1 year", "All time", "2025", "2025 H1", "2025 Q3",
    ]  # fmt: skip
    assert PERIOD_LABELS["2025-03-01..2025-08-31"] == "Mar 1 – Aug 31, 2025"
    assert PERIOD_LABELS["2024-12-01..2025-01-31"] == "Dec 1, 2024 – Jan 31, 2025"
    assert parse_period("2025").phrase == "in 2025"
    assert parse_period("2025-03-01..2025-08-31").phrase == "between Mar 1 and Aug 31, 2025"
    with pytest.raises(KeyError):
        PERIOD_LABELS["someday"]


def test_weekly_timelines_are_for_periods_under_six_months() -> None:
    assert [parse_period(p).weekly for p in ("2025", "2025-H1", "2025-H2", "2025-Q3", "1_year")] == [
        False, False, False, True, False,
    ]  # fmt: skip
    assert parse_period("2025-01-01..2025-06-29").weekly  # a day short of six months
    assert not parse_period("2025-01-01..2025-06-30").weekly
    assert parse_period("2025-03-15..2025-09-13").weekly and not parse_period("2025-03-15..2025-09-14").weekly
    assert not parse_period("2025-08-31..2026-02-27").weekly  # Feb 28 is six months after Aug 31
    assert parse_period("2025-08-31..2026-02-26").weekly


def test_tabs_order_rolling_then_years_newest_first_then_the_rest() -> None:
    names = ["2023", "2025-Q1", "all_time", "2025", "1_year", "2024-H2", "5_years", "2_years", "2025"]
    assert ordered(names) == [
        "1_year",
        "2_years",
        "5_years",
        "all_time",
        "2025",
        "2023",
        "2025-Q1",
        "2024-H2",
    ]


# --- the setting -----------------------------------------------------------------------------


def test_gitbrag_periods_is_split_checked_and_deduplicated() -> None:
    assert load_settings(periods="2026, 2026-H1,2026-Q3,2026-03-01..2026-08-31,2026").periods == [
        "2026", "2026-H1", "2026-Q3", "2026-03-01..2026-08-31",
    ]  # fmt: skip
    with pytest.raises(ConfigError, match=r"GITBRAG_PERIODS: .*entry #2: '2026-Q5' is not a period"):
        load_settings(periods="2026,2026-Q5")


# --- reports -----------------------------------------------------------------------------------


def test_every_calendar_year_with_activity_gets_a_report_and_only_those() -> None:
    prs = [
        pr("octo/alpha", 1, created=utc(2019, 5, 1), merged=utc(2019, 5, 2)),
        pr("octo/alpha", 2, created=utc(2023, 12, 30), merged=utc(2024, 1, 2)),  # 2023 and 2024
        pr("octo/alpha", 3, created=utc(2026, 2, 1)),
        pr("octo/alpha", 4, created=utc(2021, 6, 1), state="CLOSED"),  # never merged: no activity
    ]
    options = ReportOptions(periods=("2025-Q4", "2026-Q1", "2026-Q2", "2024-06-01..2024-06-30"))
    reports = build_reports(collection(prs), until=NOW, generated_at=GENERATED, options=options)
    assert list(reports) == [
        *PERIODS, "2026", "2024", "2023", "2019", "2026-Q1", "2025-Q4", "2024-06-01..2024-06-30",
    ]  # fmt: skip  # 2026-Q2 has not begun
    assert report_periods(collection(prs), NOW, options) == list(reports)
    assert [(p, reports[p].total_prs) for p in ("2026", "2024", "2023", "2019", "2025-Q4")] == [
        ("2026", 1), ("2024", 1), ("2023", 1), ("2019", 1), ("2025-Q4", 0),
    ]  # fmt: skip
    assert all(r.period == p for p, r in reports.items())


def test_a_calendar_report_counts_exactly_its_year() -> None:
    prs = [
        pr("octo/alpha", 1, created=utc(2024, 12, 31, 23, 59, 59)),  # the last second of 2024: out
        pr("octo/alpha", 2, created=utc(2025, 1, 1)),  # the first: in
        pr("octo/alpha", 3, created=utc(2025, 12, 31, 23, 59, 59)),  # the last: in
        pr("octo/alpha", 4, created=utc(2026, 1, 1)),  # the next year's first: out
        pr("octo/alpha", 5, created=utc(2024, 11, 1), merged=utc(2025, 2, 1)),  # merged in 2025: in
    ]
    report = build_report(collection(prs), "2025", until=NOW, generated_at=GENERATED)
    assert sorted(p.number for r in report.repositories for p in r.prs) == [2, 3, 5]
    assert (report.since, report.until) == (utc(2025, 1, 1), utc(2026, 1, 1) - ONE_MICROSECOND)


def test_stars_of_an_ended_year_are_the_stars_given_that_year() -> None:
    stars = [
        utc(2024, 12, 31, 23, 59, 59),
        utc(2025, 1, 1),
        utc(2025, 7, 1),
        utc(2026, 1, 1),
        utc(2026, 2, 1),
    ]
    coll = collection(
        [pr("octo/alpha", created=utc(2025, 3, 1))], [repo("octo/alpha", 5)], {"octo/alpha": stars}
    )
    report = build_report(coll, "2025", until=NOW, generated_at=GENERATED)
    assert report.total_star_increase == report.repositories[0].star_increase == 2


def test_stars_of_a_period_older_than_the_star_histories_are_not_known() -> None:
    """The histories reach back 5 years; walking further would cost every older period points."""
    prs = [pr("octo/alpha", 1, created=utc(2020, 3, 1)), pr("octo/beta", 2, created=utc(2020, 4, 1)),
           pr("octo/beta", 3, created=utc(2020, 5, 1))]  # fmt: skip
    coll = collection(prs, [repo("octo/alpha", 900), repo("octo/beta", 3)], {"octo/alpha": [utc(2020, 6, 1)]})
    old = build_report(coll, "2020", until=NOW, generated_at=GENERATED)
    assert old.total_star_increase is None and [r.star_increase for r in old.repositories] == [None, None]
    assert [r.name for r in old.repositories] == ["octo/beta", "octo/alpha"]  # by pull requests instead
    assert '"total_star_increase": null' in old.model_dump_json(indent=1)
    assert build_report(coll, "5_years", until=NOW, generated_at=GENERATED).total_star_increase == 0
    assert build_report(coll, "all_time", until=NOW, generated_at=GENERATED).total_star_increase == 903


def test_a_period_that_has_not_begun_cannot_be_built() -> None:
    with pytest.raises(ValueError, match="has not begun"):
        build_report(collection([]), "2027", until=NOW, generated_at=GENERATED)


def test_a_report_json_of_a_calendar_period_reads_back() -> None:
    report = build_report(
        collection([pr(created=utc(2025, 3, 1))]), "2025-Q1", until=NOW, generated_at=GENERATED
    )
    assert Report.model_validate_json(report.model_dump_json()) == report
    with pytest.raises(ValueError, match="is not a period"):
        Report.model_validate_json(report.model_dump_json().replace('"2025-Q1"', '"2025-Q9"'))


# --- the site ---------------------------------------------------------------------------------


def test_each_period_has_its_page_and_tab_and_a_retired_one_is_removed(tmp_path: Path) -> None:
    prs = [pr("octo/alpha", n, created=utc(year, 5, 1)) for n, year in enumerate((2021, 2023, 2025), 1)]
    options = ReportOptions(periods=("2025-H1",))
    publisher = Publisher(tmp_path / "site")
    reports = build_reports(collection(prs), until=NOW, generated_at=GENERATED, options=options)
    publisher.publish_user(reports)
    user = tmp_path / "site" / "octocat"
    for period in ("2025", "2023", "2021", "2025-H1"):
        assert (user / period / "report.json").is_file() and (user / period / "index.html").is_file()
    page = (user / "2023" / "index.html").read_text(encoding="utf-8")
    hrefs = [part.split('"', 1)[0] for part in page.split('<li><a href="')[1:]]
    assert hrefs[:8] == [f"../{p}/index.html" for p in (*PERIODS, "2025", "2023", "2021", "2025-H1")]
    assert (
        '<ul class="tabs-calendar">' in page and '<a href="../2023/index.html" aria-current="page">' in page
    )
    assert publisher.published_periods("OctoCat") == list(reports)
    # The 2021 pull request is gone (deleted on GitHub): the next whole publish drops its year.
    later = build_reports(
        collection(prs[1:]), until=NOW, generated_at=GENERATED + timedelta(hours=1), options=options
    )
    publisher.publish_user({p: r.model_copy(update={"generation": 1}) for p, r in later.items()})
    assert not (user / "2021").exists() and (user / "2023" / "index.html").is_file()
    assert "../2021/index.html" not in (user / "2023" / "index.html").read_text(encoding="utf-8")


# --- activity over time -------------------------------------------------------------------------


def test_the_timeline_counts_opened_and_merged_per_month_from_the_window_start() -> None:
    prs = [
        pr("octo/alpha", 1, created=utc(2025, 2, 1), merged=utc(2025, 3, 20)),  # merged inside only
        pr("octo/alpha", 2, created=utc(2025, 3, 13), merged=utc(2025, 4, 2)),
        pr("octo/alpha", 3, created=utc(2026, 3, 11)),
    ]
    report = build_report(collection(prs), "1_year", until=NOW, generated_at=GENERATED)
    assert report.timeline_unit == "month" and len(report.timeline) == 13
    points = [(t.month, t.week, t.opened, t.merged) for t in report.timeline]
    assert points[0] == ("2025-03", None, 1, 1) and points[1] == ("2025-04", None, 0, 1)
    assert points[-1] == ("2026-03", None, 1, 0)
    assert sum(t.opened for t in report.timeline) == 2 and sum(t.merged for t in report.timeline) == 2


def test_periods_under_six_months_have_a_weekly_timeline_on_mondays() -> None:
    prs = [pr("octo/alpha", 1, created=utc(2025, 1, 5)), pr("octo/alpha", 2, created=utc(2025, 1, 6))]
    report = build_report(collection(prs), "2025-Q1", until=NOW, generated_at=GENERATED)
    assert report.timeline_unit == "week"
    weeks = [(t.week, t.month, t.opened) for t in report.timeline]
    assert weeks[:3] == [("2025-W01", "2025-01", 1), ("2025-W02", "2025-01", 1), ("2025-W03", "2025-01", 0)]
    assert weeks[-1][0] == "2025-W14" and len(weeks) == 14  # Jan 1 was a Wednesday; Mar 31 a Monday


def test_all_time_starts_with_the_first_pull_request_and_is_empty_without_any() -> None:
    report = build_report(
        collection([pr(created=utc(2019, 6, 3))]), "all_time", until=NOW, generated_at=GENERATED
    )
    assert report.timeline[0].month == "2019-06" and report.timeline[-1].month == "2026-03"
    assert build_report(collection([]), "all_time", until=NOW, generated_at=GENERATED).timeline == []
    empty_year = build_report(collection([]), "2025", until=NOW, generated_at=GENERATED)
    assert len(empty_year.timeline) == 12 and not any(t.opened for t in empty_year.timeline)


def test_the_previous_period_has_the_same_rules_and_none_before_the_first_pull_request() -> None:
    prs = [
        pr("octo/alpha", 1, created=utc(2023, 6, 1), merged=utc(2023, 6, 2), additions=100, deletions=1),
        pr("octo/beta", 2, created=utc(2024, 5, 1), merged=utc(2024, 5, 3), additions=30, deletions=3),
        pr("octo/beta", 3, created=utc(2024, 7, 1)),
        pr("octo/beta", 4, created=utc(2025, 2, 1), merged=utc(2025, 2, 2)),
        pr("octo/beta", 5, created=utc(2025, 3, 1), merged=utc(2025, 3, 2)),
        pr("octo/beta", 6, created=utc(2025, 4, 1), merged=utc(2025, 4, 2)),
    ]
    coll = collection(prs)
    year = build_report(coll, "2025", until=NOW, generated_at=GENERATED)
    assert year.previous is not None and year.previous.label == "2024"
    assert (year.previous.total_prs, year.previous.merged_count, year.previous.repo_count) == (2, 1, 1)
    assert (year.previous.authored_additions, year.previous.authored_deletions) == (40, 8)
    assert year.previous.reviews is None  # no reviews collected
    assert (
        build_report(coll, "2023", until=NOW, generated_at=GENERATED).previous is None
    )  # 2022: before any PR
    assert build_report(coll, "all_time", until=NOW, generated_at=GENERATED).previous is None
    running = build_report(coll, "2026", until=NOW, generated_at=GENERATED)
    assert running.previous is not None and running.previous.label == "the same days of 2025"
    assert running.previous.total_prs == 2  # Feb 1 and Mar 1, 2025: before Mar 12, 12:00; not Apr 1

    texts = [c.text for c in changes(year)]
    assert texts[0] == "+200% merged pull requests vs 2024 (3, was 1)"
    assert "+50% pull requests vs 2024 (3, was 2)" in texts
    assert "as many repositories as 2024 (1)" in texts


def test_the_page_draws_the_timeline_with_its_numbers_as_a_table(tmp_path: Path) -> None:
    prs = [pr("octo/alpha", n, created=utc(2025, n, 3), merged=utc(2025, n, 4)) for n in range(1, 7)]
    reports = build_reports(collection(prs), until=NOW, generated_at=GENERATED)
    Publisher(tmp_path / "site").publish_user(reports)
    page = (tmp_path / "site" / "octocat" / "2025" / "index.html").read_text(encoding="utf-8")
    svg = page.split('<svg class="chart chart-timeline"')[1].split("</svg>")[0]
    assert svg.count('<rect class="timeline-') == 12  # six months with one opened and one merged each
    assert svg.count('<rect class="chart-grid"') == 3  # the scale's lines: its top, half and 0
    assert "<title>Pull requests opened and merged per month: Jan 2025: 1 opened, 1 merged;" in svg
    table = page.split('<details class="timeline-table">')[1].split("</details>")[0]
    assert table.count('<tr><th scope="row">') == 12
    assert '<tr><th scope="row">Jun 2025</th><td class="num">1</td><td class="num">1</td></tr>' in table
    assert 'data-change="merged pull requests"' not in page  # 2024 had none: no comparison to make
