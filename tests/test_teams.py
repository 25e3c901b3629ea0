"""Teams (`GITBRAG_TEAMS`): parsed and checked at start, added up from the members' published
reports, one page per rolling period, linked from the index and each member's page."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from gitbrag.models import PERIODS, LanguageShare, Profile, Report
from gitbrag.publish import LOGIN_RE, IndexEntry, Publisher
from gitbrag.settings import ConfigError, load_settings
from gitbrag.teams import combined_languages, parse_teams, team_report, teams_of
from tests.test_publish import make_collection, make_pr, reports_for


def user(login: str, merged: int, open_: int = 0, name: str | None = None) -> dict[str, Report]:
    prs = [
        make_pr(n, f"PR {n}", f"https://github.com/octo/hello-world/pull/{n}", 5 + n)
        for n in range(1, merged + 1)
    ]
    prs += [
        make_pr(100 + n, f"Open {n}", f"https://github.com/octo/hello-world/pull/{100 + n}", 3, merged=False)
        for n in range(open_)
    ]
    profile = Profile(login=login, name=name)
    return reports_for(make_collection(login, prs=prs, profile=profile))


def test_parse_teams_reads_names_and_members() -> None:
    assert parse_teams(" platform = alice, bob ,carol ; web=dave,erin;", LOGIN_RE) == {
        "platform": ["alice", "bob", "carol"],
        "web": ["dave", "erin"],
    }
    assert parse_teams("a=x,x", LOGIN_RE) == {"a": ["x"]}  # a member listed twice counts once


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("platform", "needs the form name=login,login"),
        ("Big Team=alice", "lower-case letters"),
        ("../x=alice", "lower-case letters"),
        ("web=alice,../etc", "member #2 is not a GitHub username"),
        ("web=a;web=b", "named twice"),
        ("web=", "has no members"),
        ("web=org:octo-org", "org: members are not supported yet"),
    ],
)
def test_a_bad_team_setting_says_which_entry_and_why(value: str, says: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(teams=value)
    message = str(raised.value)
    assert message.startswith("invalid configuration: GITBRAG_TEAMS:") and says in message
    assert "\n" not in message


def test_the_setting_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITBRAG_TEAMS", "platform=alice,bob;web=dave")
    assert load_settings().teams == {"platform": ["alice", "bob"], "web": ["dave"]}
    monkeypatch.delenv("GITBRAG_TEAMS")
    assert load_settings().teams == {}


def test_a_team_adds_up_its_members_and_ranks_them_by_merged_pull_requests() -> None:
    alice, bob = user("alice", merged=2, open_=3), user("Bob", merged=4)
    found = {"alice": alice["1_year"], "bob": bob["1_year"]}
    team = team_report("platform", "1_year", ["alice", "Bob", "ghost"], found)
    assert [m.login for m in team.members] == ["Bob", "alice"]  # 4 merged before 2 (alice has more PRs)
    assert team.not_published == ["ghost"]
    assert team.total_prs == alice["1_year"].total_prs + bob["1_year"].total_prs == 9
    assert team.merged_count == 6 and team.open_count == 3
    assert team.repo_count == 1  # the same repository, counted once
    [repo] = team.repositories
    assert (repo.name, repo.pr_count, repo.merged_count, repo.members) == (
        "octo/hello-world",
        9,
        6,
        ("alice", "Bob"),
    )
    assert sum(p.opened for p in team.timeline) == 9
    assert team.timeline_unit == "month"
    assert team.generated_at == max(alice["1_year"].generated_at, bob["1_year"].generated_at)


def test_combined_languages_are_shares_of_the_summed_lines() -> None:
    a = user("alice", 1)["1_year"].model_copy(
        update={"languages": [LanguageShare(language="Go", lines=300, percentage=100.0)]}
    )
    b = user("bob", 1)["1_year"].model_copy(
        update={"languages": [LanguageShare(language="Rust", lines=100, percentage=50.0),
                              LanguageShare(language="Go", lines=100, percentage=50.0)]}
    )  # fmt: skip
    assert [(s.language, s.lines, s.percentage) for s in combined_languages([a, b])] == [
        ("Go", 400, 80.0),
        ("Rust", 100, 20.0),
    ]


def test_timelines_of_reports_made_on_different_days_keep_every_bucket() -> None:
    early = user("alice", 2)["1_year"]
    late_collection = make_collection(
        "bob", prs=[make_pr(1, "x", "https://github.com/octo/hello-world/pull/1", 5)]
    )
    from gitbrag.report import build_reports
    from tests.test_publish import UNTIL

    late = build_reports(
        late_collection, until=UNTIL + timedelta(days=40), generated_at=UNTIL + timedelta(days=40)
    )
    team = team_report("t", "1_year", ["alice", "bob"], {"alice": early, "bob": late["1_year"]})
    months = [p.month for p in team.timeline]
    assert months == sorted(set(months)) and len(months) > len(early.timeline)
    assert sum(p.opened for p in team.timeline) == 3


def test_team_pages_per_period_linked_from_the_index_and_each_members_page(tmp_path: Path) -> None:
    site = tmp_path / "site"
    teams = {"platform": ["alice", "Bob", "ghost"], "web": ["alice"]}
    publisher = Publisher(site, teams=teams)
    entries = []
    for reports in (user("alice", 2, name="<b>Alice</b>"), user("Bob", 4)):
        publisher.publish_user(reports)
        entries.append(IndexEntry.from_report(reports["1_year"]))
    publisher.publish_index(entries)
    written = publisher.publish_teams()
    assert {p.relative_to(site).as_posix() for p in written} == {
        f"teams/{t}/{p}/index.html" for t in teams for p in PERIODS
    } | {f"teams/{t}/index.html" for t in teams}
    page = (site / "teams" / "platform" / "index.html").read_text(encoding="utf-8")
    assert (
        page.index('data-member="bob"')
        < page.index('data-member="alice"')
        < page.index('data-member="ghost"')
    )
    assert "not yet published" in page and "&lt;b&gt;Alice&lt;/b&gt;" in page and "<b>Alice" not in page
    assert 'href="../../bob/1_year/index.html"' in page
    assert 'href="2_years/index.html"' in page  # the period tabs
    two = (site / "teams" / "platform" / "2_years" / "index.html").read_text(encoding="utf-8")
    assert 'href="../../../alice/2_years/index.html"' in two and 'aria-current="page">2 years' in two
    index = (site / "index.html").read_text(encoding="utf-8")
    assert 'href="teams/platform/index.html"' in index and 'href="teams/web/index.html"' in index
    alice = (site / "alice" / "index.html").read_text(encoding="utf-8")
    assert 'href="../teams/platform/index.html">platform</a>' in alice
    assert 'href="../teams/web/index.html">web</a>' in alice
    alice_two = (site / "alice" / "2_years" / "index.html").read_text(encoding="utf-8")
    assert 'href="../../teams/platform/2_years/index.html"' in alice_two
    bob = (site / "bob" / "index.html").read_text(encoding="utf-8")
    assert "teams/web/" not in bob and teams_of("bob", teams) == ["platform"]


def test_no_teams_no_team_pages_and_a_removed_team_leaves_none_behind(tmp_path: Path) -> None:
    site = tmp_path / "site"
    publisher = Publisher(site)
    publisher.publish_user(user("alice", 1))
    assert publisher.publish_teams() == []
    assert not list((site / "teams").rglob("*.html"))  # rglob of a missing folder: nothing
    Publisher(site, teams={"old": ["alice"], "kept": ["alice"]}).publish_teams()
    assert (site / "teams" / "old" / "all_time" / "index.html").is_file()
    Publisher(site, teams={"kept": ["alice"]}).publish_teams()
    assert not (site / "teams" / "old").exists()
    assert (site / "teams" / "kept" / "all_time" / "index.html").is_file()
    Publisher(site).publish_teams()
    assert not list((site / "teams").rglob("*.html"))  # rglob of a missing folder: nothing
    assert "teams/" not in (site / "alice" / "index.html").read_text(encoding="utf-8")
