"""The report rules, checked on hand-built collections (no GitHub, no fake, no clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gitbrag.models import (
    PERIODS,
    SIZE_CATEGORIES,
    ChangedFile,
    Collection,
    Profile,
    PRState,
    PullRequest,
    Repository,
    StarHistory,
)
from gitbrag.report.build import build_report, build_reports, size_category

UNTIL = datetime(2025, 3, 12, 12, 0, tzinfo=UTC)
GENERATED = UNTIL + timedelta(minutes=5)
YEAR_START = UNTIL - timedelta(days=365)


def days_ago(days: float) -> datetime:
    return UNTIL - timedelta(days=days)


def pr(
    repo: str = "octo/alpha",
    number: int = 1,
    *,
    created: datetime | None = None,
    merged: datetime | None = None,
    state: PRState | None = None,
    additions: int = 10,
    deletions: int = 5,
    files: list[ChangedFile] | None = None,
    association: str = "CONTRIBUTOR",
    updated: datetime | None = None,
) -> PullRequest:
    created = created or days_ago(10)
    if state is None:
        state = "MERGED" if merged else "OPEN"
    return PullRequest(
        repo=repo,
        number=number,
        title=f"PR {number}",
        url=f"https://github.com/{repo}/pull/{number}",
        state=state,
        created_at=created,
        updated_at=updated or merged or created,
        closed_at=merged if merged else (created if state == "CLOSED" else None),
        merged_at=merged,
        additions=additions,
        deletions=deletions,
        changed_files=len(files) if files is not None else 1,
        author_association=association,
        files=files or [],
    )


def repo(name: str, stars: int = 0, description: str | None = None) -> Repository:
    return Repository(
        name_with_owner=name, url=f"https://github.com/{name}", description=description, stargazer_count=stars
    )


def collection(
    prs: list[PullRequest],
    repos: list[Repository] | None = None,
    stars: dict[str, list[datetime]] | None = None,
    star_since: datetime = UNTIL - timedelta(days=5 * 365 + 2),
    incomplete: bool = False,
) -> Collection:
    repos = repos if repos is not None else [repo(name) for name in sorted({p.repo for p in prs})]
    return Collection(
        login="OctoCat",
        profile=Profile(login="OctoCat", name="The Octocat"),
        pull_requests=prs,
        repositories={r.name_with_owner: r for r in repos},
        stars={
            name: StarHistory(repo=name, since=star_since, starred_at=sorted(times, reverse=True))
            for name, times in (stars or {}).items()
        },
        collected_at=UNTIL,
        incomplete_results=incomplete,
    )


# --- which pull requests count -------------------------------------------------------


def test_pr_created_before_window_but_merged_inside_counts() -> None:
    report = build_report(
        collection([pr(created=days_ago(400), merged=days_ago(300))]),
        "1_year",
        until=UNTIL,
        generated_at=GENERATED,
    )
    assert report.total_prs == 1
    assert report.merged_count == 1


def test_pr_only_updated_inside_window_does_not_count() -> None:
    stale = pr(created=days_ago(400), updated=days_ago(3))  # e.g. a comment last week, still open
    report = build_report(collection([stale]), "1_year", until=UNTIL, generated_at=GENERATED)
    assert report.total_prs == 0
    assert build_report(collection([stale]), "2_years", until=UNTIL, generated_at=GENERATED).total_prs == 1


def test_window_bounds_are_inclusive_and_nothing_after_until() -> None:
    prs = [
        pr(number=1, created=YEAR_START),
        pr(number=2, created=UNTIL),
        pr(number=3, created=YEAR_START - timedelta(seconds=1)),
        pr(number=4, created=UNTIL + timedelta(seconds=1)),
    ]
    report = build_report(collection(prs), "1_year", until=UNTIL, generated_at=GENERATED)
    assert [p.number for p in report.repositories[0].prs] == [2, 1]
    assert report.since == YEAR_START and report.until == UNTIL and report.generated_at == GENERATED


def test_closed_unmerged_prs_are_excluded_and_counts_split_by_state() -> None:
    prs = [
        pr(number=1, merged=days_ago(5)),
        pr(number=2, merged=days_ago(6)),
        pr(number=3),  # open
        pr(number=4, state="CLOSED"),
    ]
    report = build_report(collection(prs), "1_year", until=UNTIL, generated_at=GENERATED)
    assert (report.total_prs, report.merged_count, report.open_count) == (3, 2, 1)
    assert 4 not in [p.number for r in report.repositories for p in r.prs]
    assert {p.number: p.state for p in report.repositories[0].prs} == {1: "merged", 2: "merged", 3: "open"}


def test_duplicate_prs_from_overlapping_searches_count_once() -> None:
    first = pr(number=7, created=days_ago(20))
    again = pr(number=7, created=days_ago(20), merged=days_ago(2))
    report = build_report(collection([first, again]), "1_year", until=UNTIL, generated_at=GENERATED)
    assert report.total_prs == 1
    assert report.repositories[0].prs[0].state == "merged"
    # The fresher copy decides, also when it says the PR was closed unmerged since.
    closed_since = pr(number=7, created=days_ago(20), state="CLOSED", updated=days_ago(1))
    later = build_report(collection([first, closed_since]), "1_year", until=UNTIL, generated_at=GENERATED)
    assert later.total_prs == 0


def test_totals_sum_over_included_prs() -> None:
    prs = [
        pr(number=1, additions=10, deletions=2, files=[ChangedFile(path="a.py", additions=10, deletions=2)]),
        pr(number=2, additions=100, deletions=50),
        pr(number=3, created=days_ago(800), additions=1000, deletions=1000),  # outside 1 year
    ]
    report = build_report(collection(prs), "1_year", until=UNTIL, generated_at=GENERATED)
    assert (report.total_additions, report.total_deletions, report.total_changed_files) == (110, 52, 2)


# --- sizes --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (0, "One Liner"),
        (1, "One Liner"),
        (2, "Small"),
        (100, "Small"),
        (101, "Medium"),
        (500, "Medium"),
        (501, "Large"),
        (1500, "Large"),
        (1501, "Huge"),
        (5000, "Huge"),
        (5001, "Massive"),
    ],
)
def test_size_boundaries(lines: int, expected: str) -> None:
    assert size_category(lines) == expected
    # Size counts additions and deletions together.
    report = build_report(
        collection([pr(additions=lines // 2, deletions=lines - lines // 2)]),
        "1_year",
        until=UNTIL,
        generated_at=GENERATED,
    )
    assert report.repositories[0].prs[0].size == expected


def test_size_distribution_lists_every_category_in_order() -> None:
    prs = [pr(number=1, additions=1, deletions=0), pr(number=2, additions=3000, deletions=3000)]
    report = build_report(collection(prs), "1_year", until=UNTIL, generated_at=GENERATED)
    assert list(report.size_distribution) == list(SIZE_CATEGORIES)
    assert report.size_distribution == {
        "One Liner": 1,
        "Small": 0,
        "Medium": 0,
        "Large": 0,
        "Huge": 0,
        "Massive": 1,
    }


# --- repositories and stars -----------------------------------------------------------


def test_star_increase_counts_stars_in_window_once_per_repository() -> None:
    stars = {
        "octo/alpha": [days_ago(d) for d in (1, 2, 3, 400)],  # 3 within a year
        "octo/beta": [days_ago(d) for d in (10, 500)],  # 1 within a year
    }
    prs = [pr("octo/alpha", n) for n in (1, 2, 3, 4, 5)] + [pr("octo/beta", 1)]
    repos = [repo("octo/alpha", stars=4), repo("octo/beta", stars=2)]
    report = build_report(collection(prs, repos, stars), "1_year", until=UNTIL, generated_at=GENERATED)
    assert {r.name: r.star_increase for r in report.repositories} == {"octo/alpha": 3, "octo/beta": 1}
    assert report.total_star_increase == 4  # not 3 * 5 PRs + 1
    assert (
        build_report(
            collection(prs, repos, stars), "2_years", until=UNTIL, generated_at=GENERATED
        ).total_star_increase
        == 6
    )


def test_more_than_a_thousand_new_stars_are_all_counted() -> None:
    starred = [days_ago(i * 0.3) for i in range(1, 1501)]  # 1,500 stars within ~450 days
    expected = sum(1 for t in starred if t >= YEAR_START)
    assert expected > 1000
    coll = collection([pr("big/repo")], [repo("big/repo", stars=1500)], {"big/repo": starred})
    report = build_report(coll, "1_year", until=UNTIL, generated_at=GENERATED)
    assert report.repositories[0].star_increase == expected


def test_star_increase_without_usable_history_is_zero() -> None:
    prs = [pr("octo/nohistory"), pr("octo/short")]
    repos = [repo("octo/nohistory", stars=50), repo("octo/short", stars=9)]
    coll = collection(prs, repos, {"octo/short": [days_ago(1)]}, star_since=days_ago(30))
    one_year = build_report(coll, "1_year", until=UNTIL, generated_at=GENERATED)
    assert {r.name: r.star_increase for r in one_year.repositories} == {"octo/nohistory": 0, "octo/short": 0}
    # All time uses the stargazer count, whatever the history.
    all_time = build_report(coll, "all_time", until=UNTIL, generated_at=GENERATED)
    assert all_time.total_star_increase == 59


def test_repository_facts_and_prs_newest_first() -> None:
    prs = [
        pr("octo/alpha", 1, created=days_ago(30), merged=days_ago(29)),
        pr("octo/alpha", 2, created=days_ago(5)),
        pr("octo/alpha", 3, created=days_ago(10), merged=days_ago(1)),
    ]
    coll = collection(prs, [repo("octo/alpha", stars=1234, description="Hello <world>")])
    (alpha,) = build_report(coll, "1_year", until=UNTIL, generated_at=GENERATED).repositories
    assert (alpha.name, alpha.url, alpha.description, alpha.stars) == (
        "octo/alpha",
        "https://github.com/octo/alpha",
        "Hello <world>",
        1234,
    )
    assert [p.number for p in alpha.prs] == [2, 3, 1]
    assert (alpha.pr_count, alpha.merged_count, alpha.open_count) == (3, 2, 1)


def test_role_comes_from_latest_pr_and_roles_count_repositories() -> None:
    prs = [
        pr("octo/alpha", 1, created=days_ago(100), association="FIRST_TIME_CONTRIBUTOR"),
        pr("octo/alpha", 2, created=days_ago(10), association="COLLABORATOR"),
        pr("octo/alpha", 3, created=days_ago(50), association="CONTRIBUTOR"),
        pr("octo/beta", 1, association="OWNER"),
        pr("octo/gamma", 1, association="COLLABORATOR"),
    ]
    report = build_report(collection(prs), "1_year", until=UNTIL, generated_at=GENERATED)
    assert {r.name: r.role for r in report.repositories}["octo/alpha"] == "COLLABORATOR"
    assert report.roles == {"COLLABORATOR": 2, "OWNER": 1}


def test_repositories_sorted_by_star_increase_then_name() -> None:
    stars = {"z/most": [days_ago(1)] * 5, "b/some": [days_ago(1)], "a/some": [days_ago(2)]}
    prs = [pr("a/some"), pr("b/some"), pr("z/most"), pr("c/none"), pr("c/none", 2)]
    report = build_report(collection(prs, stars=stars), "1_year", until=UNTIL, generated_at=GENERATED)
    assert [r.name for r in report.repositories] == ["z/most", "a/some", "b/some", "c/none"]
    assert report.repo_count == 4


def test_all_time_sorts_repositories_by_pr_count_then_name() -> None:
    prs = [pr("z/many", n) for n in (1, 2, 3)] + [
        pr("b/two", 1),
        pr("b/two", 2),
        pr("a/two", 1),
        pr("a/two", 2),
    ]
    repos = [repo("z/many", stars=1), repo("b/two", stars=100), repo("a/two", stars=5)]
    report = build_report(collection(prs, repos), "all_time", until=UNTIL, generated_at=GENERATED)
    assert [r.name for r in report.repositories] == ["z/many", "a/two", "b/two"]


def test_repository_missing_from_collection_does_not_crash() -> None:
    coll = collection([pr("ghost/repo", 5)], repos=[])
    (ghost,) = build_report(coll, "1_year", until=UNTIL, generated_at=GENERATED).repositories
    assert (ghost.url, ghost.stars, ghost.star_increase) == ("https://github.com/ghost/repo", 0, 0)


# --- languages ------------------------------------------------------------------------


def test_languages_share_of_changed_lines() -> None:
    files_1 = [
        ChangedFile(path="src/app.py", additions=50, deletions=10),
        ChangedFile(path="web/ui.ts", additions=20, deletions=0),
        ChangedFile(path="LICENSE", additions=500, deletions=0),  # unknown: not counted
    ]
    files_2 = [
        ChangedFile(path="lib/util.PY", additions=0, deletions=20),
        ChangedFile(path="Makefile", additions=10, deletions=10),
    ]
    prs = [
        pr(number=1, files=files_1),
        pr(number=2, files=files_2),
        pr(number=3, state="CLOSED", files=files_2),
    ]
    report = build_report(collection(prs), "1_year", until=UNTIL, generated_at=GENERATED)
    assert [(s.language, s.lines, s.percentage) for s in report.languages] == [
        ("Python", 80, 66.7),
        ("Makefile", 20, 16.7),
        ("TypeScript", 20, 16.7),
    ]


def test_languages_keep_top_ten_by_lines_then_name() -> None:
    extensions = ["py", "go", "rs", "java", "c", "rb", "php", "swift", "kt", "scala", "sh", "css"]
    files = [ChangedFile(path=f"f.{ext}", additions=100 - i, deletions=0) for i, ext in enumerate(extensions)]
    report = build_report(collection([pr(files=files)]), "1_year", until=UNTIL, generated_at=GENERATED)
    assert len(report.languages) == 10
    assert [s.language for s in report.languages[:3]] == ["Python", "Go", "Rust"]
    total = sum(100 - i for i in range(len(extensions)))
    assert report.languages[0].percentage == round(100 * 100 / total, 1)


# --- whole reports ------------------------------------------------------------------------


def test_empty_collection_gives_empty_reports_for_every_period() -> None:
    reports = build_reports(collection([]), until=UNTIL, generated_at=GENERATED)
    assert list(reports) == list(PERIODS)
    for period, report in reports.items():
        assert report.period == period
        assert (report.total_prs, report.repo_count, report.total_star_increase) == (0, 0, 0)
        assert report.languages == [] and report.repositories == [] and report.roles == {}
        assert sum(report.size_distribution.values()) == 0


def test_profile_username_and_incomplete_flag_are_copied() -> None:
    report = build_report(collection([], incomplete=True), "1_year", until=UNTIL, generated_at=GENERATED)
    assert report.username == "OctoCat"
    assert report.profile.name == "The Octocat"
    assert report.incomplete_results is True


def test_same_input_gives_equal_output() -> None:
    prs = [
        pr(f"o/r{n % 7}", n, created=days_ago(n * 3), merged=days_ago(n) if n % 2 else None)
        for n in range(1, 60)
    ]
    coll = collection(prs, stars={"o/r1": [days_ago(3)]})
    first = build_reports(coll, until=UNTIL, generated_at=GENERATED)
    second = build_reports(coll, until=UNTIL, generated_at=GENERATED)
    assert first == second
    assert first["1_year"] == build_report(coll, "1_year", until=UNTIL, generated_at=GENERATED)
    assert first["1_year"].model_dump_json() == second["1_year"].model_dump_json()
