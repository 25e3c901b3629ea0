"""Publishing: the site layout, escaping of everything from GitHub, and atomic writes."""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
import time
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree

import pytest

from gitbrag.models import (
    PERIODS,
    ChangedFile,
    Collection,
    Period,
    Profile,
    PullRequest,
    Report,
    Repository,
    SocialAccount,
    StarHistory,
)
from gitbrag.publish.publisher import IndexEntry, Publisher
from gitbrag.publish.safepath import atomic_write
from gitbrag.report.build import build_reports

UNTIL = datetime(2025, 3, 12, 9, 30, tzinfo=UTC)
GENERATED = UNTIL + timedelta(seconds=42)

SCRIPT_TITLE = '<script>alert("pwned")</script> Fix 🐛 in "parser" & co'
HOSTILE_BIO = "<img src=x onerror=alert(1)> loves 🦀"
HOSTILE_NAME = '"><svg onload=alert(2)>'


class _Links(HTMLParser):
    """Collects every href/src of a page, and the text, for checks a browser would make."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value for name, value in attrs if name in ("href", "src") and value is not None]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(path: Path) -> _Links:
    parser = _Links()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def make_pr(number: int, title: str, url: str, days_ago: int, merged: bool = True) -> PullRequest:
    created = UNTIL - timedelta(days=days_ago)
    return PullRequest(
        repo="octo/hello-world",
        number=number,
        title=title,
        url=url,
        state="MERGED" if merged else "OPEN",
        created_at=created,
        updated_at=created,
        merged_at=created + timedelta(hours=3) if merged else None,
        closed_at=created + timedelta(hours=3) if merged else None,
        additions=120,
        deletions=30,
        changed_files=2,
        author_association="MEMBER",
        files=[
            ChangedFile(path="src/app.py", additions=100, deletions=30),
            ChangedFile(path="README.md", additions=20, deletions=0),
        ],
    )


def make_collection(
    login: str = "OctoCat",
    *,
    prs: list[PullRequest] | None = None,
    profile: Profile | None = None,
    incomplete: bool = False,
) -> Collection:
    if prs is None:
        prs = [
            make_pr(1, "Add the thing", "https://github.com/octo/hello-world/pull/1", 10),
            make_pr(2, "Old work", "https://github.com/octo/hello-world/pull/2", 1000, merged=False),
        ]
    return Collection(
        login=login,
        profile=profile or Profile(login=login, name="Octo Cat", avatar_url="https://avatars.example/u/1"),
        pull_requests=prs,
        repositories={
            "octo/hello-world": Repository(
                name_with_owner="octo/hello-world",
                url="https://github.com/octo/hello-world",
                description="My first <b>repository</b>",
                stargazer_count=1500,
            )
        },
        stars={
            "octo/hello-world": StarHistory(
                repo="octo/hello-world",
                since=datetime(2008, 1, 1, tzinfo=UTC),
                starred_at=[UNTIL - timedelta(days=d) for d in range(1, 1500)],
            )
        },
        collected_at=UNTIL,
        incomplete_results=incomplete,
    )


def reports_for(collection: Collection) -> dict[Period, Report]:
    return build_reports(collection, until=UNTIL, generated_at=GENERATED)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return tmp_path / "site"


@pytest.fixture
def publisher(site: Path) -> Publisher:
    return Publisher(site)


def publish_all(publisher: Publisher, collection: Collection | None = None) -> dict[Period, Report]:
    reports = reports_for(collection or make_collection())
    publisher.publish_user(reports)
    publisher.publish_index([IndexEntry.from_report(reports["1_year"])])
    publisher.publish_static()
    return reports


# --- layout -------------------------------------------------------------------------


def test_files_land_at_the_contract_paths(publisher: Publisher, site: Path) -> None:
    reports = reports_for(make_collection())
    written = publisher.publish_user(reports)
    assert list(reports)[: len(PERIODS)] == list(PERIODS)  # then the calendar years with activity
    names = ("report.json", "brag.md", "index.html")
    expected = [site / "octocat" / p / name for p in reports for name in names]
    expected += [site / "octocat" / name for name in ("index.html", "feed.xml", "generated.json")]
    # The sharing files (issue 15): both cards per period, the front cards, and (issue 29) the
    # user's one social image.
    sharing = ("card.svg", "card-dark.svg")
    expected += [site / "octocat" / p / name for p in reports for name in sharing]
    expected += [site / "octocat" / name for name in (*sharing, "social.png")]
    # GitHub spells the login "OctoCat": redirect pages at that spelling lead to octocat/.
    expected += [site / "OctoCat" / "index.html", *(site / "OctoCat" / p / "index.html" for p in reports)]
    assert sorted(written) == sorted(expected)
    publisher.publish_index([IndexEntry.from_report(reports["1_year"])])
    publisher.publish_static()
    for path in [*written, site / "index.html", site / "404.html", site / "robots.txt"]:
        assert path.is_file(), path
        assert path.stat().st_mode & 0o777 == 0o644
    assert len(list((site / "assets").glob("style.*.css"))) == 1
    assert len(list((site / "assets").glob("site.*.js"))) == 1
    assert not (site / "sitemap.xml").exists()  # no base URL, no absolute URLs to list


def test_report_json_reads_back_as_the_same_report(publisher: Publisher, site: Path) -> None:
    reports = publish_all(publisher)
    for period, report in reports.items():
        raw = (site / "octocat" / period / "report.json").read_text(encoding="utf-8")
        assert Report.model_validate_json(raw) == report
        assert publisher.read_report("OctoCat", period) == report
        fields = json.loads(raw)
        assert fields["username"] == "OctoCat" and fields["period"] == period
        assert {"total_prs", "merged_count", "open_count", "repo_count", "total_star_increase"} <= set(fields)
        assert "prs" in fields["repositories"][0]
    assert publisher.read_report("nobody", "1_year") is None


def test_every_relative_link_resolves_to_a_published_file(publisher: Publisher, site: Path) -> None:
    reports = publish_all(publisher)
    pages = [p for p in site.rglob("*.html") if p.name != "404.html"]
    # index, user front page, every period (rolling and years), and their redirects at "OctoCat/"
    assert len(pages) == 2 + len(reports) + 1 + len(reports)
    for page in pages:
        assert_links_resolve(site, page)


def assert_links_resolve(site: Path, page: Path) -> None:
    if True:
        for url in parse(page).urls:
            if url.startswith(("http://", "https://", "#")):
                continue
            target = (page.parent / url).resolve()
            assert target.is_file(), f"{page.relative_to(site)} links to missing {url}"


def test_user_front_page_is_the_one_year_report(publisher: Publisher, site: Path) -> None:
    publish_all(publisher)
    front = (site / "octocat" / "index.html").read_text(encoding="utf-8")
    period_page = (site / "octocat" / "1_year" / "index.html").read_text(encoding="utf-8")
    assert '<a href="1_year/index.html" aria-current="page">1 year</a>' in front
    assert '<a href="../1_year/index.html" aria-current="page">1 year</a>' in period_page
    assert '<a href="../all_time/index.html">All time</a>' in period_page
    # Same content, only the links differ.
    assert (
        parse(site / "octocat" / "index.html").text == parse(site / "octocat" / "1_year" / "index.html").text
    )


def test_report_page_shows_the_numbers_and_when_it_was_generated(publisher: Publisher, site: Path) -> None:
    publish_all(publisher)
    page = (site / "octocat" / "1_year" / "index.html").read_text(encoding="utf-8")
    text = " ".join(" ".join(parse(site / "octocat" / "1_year" / "index.html").text).split())
    # The day only: the exact time is in generated.json, so a day's refreshes leave the page as it is.
    assert 'Generated <time datetime="2025-03-12">12 Mar 2025</time> by gitbrag' in page
    assert "Generated 12 Mar 2025 by gitbrag" in text and "09:30" not in text
    assert "Add the thing #1" in text and "Old work" not in text  # only the 1-year PR
    assert "1,500 stars" in text and "Member" in text and "Medium" in text
    assert 'href="https://github.com/octo/hello-world/pull/1"' in page
    all_time = " ".join(parse(site / "octocat" / "all_time" / "index.html").text)
    assert "Old work" in all_time


def test_hostile_strings_from_github_are_shown_as_text(publisher: Publisher, site: Path) -> None:
    profile = Profile(
        login="OctoCat",
        name=HOSTILE_NAME,
        bio=HOSTILE_BIO,
        company="<b>ACME</b>",
        blog="javascript:alert(document.cookie)",
        avatar_url="javascript:alert(3)",
        html_url="https://github.com/OctoCat",
        social_accounts=[
            SocialAccount(provider="generic", url="JavaScript:alert(4)"),
            SocialAccount(provider="mastodon", url="https://mastodon.social/@octo"),
        ],
    )
    prs = [make_pr(1, SCRIPT_TITLE, "javascript:alert(5)", 3)]
    publish_all(publisher, make_collection(profile=profile, prs=prs))
    for page in [
        site / "octocat" / "index.html",
        site / "octocat" / "1_year" / "index.html",
        site / "index.html",
    ]:
        html = page.read_text(encoding="utf-8")
        links = parse(page)
        for raw in (SCRIPT_TITLE, HOSTILE_BIO, HOSTILE_NAME, "<script>", "<img src=x", "<svg onload", "<b>"):
            assert raw not in html, f"{raw!r} unescaped in {page}"
        # Every link is either http(s) or relative: no javascript: (in any case) survives.
        assert all(u.startswith(("http://", "https://")) or ":" not in u for u in links.urls), links.urls
        assert HOSTILE_NAME in "".join(links.text)  # shown, as text
    report_page = site / "octocat" / "1_year" / "index.html"
    text = "".join(parse(report_page).text)
    assert SCRIPT_TITLE in text and HOSTILE_BIO in text and "<b>ACME</b>" in text
    assert "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;" in report_page.read_text(encoding="utf-8")
    assert "https://mastodon.social/@octo" in parse(report_page).urls


def test_blog_without_scheme_becomes_an_https_link(publisher: Publisher, site: Path) -> None:
    profile = Profile(login="OctoCat", blog="octo.example/blog")
    publish_all(publisher, make_collection(profile=profile))
    assert "https://octo.example/blog" in parse(site / "octocat" / "1_year" / "index.html").urls


def test_notices_for_updating_incomplete_and_empty_reports(publisher: Publisher, site: Path) -> None:
    reports = reports_for(make_collection(prs=[], incomplete=True))
    publisher.publish_user(reports, updating=True)
    text = " ".join(" ".join(parse(site / "octocat" / "1_year" / "index.html").text).split())
    # "Updating" is generated.json's flag, which the page's script shows (gitbrag.publish.freshness).
    assert json.loads((site / "octocat" / "generated.json").read_bytes())["updating"] is True
    assert "GitHub reported incomplete search results" in text
    assert "No pull requests in this period" in text
    publisher.publish_user(reports_for(make_collection()))
    text = " ".join(parse(site / "octocat" / "1_year" / "index.html").text)
    assert json.loads((site / "octocat" / "generated.json").read_bytes())["updating"] is False
    assert "incomplete" not in text


@pytest.mark.parametrize(
    "login", ["../etc", "a/b", "-dash", "dash-", "a--b", "x" * 40, "", "dot.name", "a\\b"]
)
def test_invalid_logins_are_refused(publisher: Publisher, site: Path, login: str) -> None:
    reports = reports_for(make_collection())
    bad = {p: r.model_copy(update={"username": login}) for p, r in reports.items()}
    with pytest.raises(ValueError):
        publisher.publish_user(bad)
    with pytest.raises(ValueError):
        publisher.read_report(login, "1_year")
    assert not site.exists() or not any(site.rglob("*"))


def test_index_lists_users_sorted_with_links_and_has_an_empty_state(publisher: Publisher, site: Path) -> None:
    publisher.publish_index([])
    assert "No reports yet" in " ".join(parse(site / "index.html").text)
    entries = [
        IndexEntry.from_report(reports_for(make_collection(login))["1_year"])
        for login in ("zed", "Alice", "bob")
    ]
    publisher.publish_index(entries)
    index = parse(site / "index.html")
    profile_links = [u for u in index.urls if u.endswith("/index.html") and not u.startswith("http")]
    assert profile_links == ["alice/index.html", "bob/index.html", "zed/index.html"]
    text = " ".join(" ".join(index.text).split())
    # Name, login, PRs, merged, the sparkline's numbers (its title), last update.
    found = re.search(r"Octo Cat @Alice 1 1 Pull requests opened per month, [^@]*: (0, )*1 12 Mar 2025", text)
    assert found, text


def test_template_override_directory_wins_and_inherits_the_rest(site: Path, tmp_path: Path) -> None:
    custom = tmp_path / "custom"
    custom.mkdir()
    (custom / "404.html").write_text("{% extends 'base.html' %}{% block content %}Custom lost{% endblock %}")
    Publisher(site, templates_dir=custom).publish_static()
    page = (site / "404.html").read_text(encoding="utf-8")
    assert "Custom lost" in page and "gitbrag" in page  # the default base.html still applies


def test_base_url_gives_canonical_links_and_an_absolute_404(site: Path) -> None:
    publisher = Publisher(site, base_url="https://brag.example.org/reports")
    publish_all(publisher)
    page = (site / "octocat" / "2_years" / "index.html").read_text(encoding="utf-8")
    assert '<link rel="canonical" href="https://brag.example.org/reports/octocat/2_years/">' in page
    assert "https://brag.example.org/reports/index.html" in parse(site / "404.html").urls


# --- page weight: big reports stay small, and every pull request stays reachable ---------------


def big_collection(repos: int, prs_per_repo: int) -> Collection:
    """A prolific user: long titles and descriptions, so the page-weight numbers are honest."""
    prs, repositories = [], {}
    for r in range(repos):
        name = f"some-organisation-{r}/a-fairly-long-repository-name-{r}"
        repositories[name] = Repository(
            name_with_owner=name,
            url=f"https://github.com/{name}",
            description="A description of this repository, as long as many are on GitHub. " * 3,
            stargazer_count=1000 + r,
        )
        for n in range(prs_per_repo):
            title = f"Bump dependency-with-a-long-name from 1.{n}.0 to 2.{n}.1 in /packages/frontend ({r})"
            pr = make_pr(n + 1, title, f"https://github.com/{name}/pull/{n + 1}", 1 + (n * 7 + r) % 360)
            prs.append(pr.model_copy(update={"repo": name}))
    return Collection(
        login="prolific",
        profile=Profile(login="prolific", name="Pro Lific", avatar_url="https://avatars.example/u/2"),
        pull_requests=prs,
        repositories=repositories,
        stars={},
        collected_at=UNTIL,
    )


def reachable_pr_links(site: Path, start: Path) -> set[str]:
    """GitHub PR links on `start` and on every site page reachable from it by relative links,
    without leaving the user's folder for this period."""
    seen_pages, links, todo = set(), set(), [start.resolve()]
    while todo:
        page = todo.pop()
        if page in seen_pages:
            continue
        seen_pages.add(page)
        for url in parse(page).urls:
            if "/pull/" in url:
                links.add(url)
            elif not url.startswith(("http", "#")):
                target = (page.parent / url.partition("#")[0]).resolve()
                if target.is_file() and start.parent in target.parents:
                    todo.append(target)
    return links


@pytest.mark.parametrize(("repos", "per_repo"), [(1, 500), (500, 1), (25, 20), (10, 160), (45, 120)])
def test_big_reports_stay_under_300_kb_and_every_pr_is_reachable(
    publisher: Publisher, site: Path, repos: int, per_repo: int
) -> None:
    reports = reports_for(big_collection(repos, per_repo))
    publisher.publish_user(reports)
    report = reports["1_year"]
    page = site / "prolific" / "1_year" / "index.html"
    pages = list((site / "prolific").rglob("*.html"))
    for html in pages:
        assert html.stat().st_size < 300_000, (html, html.stat().st_size)
    # The headline numbers are the report's, whatever the page shows of the list.
    text = " ".join(" ".join(parse(page).text).split())
    assert f"Pull requests {report.total_prs:,} Merged {report.merged_count:,}" in text
    expected = {pr.url for repo in report.repositories for pr in repo.prs}
    assert reachable_pr_links(site, page) == expected


def test_row_cap_shares_the_budget_fairly() -> None:
    from gitbrag.publish.pages import row_cap

    assert row_cap([3, 5, 400], 100) == 92  # small repositories show all, the big one the rest
    assert row_cap([200, 200], 100) == 50
    assert row_cap([1] * 500, 100) == 1  # every card shows at least its newest PR
    assert row_cap([], 100) == 1


def test_repository_pages_that_are_no_longer_needed_are_removed(publisher: Publisher, site: Path) -> None:
    publisher.publish_user(reports_for(big_collection(1, 300)))
    repo_pages = site / "prolific" / "1_year" / "repos"
    assert list(repo_pages.rglob("index.html"))
    small = reports_for(big_collection(1, 3))
    publisher.publish_user(
        {p: r.model_copy(update={"generated_at": GENERATED + timedelta(1)}) for p, r in small.items()}
    )
    assert not repo_pages.exists() or not list(repo_pages.rglob("*.html"))


# --- feeds, sitemap, social previews, freshness ------------------------------------------------------


ATOM = "{http://www.w3.org/2005/Atom}"


def test_atom_feed_lists_recent_merges_newest_first(publisher: Publisher, site: Path) -> None:
    prs = [
        make_pr(1, "Older merge", "https://github.com/octo/hello-world/pull/1", 40),
        make_pr(2, SCRIPT_TITLE + "\x07", "https://github.com/octo/hello-world/pull/2", 5),
        make_pr(3, "Still open", "https://github.com/octo/hello-world/pull/3", 2, merged=False),
        make_pr(4, "Ancient", "javascript:alert(1)", 3000),
    ]
    publish_all(publisher, make_collection(prs=prs))
    feed = ElementTree.parse(site / "octocat" / "feed.xml").getroot()
    entries = feed.findall(f"{ATOM}entry")
    titles = [e.findtext(f"{ATOM}title") for e in entries]
    assert titles == [
        f"octo/hello-world#2: {SCRIPT_TITLE}",  # the control character is gone, the rest is text
        "octo/hello-world#1: Older merge",
        "octo/hello-world#4: Ancient",  # from the all-time report
    ]
    assert entries[2].find(f"{ATOM}link") is None  # no javascript: link
    assert entries[0].find(f"{ATOM}link").get("href") == "https://github.com/octo/hello-world/pull/2"
    assert feed.findtext(f"{ATOM}updated") == (UNTIL - timedelta(days=5, hours=-3)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    page = (site / "octocat" / "2_years" / "index.html").read_text(encoding="utf-8")
    assert '<link rel="alternate" type="application/atom+xml" href="../feed.xml"' in page


def test_with_a_base_url_there_is_a_sitemap_and_absolute_social_tags(site: Path) -> None:
    publisher = Publisher(site, base_url="https://brag.example.org/reports")
    reports = publish_all(publisher)
    # An index of urlsets (tests/publish/test_sitemap.py), here one: a single user.
    ns = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
    base = "https://brag.example.org/reports/"
    index = ElementTree.parse(site / "sitemap.xml").getroot()
    assert [s.findtext(f"{ns}loc") for s in index.findall(f"{ns}sitemap")] == [base + "sitemap-1.xml"]
    urlset = ElementTree.parse(site / "sitemap-1.xml").getroot()
    locs = [u.findtext(f"{ns}loc") for u in urlset.findall(f"{ns}url")]
    assert locs == [base, base + "octocat/", *(f"{base}octocat/{p}/" for p in list(reports)[1:])]
    assert (site / "robots.txt").read_text() == f"User-agent: *\nAllow: /\n\nSitemap: {base}sitemap.xml\n"
    front = (site / "octocat" / "index.html").read_text(encoding="utf-8")
    one_year = (site / "octocat" / "1_year" / "index.html").read_text(encoding="utf-8")
    for page in (front, one_year):  # the 1-year report has two addresses; one is canonical
        assert f'<link rel="canonical" href="{base}octocat/">' in page
        assert f'<meta property="og:url" content="{base}octocat/">' in page
    assert '<meta property="og:title" content="Octo Cat (@OctoCat) · 1 year">' in front
    # The social image with the numbers (issue 15), no longer the avatar.
    assert f'<meta property="og:image" content="{base}octocat/social.png">' in front
    assert '<meta name="twitter:card" content="summary_large_image">' in front
    description = "1 pull request (1 merged, 0 open) to 1 repository in the past year: +120 −30 lines."
    assert f'<meta property="og:description" content="{description}">' in front
    assert f'<meta name="description" content="{description}">' in front
    feed = ElementTree.parse(site / "octocat" / "feed.xml").getroot()
    assert feed.findtext(f"{ATOM}id") == base + "octocat/feed.xml"


def test_without_a_base_url_no_sitemap_and_no_absolute_guesses(publisher: Publisher, site: Path) -> None:
    (site).mkdir(parents=True)
    (site / "sitemap.xml").write_text("stale")  # from a time the site had another address
    (site / "sitemap-1.xml").write_text("stale")
    publish_all(publisher)
    assert not (site / "sitemap.xml").exists() and not (site / "sitemap-1.xml").exists()
    assert (site / "robots.txt").read_text() == "User-agent: *\nAllow: /\n"
    front = (site / "octocat" / "index.html").read_text(encoding="utf-8")
    assert "canonical" not in front and "og:url" not in front
    assert '<meta property="og:title"' in front  # previews still work, from the page's own URL


def test_unsafe_avatar_urls_never_become_images_or_previews(publisher: Publisher, site: Path) -> None:
    profile = Profile(login="OctoCat", name="Octo Cat", avatar_url="javascript:alert(1)")
    publish_all(publisher, make_collection(profile=profile))
    front = (site / "octocat" / "index.html").read_text(encoding="utf-8")
    # The preview is the social image drawn here (issue 15); the avatar is never an image.
    assert "javascript:" not in front and 'alt="Avatar of' not in front
    assert '<meta property="og:image" content="social.png">' in front
    assert '<span class="avatar-initials" aria-hidden="true">OC</span>' in front


def test_avatars_have_fixed_size_alt_text_and_an_initials_fallback(publisher: Publisher, site: Path) -> None:
    publish_all(publisher)
    front = (site / "octocat" / "index.html").read_text(encoding="utf-8")
    assert (
        '<img src="https://avatars.example/u/1" alt="Avatar of Octo Cat" width="96" height="96" '
        'data-initials="OC" decoding="async" referrerpolicy="no-referrer">'
    ) in front
    index = (site / "index.html").read_text(encoding="utf-8")
    assert 'width="40" height="40"' in index and 'loading="lazy"' in index


def test_refresh_button_only_with_the_hooks_public_url(site: Path) -> None:
    publish_all(Publisher(site))
    assert "data-refresh-url" not in (site / "octocat" / "index.html").read_text(encoding="utf-8")
    publish_all(Publisher(site, hook_public_url="javascript:alert(1)"))
    assert "data-refresh-url" not in (site / "octocat" / "index.html").read_text(encoding="utf-8")
    publish_all(Publisher(site, hook_public_url="https://hook.example.org/gitbrag/"))
    page = (site / "octocat" / "2_years" / "index.html").read_text(encoding="utf-8")
    assert 'data-refresh-url="https://hook.example.org/gitbrag/refresh/OctoCat?period=2_years" hidden' in page
    assert '<button type="button" class="button">Refresh now</button>' in page


def test_stale_notice_is_left_to_the_script_with_the_generation_time_and_stale_age(site: Path) -> None:
    reports = publish_all(Publisher(site, stale_after_seconds=3600))
    page = (site / "octocat" / "index.html").read_text(encoding="utf-8")
    assert (
        '<p class="stale" data-stale-notice data-generated-on="2025-03-12" data-freshness="generated.json" '
        'data-period="1_year" data-stale-after="3600" title="Generated 12 Mar 2025" hidden>'
    ) in page
    period_page = (site / "octocat" / "2_years" / "index.html").read_text(encoding="utf-8")
    assert 'data-freshness="../generated.json" data-period="2_years"' in period_page
    times = json.loads((site / "octocat" / "generated.json").read_text(encoding="utf-8"))
    del times["pages"]  # the publisher's record of what it rendered (tests/publish/test_unchanged_publish.py)
    del times["settings"]  # and of the settings the pages were made with (issue 27)
    assert times.pop("index")["login"] == "OctoCat"  # the user's index row (issue 29)
    assert times == dict.fromkeys(reports, "2025-03-12T09:30:42+00:00") | {"updating": False, "generation": 0}


def test_set_updating_touches_only_generated_json(publisher: Publisher, site: Path) -> None:
    publisher.publish_user(reports_for(big_collection(1, 300)))
    freshness = site / "prolific" / "generated.json"
    others = [p for p in (site / "prolific").rglob("*") if p.is_file() and p != freshness]
    before = {p: p.stat().st_mtime_ns for p in others}
    assert publisher.set_updating("prolific", True)
    assert json.loads(freshness.read_bytes())["updating"] is True
    assert 'data-updating-notice role="status"' in (site / "prolific" / "5_years" / "index.html").read_text()
    assert {p: p.stat().st_mtime_ns for p in others} == before
    assert publisher.set_updating("nobody", True) is False


def test_assets_have_content_hashed_names_that_pages_use(publisher: Publisher, site: Path) -> None:
    publish_all(publisher)
    for pattern in ("style.*.css", "site.*.js"):
        (asset,) = (site / "assets").glob(pattern)
        digest = hashlib.sha256(asset.read_bytes()).hexdigest()[:10]
        assert asset.name.split(".")[1] == digest
        assert f"../../assets/{asset.name}" in (site / "octocat" / "1_year" / "index.html").read_text()


def test_404_is_self_contained(publisher: Publisher, site: Path) -> None:
    publish_all(publisher)
    page = (site / "404.html").read_text(encoding="utf-8")
    assert "<style>" in page and "<script" not in page and 'rel="stylesheet"' not in page
    assert parse(site / "404.html").urls == ["#main", "/index.html", "/index.html"]


def test_charts_have_text_equivalents(publisher: Publisher, site: Path) -> None:
    from gitbrag.models import LanguageShare
    from gitbrag.publish.charts import language_bar, size_columns

    chart = language_bar([LanguageShare(language="<C++>", lines=10, percentage=62.5)])
    assert chart.text == "Share of changed lines by language: <C++> 62.5%."
    assert "<title>Share of changed lines by language: &lt;C++&gt; 62.5%.</title>" in chart.svg
    sizes = size_columns({"Small": 3, "Large": 1})
    assert sizes.text == "Sizes of 4 pull requests: Small 3, Large 1."
    assert sizes.svg.count("<rect") == 4  # two tracks, two columns
    publish_all(publisher)
    text = " ".join(" ".join(parse(site / "octocat" / "1_year" / "index.html").text).split())
    assert "Sizes of 1 pull request: One Liner 0, Small 0, Medium 1, Large 0, Huge 0, Massive 0." in text
    assert "Share of changed lines by language: Python 86.7%, Markdown 13.3%." in text


# --- atomic writes ------------------------------------------------------------------------


def test_atomic_write_replaces_content(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "page.html"
    atomic_write(target, "first")
    atomic_write(target, b"second \xf0\x9f\x8e\x89")
    assert target.read_text(encoding="utf-8") == "second 🎉"
    assert os.listdir(target.parent) == ["page.html"]


@pytest.mark.parametrize("failing", ["replace", "fsync"])
def test_failed_write_keeps_the_old_file_and_no_temp_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    target = tmp_path / "index.html"
    atomic_write(target, "old version")

    def boom(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(f"gitbrag.publish.safepath.os.{failing}", boom)
    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, "new version " * 10_000)
    monkeypatch.undo()
    assert target.read_text() == "old version"
    assert os.listdir(tmp_path) == ["index.html"]


def test_failed_publish_leaves_the_published_pages_intact(
    publisher: Publisher, site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish_all(publisher)
    before = {p: p.read_bytes() for p in site.rglob("*") if p.is_file()}

    def read_only(*args: object, **kwargs: object) -> None:
        raise OSError("read-only file system")

    monkeypatch.setattr("gitbrag.publish.safepath.os.replace", read_only)
    newer = reports_for(make_collection(prs=[]))
    with pytest.raises(OSError):
        publisher.publish_user(newer)
    monkeypatch.undo()
    after = {p: p.read_bytes() for p in site.rglob("*") if p.is_file()}
    assert after == before


def test_concurrent_reader_only_ever_sees_whole_versions(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    versions = [(f"version {i} " + "x" * 200_000 + " end").encode() for i in range(2)]
    atomic_write(target, versions[0])
    done = threading.Event()
    seen: list[bytes] = []
    torn: list[int] = []

    def reader() -> None:
        while not done.is_set():
            data = target.read_bytes()
            if data not in versions:
                torn.append(len(data))
            seen.append(data[:9])

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for i in range(150):
            atomic_write(target, versions[i % 2])
    finally:
        done.set()
        thread.join()
    assert torn == []
    assert len(seen) > 10 and len(set(seen)) == 2  # the reader really saw both versions


def test_old_temporary_files_of_killed_writers_are_swept(tmp_path: Path) -> None:
    import os

    from gitbrag.publish.safepath import sweep_temp_files

    folder = tmp_path / "mona-lisa" / "1_year"
    folder.mkdir(parents=True)
    old = folder / ".index.html.abc123.tmp"
    young = folder / ".report.json.def456.tmp"
    page = folder / "index.html"
    for path in (old, young, page):
        path.write_text("x")
    an_hour_ago = time.time() - 3600
    os.utime(old, (an_hour_ago, an_hour_ago))
    os.utime(page, (an_hour_ago, an_hour_ago))
    assert sweep_temp_files(tmp_path) == 1
    assert not old.exists() and young.exists() and page.exists()
