"""Exclusions (`ReportOptions.exclude`, `exclude_languages`) and time zones (`timezone`,
`user_timezones`) in the report builder, on hand-built collections: the cases the fake's
dataset does not pin down exactly (the last evening of a year, a daylight-saving change at
midnight, reviews and stars in excluded repositories, private work that is also excluded)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from gitbrag.models import ChangedFile, ExcludedWork, ReviewContribution
from gitbrag.periods import parse_period
from gitbrag.publish.publisher import Publisher
from gitbrag.report.build import ReportOptions, build_report, build_reports
from gitbrag.report.exclude import check_language, parse_exclusion
from gitbrag.report.timeline import bucket_starts
from tests.report.test_report import collection, pr, repo
from tests.test_private_and_hidden import page_text, private_repo

LA = "America/Los_Angeles"
# New Year's Eve, 22:00 in California: 06:00 on New Year's Day in UTC.
NYE = datetime(2025, 12, 31, 22, 0, tzinfo=ZoneInfo(LA)).astimezone(UTC)
LATER = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_a_new_years_eve_pull_request_belongs_to_the_year_it_was_made_in_there() -> None:
    made = collection([pr("octo/alpha", 1, created=NYE, merged=NYE + timedelta(minutes=30))])
    utc = build_reports(made, until=LATER, generated_at=LATER)
    local = build_reports(made, until=LATER, generated_at=LATER, options=ReportOptions(timezone=LA))
    assert "2025" not in utc and utc["2026"].total_prs == 1
    assert "2026" not in local and local["2025"].total_prs == 1
    assert local["2025"].timezone == LA and utc["2026"].timezone == "UTC"
    assert local["2025"].since == datetime(2025, 1, 1, 8, tzinfo=UTC)
    assert local["2025"].until == datetime(2026, 1, 1, 8, tzinfo=UTC) - timedelta(microseconds=1)
    assert [(t.month, t.opened) for t in local["2025"].timeline][-1] == ("2025-12", 1)
    assert [(t.month, t.opened) for t in local["1_year"].timeline if t.opened] == [("2025-12", 1)]
    assert [(t.month, t.opened) for t in utc["1_year"].timeline if t.opened] == [("2026-01", 1)]


def test_pages_show_the_days_of_the_zone_and_name_it(tmp_path: Path) -> None:
    made = collection([pr("octo/alpha", 1, created=NYE, merged=NYE + timedelta(minutes=30))])
    reports = build_reports(made, until=LATER, generated_at=LATER, options=ReportOptions(timezone=LA))
    Publisher(tmp_path).publish_user(reports)
    page = page_text(tmp_path / "octocat" / "2025" / "index.html")
    assert "between 1 Jan 2025 and 31 Dec 2025 (America/Los_Angeles)." in page
    assert page.count("31 Dec 2025") == 3 and "1 Jan 2026" not in page  # the window, created, merged
    brag = (tmp_path / "octocat" / "2025" / "brag.md").read_text()
    assert "from 1 Jan 2025 to 31 Dec 2025 (America/Los_Angeles)" in brag


def test_a_users_own_zone_wins_over_the_operators() -> None:
    made = collection([pr("octo/alpha", 1, created=NYE)])  # login "OctoCat"
    options = ReportOptions(timezone="UTC", user_timezones=(("octocat", LA),))
    assert "2025" in build_reports(made, until=LATER, generated_at=LATER, options=options)
    assert options.zone_for("OCTOCAT") == LA and options.zone_for("someone") == "UTC"


def test_weeks_begin_at_local_midnight_even_when_midnight_is_skipped() -> None:
    """Chile moves its clocks at midnight: on 7 Sep 2025 the day begins at 01:00 (04:00Z)."""
    spec = parse_period("2025-08-04..2025-09-30", "America/Santiago")
    window = spec.window(LATER)
    assert window is not None and spec.weekly
    starts = {b.week: b.start for b in bucket_starts(window, weekly=True, zone=ZoneInfo("America/Santiago"))}
    assert starts["2025-W32"] == datetime(2025, 8, 4, 4, tzinfo=UTC)  # -04:00
    assert starts["2025-W36"] == datetime(2025, 9, 1, 4, tzinfo=UTC)
    assert starts["2025-W37"] == datetime(2025, 9, 8, 3, tzinfo=UTC)  # -03:00 from 7 Sep


def test_the_previous_calendar_period_is_the_local_one_before() -> None:
    spec = parse_period("2025-Q1", "Europe/Berlin")
    previous = spec.previous(LATER)
    assert previous is not None
    assert previous.since == datetime(2024, 9, 30, 22, tzinfo=UTC)  # 1 Oct 2024, 00:00 +02:00
    assert previous.until == datetime(2024, 12, 31, 23, tzinfo=UTC) - timedelta(microseconds=1)
    assert spec.previous_phrase(LATER) == "2024 Q4"


# --- exclusions ----------------------------------------------------------------------------


def reviews(*items: tuple[str, int, datetime]) -> list[ReviewContribution]:
    return [ReviewContribution(repo=r, number=n, occurred_at=t) for r, n, t in items]


def test_excluded_work_counts_nowhere_but_in_excluded_by_operator() -> None:
    until = datetime(2025, 3, 12, 12, tzinfo=UTC)
    recent = until - timedelta(days=3)
    made = collection(
        [
            pr("octo/alpha", 1, created=recent, merged=recent, files=[ChangedFile("a.py", 10, 5)]),
            pr("Secret-Org/Vault", 2, created=recent, merged=recent, files=[ChangedFile("v.rs", 900, 0)]),
            pr("secret-org/other", 3, created=recent),
            pr("secret-org/other", 4, created=until - timedelta(days=900)),  # outside the year
        ],
        repos=[repo("octo/alpha", 5), repo("Secret-Org/Vault", 900), repo("secret-org/other", 1)],
        stars={"octo/alpha": [recent], "Secret-Org/Vault": [recent] * 40},
    ).model_copy(
        update={
            "reviews": reviews(
                ("octo/alpha", 7, recent), ("secret-org/vault", 8, recent), ("secret-org/vault", 8, recent)
            )
        }
    )
    options = ReportOptions(exclude=("SECRET-ORG/*",))
    report = build_report(made, "1_year", until=until, generated_at=until, options=options)
    assert [r.name for r in report.repositories] == ["octo/alpha"]
    assert report.total_prs == 1 and report.total_star_increase == 1
    assert [s.language for s in report.languages] == ["Python"]
    assert report.reviews is not None and report.reviews.total == 1
    assert [r.name for r in report.reviews.repositories] == ["octo/alpha"]
    assert report.excluded_by_operator == ExcludedWork(pull_requests=2, repositories=2, reviews=1)
    assert "secret" not in report.model_dump_json().lower()
    everything = build_report(made, "all_time", until=until, generated_at=until, options=options)
    assert everything.excluded_by_operator == ExcludedWork(pull_requests=3, repositories=2, reviews=1)
    plain = build_report(made, "1_year", until=until, generated_at=until)
    assert plain.excluded_by_operator is None and plain.total_prs == 3


def test_an_exclusion_for_one_user_leaves_the_others_alone() -> None:
    made = collection([pr("octo/alpha", 1), pr("octo/beta", 2)])  # login "OctoCat"
    for entries, left in ((("octocat:octo/beta",), 1), (("someone:octo/beta",), 2), (("octo/b*",), 1)):
        report = build_report(made, "1_year", until=LATER - timedelta(days=300), generated_at=LATER,
                              options=ReportOptions(exclude=entries))  # fmt: skip
        assert report.total_prs == left, entries


def test_excluded_private_work_leaves_private_work_too() -> None:
    made = collection(
        [pr("octo/alpha", 1), pr("secret/vault", 2), pr("secret/vault", 3)],
        repos=[repo("octo/alpha"), private_repo("secret/vault")],
    ).model_copy(update={"private_mode": "counts"})
    until = datetime(2025, 3, 12, 12, tzinfo=UTC)
    report = build_report(made, "1_year", until=until, generated_at=until,
                          options=ReportOptions(exclude=("secret/vault",)))  # fmt: skip
    assert report.private_work is not None and report.private_work.total_prs == 0
    assert report.excluded_by_operator == ExcludedWork(pull_requests=2, repositories=1, reviews=None)
    hidden = made.model_copy(update={"private_mode": "off"})
    report = build_report(hidden, "1_year", until=until, generated_at=until,
                          options=ReportOptions(exclude=("secret/vault",)))  # fmt: skip
    assert report.excluded_by_operator == ExcludedWork(pull_requests=0, repositories=0, reviews=None)


def test_excluded_languages_leave_the_chart_and_the_shares_are_of_the_rest() -> None:
    files = [ChangedFile("a.py", 30, 0), ChangedFile("README.md", 60, 0), ChangedFile("b.go", 10, 0)]
    made = collection([pr("octo/alpha", 1, files=files)])
    until = datetime(2025, 3, 12, 12, tzinfo=UTC)
    options = ReportOptions(exclude_languages=(check_language("markdown"),))
    report = build_report(made, "1_year", until=until, generated_at=until, options=options)
    assert [(s.language, s.percentage) for s in report.languages] == [("Python", 75.0), ("Go", 25.0)]
    assert report.authored_additions == 10  # pr()'s own totals: lines still count, only the chart changes


@pytest.mark.parametrize(
    "entry", ["dotfiles", "a/b/c", "*", "https://github.com/a/b", "a b/c", "x:y:a/b", "a/[b"]
)
def test_an_exclusion_that_is_not_owner_repo_shaped_is_refused(entry: str) -> None:
    with pytest.raises(ValueError, match="owner/repo|username"):
        parse_exclusion(entry)
