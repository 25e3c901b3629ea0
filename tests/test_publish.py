"""Publishing: the site layout, escaping of everything from GitHub, and atomic writes."""

from __future__ import annotations

import json
import os
import threading
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

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
from gitbrag.publish import IndexEntry, Publisher, atomic_write
from gitbrag.report import build_reports

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
    expected = [site / "octocat" / p / name for p in PERIODS for name in ("report.json", "index.html")]
    assert sorted(written) == sorted([*expected, site / "octocat" / "index.html"])
    publisher.publish_index([IndexEntry.from_report(reports["1_year"])])
    publisher.publish_static()
    for path in [*written, site / "index.html", site / "404.html"]:
        assert path.is_file(), path
        assert path.stat().st_mode & 0o777 == 0o644
    assert len(list((site / "assets").glob("style.*.css"))) == 1


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
    publish_all(publisher)
    pages = [p for p in site.rglob("*.html") if p.name != "404.html"]
    assert len(pages) == 6  # index, user front page, four periods
    for page in pages:
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
    assert '<time datetime="2025-03-12T09:30:42+00:00">12 Mar 2025, 09:30 UTC</time>' in page
    assert "Generated 12 Mar 2025, 09:30 UTC" in text
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
        for raw in (SCRIPT_TITLE, HOSTILE_BIO, HOSTILE_NAME, "<script>", "<img src=x", "<svg", "<b>"):
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
    assert "This report is being updated" in text
    assert "GitHub reported incomplete search results" in text
    assert "No pull requests in this period" in text
    publisher.publish_user(reports_for(make_collection()))
    text = " ".join(parse(site / "octocat" / "1_year" / "index.html").text)
    assert "being updated" not in text and "incomplete" not in text


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
    assert "updated 12 Mar 2025" in " ".join(" ".join(index.text).split())


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

    def boom(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(f"gitbrag.publish.os.{failing}", boom)
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

    def read_only(*args: object) -> None:
        raise OSError("read-only file system")

    monkeypatch.setattr("gitbrag.publish.os.replace", read_only)
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
    import time

    from gitbrag.publish import sweep_temp_files

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
