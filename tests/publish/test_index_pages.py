"""The index stays small however many people are tracked (issue 29): pages of a set number of
people in login order, page links that reach everyone without script, a compact search.json
the search box loads on demand, a first page whose size does not grow with the number of
people, and rows kept in each user's generated.json (no report.json read to rebuild it).

The page size is set small here (`Publisher(index_page_rows=...)`): the same code paths as
100,000 people in pages of 100, with a few dozen."""

from __future__ import annotations

import dataclasses
import functools
import json
import re
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from gitbrag.models import Profile
from gitbrag.publish.people import IndexEntry, pager_window
from gitbrag.publish.publisher import Publisher
from tests.publish.test_publish import make_collection, parse, reports_for
from tests.publish.test_site_browser import (
    AXE,
    CHROMIUM,
    CHROMIUM_ARGS,
    DESKTOP,
    PHONE,
    Reader,
    axe_violations,
)
from tests.publish.test_site_validity import vnu_command

AT = datetime(2026, 3, 12, 9, 30, tzinfo=UTC)


def entry(n: int, name: str | None = None) -> IndexEntry:
    """A tracked person as the index lists them, without publishing their pages."""
    return IndexEntry(
        login=f"user-{n:05d}", name=name if name is not None else f"Person Number {n}",
        avatar_url=f"https://avatars.githubusercontent.com/u/{1000 + n}?v=4", total_prs=n % 97,
        merged_count=n % 53, generated_at=AT, first_month="2025-03", per_month=tuple(range(13)),
        authored_lines=10 * n,
    )  # fmt: skip


def index_pages(site: Path) -> list[Path]:
    return sorted(site.glob("index*.html"))


def people_on(page: Path) -> list[str]:
    return [u.removesuffix("/index.html") for u in parse(page).urls if re.fullmatch(r"[\w-]+/index\.html", u)]


def test_the_index_is_pages_of_the_set_size_in_login_order(tmp_path: Path) -> None:
    site = tmp_path / "site"
    publisher = Publisher(site, index_page_rows=3)
    publisher.publish_index([entry(n) for n in reversed(range(8))])
    names = ["index-2.html", "index-3.html", "index-pages.html", "index.html"]
    assert [p.name for p in index_pages(site)] == names
    assert people_on(site / "index.html") == ["user-00000", "user-00001", "user-00002"]
    assert people_on(site / "index-2.html") == ["user-00003", "user-00004", "user-00005"]
    assert people_on(site / "index-3.html") == ["user-00006", "user-00007"]
    # The totals are everyone's, on the first page only.
    first = (site / "index.html").read_text(encoding="utf-8")
    assert re.search(r'data-stat="people">8<', first) and 'data-stat="people"' not in (
        site / "index-2.html"
    ).read_text(encoding="utf-8")
    listed = " ".join(" ".join(parse(site / "index-pages.html").text).split())
    assert "user-00000 – user-00002" in listed and "user-00006 – user-00007" in listed
    # Fewer people: the pages past the last are gone, and one page needs no list of pages.
    publisher.publish_index([entry(n) for n in range(4)])
    assert [p.name for p in index_pages(site)] == ["index-2.html", "index-pages.html", "index.html"]
    publisher.publish_index([entry(0)])
    assert [p.name for p in index_pages(site)] == ["index.html"]


def test_without_script_the_page_links_reach_everyone(tmp_path: Path) -> None:
    """From the first page, following only the index's own links (previous, next, the page
    numbers, the list of pages), every person's report link is found; and previous/next
    chain the pages in order."""
    site = tmp_path / "site"
    people = [entry(n) for n in range(47)]
    Publisher(site, index_page_rows=4).publish_index(people)
    seen_pages, found, queue = set(), set(), ["index.html"]
    while queue:
        page = queue.pop()
        if page in seen_pages:
            continue
        seen_pages.add(page)
        links = parse(site / page).urls
        found.update(people_on(site / page))
        queue += [u for u in links if re.fullmatch(r"index(-\d+|-pages)?\.html", u)]
    assert found == {p.login for p in people}
    assert len(seen_pages) == 12 + 1  # 12 pages of 4 and the list of pages
    html = (site / "index-5.html").read_text(encoding="utf-8")
    assert '<a href="index-4.html" rel="prev">' in html and '<a href="index-6.html" rel="next">' in html
    assert 'aria-current="page"><span class="visually-hidden">Page </span>5</a>' in html


def test_the_pager_links_a_bounded_window_of_pages() -> None:
    assert pager_window(1, 1) == [1]
    assert pager_window(1, 4) == [1, 2, 3, 4]
    assert pager_window(50, 1000) == [1, None, 48, 49, 50, 51, 52, None, 1000]
    assert pager_window(1000, 1000) == [1, None, 998, 999, 1000]


def test_the_first_page_does_not_grow_with_the_number_of_people(tmp_path: Path) -> None:
    sizes = {}
    for count in (25, 400, 4000):
        site = tmp_path / str(count)
        Publisher(site, index_page_rows=10).publish_index([entry(n, name="Person") for n in range(count)])
        sizes[count] = (site / "index.html").stat().st_size
    # 40 pages or 400: only the digits of the totals and of the page count differ.
    assert abs(sizes[4000] - sizes[400]) < 40, sizes
    # The pager's window is full from 7 pages on: 3 pages have a few links fewer.
    assert 0 < sizes[400] - sizes[25] < 400, sizes


def test_the_first_page_is_under_100_kb_with_pages_of_the_default_size(tmp_path: Path) -> None:
    """The default page (100 people) with long names and every figure at its widest."""
    site = tmp_path / "site"
    wide = [
        IndexEntry(
            login=f"a-rather-long-login-{n:05d}", name="Alexandra Nakamura-Fernández " + "é" * 10,
            avatar_url=f"https://avatars.githubusercontent.com/u/{10_000_000 + n}?v=4", total_prs=12_345,
            merged_count=12_345, generated_at=AT, first_month="2025-03",
            per_month=tuple(1000 + m for m in range(13)), authored_lines=10**7,
        )
        for n in range(250)
    ]  # fmt: skip
    Publisher(site, teams={f"team-{t}": ["x"] for t in range(10)}).publish_index(wide)
    assert (site / "index.html").stat().st_size < 100_000
    assert (site / "index-3.html").is_file()


def test_search_json_lists_everyone_with_their_page(tmp_path: Path) -> None:
    site = tmp_path / "site"
    people = [entry(n) for n in range(7)] + [entry(7, name="")]
    Publisher(site, index_page_rows=3).publish_index(people)
    body = json.loads((site / "search.json").read_bytes())
    assert body["fields"] == ["login", "name", "prs", "merged", "page"]
    assert body["people"][4] == ["user-00004", "Person Number 4", 4, 4, 2]
    assert body["people"][7] == ["user-00007", "", 7, 7, 3]
    assert len(body["people"]) == 8


def test_the_rows_come_from_generated_json_not_report_json(tmp_path: Path) -> None:
    site = tmp_path / "site"
    publisher = Publisher(site)
    reports = reports_for(make_collection(profile=Profile(login="OctoCat", name="Octo Cat")))
    publisher.publish_user(reports)
    # A report.json the index would have to parse (megabytes for a prolific user) is not read:
    (site / "octocat" / "1_year" / "report.json").write_text("{}")
    (found,) = Publisher(site).index_entries(["octocat", "nobody"])  # type: ignore[list-item]
    # The row also names the published periods, for the sitemap.
    assert found == dataclasses.replace(IndexEntry.from_report(reports["1_year"]), periods=tuple(reports))
    # A site published before the rows were kept: the row comes from report.json.
    freshness = site / "octocat" / "generated.json"
    kept = json.loads(freshness.read_bytes())
    del kept["index"]
    freshness.write_text(json.dumps(kept))
    (site / "octocat" / "1_year" / "report.json").write_text(reports["1_year"].model_dump_json())
    # The periods are not known then: the sitemap looks at the user's folder.
    assert Publisher(site).index_entry("octocat") == dataclasses.replace(found, periods=())  # type: ignore[arg-type]


def test_one_changed_row_renders_only_its_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A new name on page 3 renders page 3 (the first page's totals are unchanged) and rewrites
    search.json, in a new process too: each page records what it was rendered from."""
    site = tmp_path / "site"
    people = [entry(n) for n in range(40)]
    Publisher(site, index_page_rows=10).publish_index(people)
    rendered: list[str] = []
    real = Publisher._render

    def spy(self: Publisher, template: str, **kwargs: Any) -> str:
        rendered.append(kwargs["page"])
        return real(self, template, **kwargs)

    monkeypatch.setattr(Publisher, "_render", spy)
    publisher = Publisher(site, index_page_rows=10)
    people[25] = entry(25, name="A New Name")
    publisher.publish_index(people)
    assert [p for p in rendered if p.startswith("index-") and p != "index-pages.html"] == ["index-3.html"]
    assert "index.html" not in rendered
    assert "A New Name" in (site / "index-3.html").read_text(encoding="utf-8")
    assert "A New Name" in (site / "search.json").read_text(encoding="utf-8")


# --- in a browser: search from the first page, the pages pass Nu and axe --------------------------


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def paged_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """Eight published users in index pages of two: `walter-white` is on the last page."""
    site = tmp_path_factory.mktemp("paged") / "site"
    publisher = Publisher(site, index_page_rows=2, teams={"platform": ["alice", "walter-white"]})
    names = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "walter-white"]
    entries = []
    for login in names:
        reports = reports_for(make_collection(login, profile=Profile(login=login, name=login.title())))
        publisher.publish_user(reports)
        entries.append(reports["1_year"])
    publisher.publish_index(publisher.index_entries(names))  # type: ignore[arg-type]
    publisher.publish_static()
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/", site
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.is_file() or not AXE.is_file():
        pytest.fail(f"{CHROMIUM} and {AXE} are needed (apt-get install chromium; npm ci --ignore-scripts)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def test_search_on_the_first_page_finds_someone_on_the_last(
    paged_site: tuple[str, Path], browser: Any
) -> None:
    base, site = paged_site
    assert "walter-white/index.html" not in (site / "index.html").read_text(encoding="utf-8")
    tab = Reader(browser)
    loaded: list[str] = []
    tab.page.on("request", lambda r: loaded.append(r.url))
    page = tab.open(base)
    assert not any(u.endswith("search.json") for u in loaded)  # loaded on demand, not with the page
    box = page.get_by_label("Find anyone")
    box.focus()  # by keyboard: the search box is a labelled field
    page.keyboard.type("@walt")
    page.locator("#people-results a").first.wait_for()
    assert page.locator("#people-results a").all_inner_texts() == ["Walter-White"]
    assert page.locator("#people-search-status").inner_text() == "1 match."
    page.keyboard.press("Enter")  # the first match
    page.wait_for_url(base + "walter-white/index.html")
    assert any(u.endswith("search.json") for u in loaded)
    page = tab.open(base)
    page.get_by_label("Find anyone").fill("nobody-like-that")
    page.get_by_text("Nobody matches that search.").wait_for()
    tab.close()
    assert tab.errors == []


def test_without_script_the_search_box_is_not_offered(paged_site: tuple[str, Path], browser: Any) -> None:
    base, _ = paged_site
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(base)
    assert not page.get_by_label("Find anyone").is_visible()
    page.get_by_role("link", name="Next page").first.click()
    assert page.url == base + "index-2.html"
    context.close()


@pytest.mark.parametrize(
    ("scheme", "viewport"), [("light", DESKTOP), ("dark", PHONE)], ids=["light-1280", "dark-390"]
)
def test_index_pages_pass_axe_with_the_search_open(
    paged_site: tuple[str, Path], browser: Any, scheme: str, viewport: dict[str, int]
) -> None:
    base, _ = paged_site
    tab = Reader(browser, viewport=viewport, scheme=scheme)
    for path in ("index.html", "index-2.html", "index-pages.html"):
        page = tab.open(base + path)
        if path != "index-pages.html":
            page.get_by_label("Find anyone").fill("a")
            page.locator("#people-results a").first.wait_for()
        assert axe_violations(page) == [], path
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], (path, width)
    tab.close()


def test_index_pages_pass_the_nu_html_checker(paged_site: tuple[str, Path]) -> None:
    _, site = paged_site
    pages = index_pages(site)
    assert len(pages) == 5  # 4 pages of 2 and the list of pages
    result = subprocess.run([*vnu_command(), *map(str, pages)], capture_output=True, text=True, timeout=300)
    messages = json.loads(result.stderr or result.stdout)["messages"]
    assert [m["message"] for m in messages if m["type"] in ("error", "non-document-error")] == []


def test_a_refreshed_row_reads_only_its_pages_and_ends_as_a_rebuild_would(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`update_index`: one refreshed user's new row is published from the rows of its page and
    of the first (the totals come from the other pages' figures kept in search.json), so a
    refresh costs the same with 100,000 people as with 1,000; and the index, search.json and
    the sitemap end byte for byte as a rebuild from everyone's rows leaves them."""
    names = [f"user-{n:02d}" for n in range(12)]
    site = tmp_path / "site"

    def publisher() -> Publisher:
        return Publisher(site, index_page_rows=3, base_url="https://brag.example.org/")

    first = publisher()
    for login in names:
        first.publish_user(
            reports_for(make_collection(login, profile=Profile(login=login, name=login.title())))
        )
    first.publish_index(first.index_entries(names))  # type: ignore[arg-type]
    refreshed = reports_for(
        make_collection("user-07", profile=Profile(login="user-07", name="Seven Renamed"))
    )
    refreshed = {
        p: r.model_copy(update={"generated_at": r.generated_at.replace(year=2027)})
        for p, r in refreshed.items()
    }
    first.publish_user(refreshed)
    read: list[str] = []
    real = Publisher.index_entry

    def spy(self: Publisher, login: Any) -> IndexEntry | None:
        read.append(str(login))
        return real(self, login)

    monkeypatch.setattr(Publisher, "index_entry", spy)
    assert publisher().update_index(["user-07"])  # type: ignore[list-item]
    assert sorted(set(read)) == ["user-00", "user-01", "user-02", "user-06", "user-07", "user-08"]
    index_files = [
        "index.html",
        "index-3.html",
        "search.json",
        "sitemap.xml",
        "sitemap-1.xml",
        "sitemap-3.xml",
    ]
    updated = {name: (site / name).read_bytes() for name in index_files}
    assert b"Seven Renamed" in updated["index-3.html"] and b"Seven Renamed" in updated["search.json"]
    assert b"2027-" in updated["index.html"] and b"2027-" in updated["sitemap.xml"]
    monkeypatch.undo()
    for name in index_files:
        (site / name).unlink()
    publisher().publish_index(publisher().index_entries(names))  # type: ignore[arg-type]
    assert {name: (site / name).read_bytes() for name in index_files} == updated


def test_an_index_update_gives_way_to_a_rebuild_when_the_index_cannot_say(tmp_path: Path) -> None:
    """A login the index does not list (a new user shifts every later page), a search.json of
    another layout, or a row gone: nothing is written, and the caller rebuilds from everyone."""
    site = tmp_path / "site"
    publisher = Publisher(site, index_page_rows=3)
    names = [f"user-{n:02d}" for n in range(5)]
    for login in names:
        publisher.publish_user(reports_for(make_collection(login)))
    publisher.publish_index(publisher.index_entries(names))  # type: ignore[arg-type]
    before = {p.name: p.read_bytes() for p in site.iterdir() if p.is_file()}
    publisher.publish_user(reports_for(make_collection("user-99")))
    assert not publisher.update_index(["user-99"])  # type: ignore[list-item]
    (site / "user-03" / "generated.json").unlink()
    (site / "user-03" / "1_year" / "report.json").unlink()
    assert not publisher.update_index(["user-04"])  # type: ignore[list-item]
    (site / "search.json").write_text('{"version": 1, "people": []}')
    assert not publisher.update_index(["user-01"])  # type: ignore[list-item]
    after = {p.name: p.read_bytes() for p in site.iterdir() if p.is_file() and p.name != "search.json"}
    assert after == {name: data for name, data in before.items() if name != "search.json"}


def test_a_new_page_size_is_a_rebuild_not_an_update(tmp_path: Path) -> None:
    """The index on disk was paginated otherwise: its layout cannot take a row alone."""
    site = tmp_path / "site"
    names = [f"user-{n:02d}" for n in range(5)]
    publisher = Publisher(site, index_page_rows=2)
    for login in names:
        publisher.publish_user(reports_for(make_collection(login)))
    publisher.publish_index(publisher.index_entries(names))  # type: ignore[list-item]
    assert Publisher(site, index_page_rows=2).update_index(["user-01"])  # type: ignore[list-item]
    assert not Publisher(site, index_page_rows=3).update_index(["user-01"])  # type: ignore[list-item]
