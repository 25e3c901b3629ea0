"""Teams (`GITBRAG_TEAMS`): parsed and checked at start, added up from the members' published
reports, one page per rolling period, linked from the index and each member's page; `org:NAME`
members are an organization's public members, listed from GitHub at every refresh pass."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from gitbrag.models import LOGIN_RE, PERIODS, LanguageShare, Profile, Report
from gitbrag.publish.publisher import IndexEntry, Publisher
from gitbrag.report.teams import (
    combined_languages,
    parse_teams,
    published_members,
    resolve_teams,
    team_report,
    teams_of,
)
from gitbrag.settings import ConfigError, load_settings
from tests.publish.test_publish import make_collection, make_pr, reports_for


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
        ("web=org:../x", "member #1 needs an organization name after org:"),
        ("web=dave,org:", "member #2 needs an organization name after org:"),
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
    from gitbrag.report.build import build_reports
    from tests.publish.test_publish import UNTIL

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


# --- org:NAME: an organization's public members ------------------------------------------


def test_org_members_are_parsed_and_kept_as_written() -> None:
    assert parse_teams("web=dave,org:Octo-Org, ORG:octo-org ,org:hubot-labs", LOGIN_RE) == {
        "web": ["dave", "org:Octo-Org", "org:hubot-labs"]  # an organization named twice counts once
    }
    assert load_settings(teams="web=org:octo-org").teams == {"web": ["org:octo-org"]}


def test_resolving_replaces_each_org_by_its_members_and_keeps_a_team_whose_org_is_unknown() -> None:
    configured = {"web": ["dave", "org:octo-org"], "all": ["org:Octo-Org", "org:hubot-labs"], "x": ["erin"]}
    members = {"octo-org": ["Mona-Lisa", "DAVE", "steady-sam"]}
    assert resolve_teams(configured, members) == {
        "web": ["dave", "Mona-Lisa", "steady-sam"],  # listed first, each person once
        "all": ["Mona-Lisa", "DAVE", "steady-sam"],  # hubot-labs never listed: nothing from it
        "x": ["erin"],
    }
    shown = {"all": ["mona-lisa", "zero-zoe"], "x": ["ghost"]}
    resolved = resolve_teams(configured, members, shown)
    assert resolved["all"] == ["Mona-Lisa", "DAVE", "steady-sam", "zero-zoe"]  # the page's members kept
    assert resolved["x"] == ["erin"]  # a team of logins only is what the setting says
    page = '<li data-member="mona-lisa"></li><li data-member="../etc"></li><li data-member="zoe">'
    assert published_members(page, LOGIN_RE) == ["mona-lisa", "zoe"]


def test_the_members_query_validates_against_githubs_schema() -> None:
    from gitbrag.github.orgs import PUBLIC_MEMBERS
    from tests.github.test_github_schema import errors_of

    assert errors_of(PUBLIC_MEMBERS) == []


def test_the_fake_lists_public_members_only_with_pagination_and_not_found() -> None:
    import json

    import httpx
    from openapi_schema_validator import OAS30Validator, oas30_format_checker

    from gitbrag.fakegithub.dataset import ORG_MEMBERS, add_member, build_dataset
    from gitbrag.fakegithub.server import FakeGitHubServer
    from gitbrag.github.orgs import PUBLIC_MEMBERS

    concealed = {login for members in ORG_MEMBERS.values() for login, public, _ in members if not public}
    assert {"hostile-hank", "dormant-dora", "huge-hugo", "private-priya"} <= concealed
    ds = build_dataset(extra_users=130)
    for n in range(1, 131):  # more public members than a page holds, and concealed ones between
        add_member(ds, "pixel-works", f"user-{n:04d}", public=n % 13 != 0)
    headers = {"Authorization": "bearer t"}
    with FakeGitHubServer(ds) as gh, httpx.Client(base_url=gh.url, headers=headers) as api:

        def page(org: str, after: str | None = None, size: int = 2) -> Any:
            variables = {"login": org, "after": after, "pageSize": size}
            return api.post("/graphql", json={"query": PUBLIC_MEMBERS, "variables": variables}).json()

        def members(org: str, after: str | None = None, size: int = 2) -> Any:
            return page(org, after, size)["data"]["organization"]["membersWithRole"]

        first = members("octo-org")
        assert first["totalCount"] == 3 and first["pageInfo"]["hasNextPage"]
        assert [n["login"] for n in first["nodes"]] == ["Mona-Lisa", "steady-sam"]
        rest = members("octo-org", first["pageInfo"]["endCursor"])
        assert [n["login"] for n in rest["nodes"]] == ["prolific-pat"] and not rest["pageInfo"]["hasNextPage"]
        assert members("priya-corp") == {
            "totalCount": 0,
            "pageInfo": {"hasNextPage": False, "endCursor": None},
            "nodes": [],
        }
        big = members("pixel-works", size=100)
        assert big["totalCount"] == 120 and len(big["nodes"]) == 100 and big["pageInfo"]["hasNextPage"]
        tail = members("pixel-works", big["pageInfo"]["endCursor"], 100)
        listed = [n["login"] for n in big["nodes"] + tail["nodes"]]
        assert listed == [f"user-{n:04d}" for n in range(1, 131) if n % 13]  # joining order, public only
        for missing in ("no-such-org", "Mona-Lisa"):  # a user is not an organization
            body = page(missing)
            assert body["data"]["organization"] is None
            [error] = body["errors"]
            assert error["type"] == "NOT_FOUND" and error["path"] == ["organization"]
        assert page("octo-org", size=101)["errors"][0]["type"] == "EXCESSIVE_PAGINATION"

        # REST's public members list, what gitbrag asks when its token is a member: the same
        # people, GitHub's Simple User objects, `Link` pagination, GitHub's 404.
        one = api.get("/orgs/pixel-works/public_members", params={"per_page": 100})
        assert one.status_code == 200 and 'rel="next"' in one.headers["link"]
        two = api.get(one.links["next"]["url"])
        assert [u["login"] for u in one.json() + two.json()] == listed and "next" not in two.links
        spec = json.loads(
            (Path(__file__).parents[1] / "data" / "github" / "rest-openapi-subset.json").read_text()
        )
        [simple_users, _] = spec["/repos/{owner}/{repo}/stargazers"]["application/json"]["schema"]["anyOf"]
        validator = OAS30Validator(simple_users, format_checker=oas30_format_checker)
        body = api.get("/orgs/octo-org/public_members").json()
        assert [u["login"] for u in body] == ["Mona-Lisa", "steady-sam", "prolific-pat"]
        assert [e.message for e in validator.iter_errors(body)] == []
        for missing in ("no-such-org", "Mona-Lisa"):
            gone = api.get(f"/orgs/{missing}/public_members")
            assert gone.status_code == 404 and gone.json()["message"] == "Not Found"
            assert gone.json()["documentation_url"].startswith("https://docs.github.com/rest/orgs/members")


async def test_the_client_pages_through_members_and_says_what_went_wrong() -> None:
    from gitbrag.fakegithub.dataset import add_member, build_dataset
    from gitbrag.fakegithub.graphql_api import VIEWER
    from gitbrag.fakegithub.records import FakeMembership
    from gitbrag.fakegithub.server import FakeGitHubServer
    from gitbrag.github.client import GitHubClient
    from gitbrag.github.errors import GitHubUnavailable, NotFound
    from gitbrag.github.orgs import PUBLIC_MEMBERS, OrgNotFound, OrgTooLarge, public_members

    ds = build_dataset()
    add_member(ds, "octo-org", "zero-zoe")
    add_member(ds, "octo-org", "steady-sam", public=False)  # concealed since
    with FakeGitHubServer(ds) as gh:

        async def no_wait(_: float) -> None:
            return None

        async with GitHubClient(
            ["t"], gh.url, gh.url + "/graphql", transient_attempts=2, sleep=no_wait
        ) as client:
            found = await public_members(client, "octo-org", page_size=1)
            assert found == ["Mona-Lisa", "prolific-pat", "zero-zoe"]
            assert sum(n for k, n in gh.app_state.stats.requests.items() if "graphql" in k) == 3
            with pytest.raises(OrgNotFound, match="'no-such-org' does not exist") as missing:
                await public_members(client, "no-such-org")
            assert isinstance(missing.value, NotFound)
            with pytest.raises(OrgTooLarge, match="3 public members, more than 2"):
                await public_members(client, "octo-org", limit=2)
            # To a member's token GraphQL lists concealed members too, without saying who is
            # which: gitbrag drops that page and asks REST's public members list instead.
            gh.dataset.org_members["octo-org"].append(FakeMembership(VIEWER.login, public=False))
            answer = await client.graphql(
                PUBLIC_MEMBERS, {"login": "octo-org", "after": None, "pageSize": 100}
            )
            seen = [n["login"] for n in answer["organization"]["membersWithRole"]["nodes"]]
            assert "steady-sam" in seen and "hostile-hank" in seen
            rest_before = gh.app_state.stats.requests.get("GET /orgs/{org}/public_members", 0)
            assert await public_members(client, "octo-org", page_size=2) == [
                "Mona-Lisa",
                "prolific-pat",
                "zero-zoe",
            ]
            assert gh.app_state.stats.requests["GET /orgs/{org}/public_members"] - rest_before == 2
            with pytest.raises(OrgTooLarge, match="at least 3 public members, more than 2"):
                await public_members(client, "octo-org", limit=2)
            assert await public_members(client, "hubot-labs") == ["prolific-pat", "zero-zoe"]  # not a member
            gh.app_state.faults.update({"error_rate": 1.0})
            with pytest.raises(GitHubUnavailable):
                await public_members(client, "octo-org")


@pytest.fixture
async def org_rig(tmp_path: Path) -> AsyncIterator[tuple[object, object]]:
    """A refresher with `web=org:octo-org` and `mixed=zero-zoe,org:hubot-labs` over the fake
    GitHub on its own dataset (memberships change in these tests), and that fake."""
    from gitbrag.coordination.sqlite import SQLiteStore
    from gitbrag.fakegithub.dataset import build_dataset
    from gitbrag.fakegithub.server import FakeGitHubServer
    from gitbrag.github.client import GitHubClient
    from gitbrag.refresh import Refresher

    teams = parse_teams("web=org:octo-org;mixed=zero-zoe,org:hubot-labs", LOGIN_RE)
    with FakeGitHubServer(build_dataset()) as gh:
        store = SQLiteStore(tmp_path / "state.sqlite3")

        async def no_wait(_: float) -> None:
            return None

        async with GitHubClient(
            ["t"], gh.url, gh.url + "/graphql", transient_attempts=1, sleep=no_wait
        ) as client:
            publisher = Publisher(tmp_path / "site", teams=teams)
            yield Refresher(store=store, client=client, publisher=publisher), gh
        await store.close()


def _members_on(site: Path, team: str, period: str = "") -> list[str]:
    page = site / "teams" / team / period / "index.html"
    return published_members(page.read_text(encoding="utf-8"), LOGIN_RE)


async def test_an_org_team_shows_exactly_its_public_members_and_follows_changes(
    org_rig: tuple[object, object], tmp_path: Path
) -> None:
    from gitbrag.fakegithub.server import FakeGitHubServer
    from gitbrag.refresh import Refresher

    refresher, gh = org_rig
    assert isinstance(refresher, Refresher) and isinstance(gh, FakeGitHubServer)
    site = tmp_path / "site"
    result = await refresher.run_pass()
    assert result.failed == 0
    web = _members_on(site, "web")
    assert sorted(web) == ["mona-lisa", "prolific-pat", "steady-sam"]  # ranked by merged PRs
    assert "not yet published" not in (site / "teams" / "web" / "index.html").read_text(encoding="utf-8")
    assert sorted(_members_on(site, "mixed", "all_time")) == ["prolific-pat", "zero-zoe"]
    tracked = {u.login for u in await refresher.store.tracked()}
    assert tracked == {"mona-lisa", "prolific-pat", "steady-sam", "zero-zoe"}
    team_pages = "".join(p.read_text("utf-8", "replace") for p in (site / "teams").rglob("*.html"))
    for concealed in ("dormant-dora", "huge-hugo", "hostile-hank"):  # never listed, tracked nor shown
        assert concealed not in team_pages and concealed not in tracked
        assert not (site / concealed).exists()
    mona = (site / "mona-lisa" / "index.html").read_text(encoding="utf-8")
    assert 'href="../teams/web/index.html">web</a>' in mona

    # Steady Sam leaves, Mona Lisa conceals her membership, Hostile Hank publicizes his.
    gh.app_state.remove_member("octo-org", "steady-sam")
    gh.app_state.add_member("octo-org", "Mona-Lisa", public=False)
    gh.app_state.add_member("octo-org", "hostile-hank", public=True)
    assert (await refresher.run_pass()).failed == 0
    assert sorted(_members_on(site, "web")) == ["hostile-hank", "prolific-pat"]
    assert sorted(_members_on(site, "web", "2_years")) == ["hostile-hank", "prolific-pat"]
    assert (site / "hostile-hank" / "1_year" / "report.json").is_file()  # a new member is refreshed at once
    assert "hostile-hank" in {u.login for u in await refresher.store.tracked()}


async def test_when_github_cannot_list_members_the_team_keeps_them_and_says_so_once(
    org_rig: tuple[object, object], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from gitbrag.fakegithub.server import FakeGitHubServer
    from gitbrag.refresh import Refresher

    refresher, gh = org_rig
    assert isinstance(refresher, Refresher) and isinstance(gh, FakeGitHubServer)
    site = tmp_path / "site"
    await refresher.run_pass()
    before = _members_on(site, "web")
    assert len(before) == 3

    gh.app_state.faults.update({"error_rate": 1.0})
    caplog.set_level(logging.INFO, logger="gitbrag.refresh")
    for _ in range(2):
        await refresher.run_pass()
        assert _members_on(site, "web") == before  # not emptied
        assert sorted(_members_on(site, "mixed")) == ["prolific-pat", "zero-zoe"]
    warned = [r for r in caplog.records if "organization members not listed" in r.getMessage()]
    assert sorted(getattr(r, "org", None) for r in warned) == ["hubot-labs", "octo-org"]  # once each

    # A new process (cron's next run) that cannot list them either keeps what the page shows.
    again = Refresher(store=refresher.store, client=refresher.client,
                      publisher=Publisher(site, teams=refresher.teams))  # fmt: skip
    assert sorted(again.publisher.teams["web"]) == sorted(before)
    await again.resolve_teams()
    assert sorted(m.lower() for m in again.publisher.teams["web"]) == sorted(before)

    gh.app_state.faults.update({"error_rate": 0.0})
    caplog.clear()
    await refresher.run_pass()
    assert _members_on(site, "web") == before
    assert [getattr(r, "org", None) for r in caplog.records if "listed again" in r.getMessage()] == [
        "octo-org",
        "hubot-labs",
    ]


# --- pages that cost what changed (issue 29) ---------------------------------------------------


def _team_pages(site: Path) -> dict[str, bytes]:
    return {p.relative_to(site).as_posix(): p.read_bytes() for p in sorted((site / "teams").rglob("*.html"))}


def _pages_of(*names: str) -> set[str]:
    fronts = {f"teams/{t}/index.html" for t in names}
    return fronts | {f"teams/{t}/{p}/index.html" for t in names for p in PERIODS}


def _rendered(publisher: Publisher, refreshed: list[str] | None = None) -> set[str]:
    """The team pages `publish_teams` rendered, and checks it wrote or kept nothing else but its record."""
    before = publisher.files_written + publisher.files_unchanged
    pages = {p.relative_to(publisher.site_dir).as_posix() for p in publisher.publish_teams(refreshed)}
    record = 1  # teams/rendered.json
    assert publisher.files_written + publisher.files_unchanged - before == len(pages) + record
    return pages


def _full_rebuild(site: Path, teams: dict[str, list[str]], tmp_path: Path) -> dict[str, bytes]:
    """The team pages a publisher rendering every team from the site's reports makes."""
    import shutil

    copy = tmp_path / "rebuilt"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(site, copy, symlinks=True)
    for summary in copy.glob("*/team-summary.json"):
        summary.unlink()  # from the report.json files themselves, as before the summaries
    shutil.rmtree(copy / "teams")
    Publisher(copy, teams=teams).publish_teams()
    return _team_pages(copy)


def test_a_refresh_renders_only_its_users_teams_and_they_equal_a_full_rebuild(tmp_path: Path) -> None:
    site = tmp_path / "site"
    teams = {"a": ["alice", "Bob"], "b": ["carol", "dave"], "c": ["erin", "alice", "ghost"]}
    first = Publisher(site, teams=teams)
    for login, merged in (("alice", 2), ("Bob", 3), ("carol", 1), ("dave", 4), ("erin", 2)):
        first.publish_user(user(login, merged))
    assert _rendered(first) == _pages_of("a", "b", "c")
    b_before = {k: v for k, v in _team_pages(site).items() if k.startswith("teams/b/")}

    # Another process (the next cron run) refreshes alice: her teams only, from the summaries.
    again = Publisher(site, teams=teams)
    again.publish_user(user("alice", 6, open_=1))
    assert _rendered(again, []) == _pages_of("a", "c")
    assert _rendered(again, []) == set()  # nothing published since, nothing changed: nothing rendered
    pages = _team_pages(site)
    assert pages == _full_rebuild(site, teams, tmp_path)
    assert {k: v for k, v in pages.items() if k.startswith("teams/b/")} == b_before
    assert 'data-member="alice"' in pages["teams/a/index.html"].decode()
    assert "10 pull requests by 2 people" in pages["teams/a/index.html"].decode()  # 7 of alice's, 3 of Bob's

    # Named as refreshed (by another publisher of the same site): its teams too.
    assert _rendered(Publisher(site, teams=teams), ["DAVE"]) == _pages_of("b")


def test_changed_membership_renders_that_team_and_a_removed_team_is_gone(tmp_path: Path) -> None:
    site = tmp_path / "site"
    teams = {"a": ["alice", "bob"], "b": ["carol"], "c": ["alice"]}
    publisher = Publisher(site, teams=teams)
    for login in ("alice", "bob", "carol", "dave"):
        publisher.publish_user(user(login, 2))
    publisher.publish_teams()

    edited = {"a": ["alice"], "b": ["carol", "dave", "newbie"]}  # bob removed, dave and newbie added, c gone
    publisher = Publisher(site, teams=edited)
    assert _rendered(publisher, []) == _pages_of("a", "b")
    assert not (site / "teams" / "c").exists()
    assert published_members((site / "teams" / "a" / "index.html").read_text("utf-8"), LOGIN_RE) == ["alice"]
    b = (site / "teams" / "b" / "2_years" / "index.html").read_text("utf-8")
    assert published_members(b, LOGIN_RE) == ["carol", "dave", "newbie"] and "not yet published" in b
    assert _team_pages(site) == _full_rebuild(site, edited, tmp_path)

    # The member with no report publishes one: its team is rendered with it.
    publisher.publish_user(user("newbie", 5))
    assert _rendered(publisher, []) == _pages_of("b")
    b = (site / "teams" / "b" / "index.html").read_text("utf-8")
    assert "not yet published" not in b and published_members(b, LOGIN_RE)[0] == "newbie"
    assert _team_pages(site) == _full_rebuild(site, edited, tmp_path)


def test_a_summary_not_of_the_last_whole_publish_is_not_trusted(tmp_path: Path) -> None:
    """A publish cut short after its summaries (written first) leaves them ahead of
    generated.json: team pages add up the report.json files then; a summary that is missing,
    unreadable or behind a link, the same. An unchanged publish leaves the summary as it is."""
    import json

    site = tmp_path / "site"
    teams = {"a": ["alice", "bob"]}
    publisher = Publisher(site, teams=teams)
    publisher.publish_user(user("alice", 2))
    publisher.publish_user(user("bob", 3))
    publisher.publish_teams()
    expected = _team_pages(site)
    summary = site / "alice" / "team-summary.json"
    written = summary.stat()
    publisher.publish_user(user("alice", 2))
    assert (summary.stat().st_ino, summary.stat().st_mtime_ns) == (written.st_ino, written.st_mtime_ns)

    data = json.loads(summary.read_text("utf-8"))
    keys = dict(data["inputs"])
    data["inputs"] = {period: "a publish cut short" for period in keys}
    for period in data["periods"].values():
        period["total_prs"] = 1000
    summary.write_text(json.dumps(data), "utf-8")
    assert _rendered(Publisher(site, teams=teams), None) and _team_pages(site) == expected
    data["inputs"] = keys  # trusted: what the summary says is what the page adds up
    summary.write_text(json.dumps(data), "utf-8")
    Publisher(site, teams=teams).publish_teams()
    assert "1,003 pull requests" in (site / "teams" / "a" / "index.html").read_text("utf-8")
    for planted in ("not json", None):
        summary.unlink()
        if planted is None:
            summary.symlink_to(tmp_path / "elsewhere.json")
        else:
            summary.write_text(planted, "utf-8")
        Publisher(site, teams=teams).publish_teams()
        assert _team_pages(site) == expected


def test_a_user_in_no_team_has_no_summary(tmp_path: Path) -> None:
    site = tmp_path / "site"
    Publisher(site, teams={"a": ["alice"]}).publish_user(user("alice", 1))
    assert (site / "alice" / "team-summary.json").is_file()
    Publisher(site, teams={"a": ["bob"]}).publish_user(user("alice", 1))
    assert not (site / "alice" / "team-summary.json").exists()


async def test_a_pass_refreshing_one_user_renders_only_that_users_teams(
    org_rig: tuple[object, object], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from gitbrag.refresh import Refresher

    refresher, _ = org_rig
    assert isinstance(refresher, Refresher)
    site = tmp_path / "site"
    await refresher.run_pass()
    web = (site / "teams" / "web" / "index.html").stat()
    caplog.set_level(logging.INFO, logger="gitbrag.publish.publisher")
    assert (await refresher.run_pass(refresh=["zero-zoe"])).refreshed == len(PERIODS)
    [line] = [r for r in caplog.records if r.getMessage() == "team pages published"]
    assert (getattr(line, "teams", None), getattr(line, "of", None)) == (1, 2)  # "mixed" only
    assert (site / "teams" / "web" / "index.html").stat().st_mtime_ns == web.st_mtime_ns


def test_untracking_a_member_renders_its_teams_without_it(tmp_path: Path) -> None:
    from gitbrag.doors.users import _unpublish
    from gitbrag.models import Login

    site = tmp_path / "site"
    settings = load_settings(teams="core=alice,bob;other=carol")
    publisher = Publisher(site, teams=settings.teams)
    for login in ("alice", "bob", "carol"):
        publisher.publish_user(user(login, 2))
    publisher.publish_teams()

    untracking = Publisher(site, teams=settings.teams)
    _unpublish(untracking, settings, [Login("bob")], [Login("alice"), Login("carol")], {})
    assert not (site / "bob").exists()
    assert published_members((site / "teams" / "core" / "index.html").read_text("utf-8"), LOGIN_RE) == [
        "alice"
    ]
    rendered = untracking.files_written + untracking.files_unchanged
    # The index (its page and search.json), core's pages and teams/rendered.json: not "other"'s.
    assert rendered == 2 + len(_pages_of("core")) + 1
    assert _team_pages(site) == _full_rebuild(site, {"core": ["alice"], "other": ["carol"]}, tmp_path)
