"""The index tells a story: totals over everyone, a sparkline of each person's monthly pull
requests (inline SVG that says its numbers), the teams, the last update; and it, the team
pages and the report pages (with the embed snippet) fit a phone and pass axe, light and dark."""

from __future__ import annotations

import functools
import json
import re
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from gitbrag.models import Period, Profile, Report, TimelinePoint
from gitbrag.publish.publisher import IndexEntry, Publisher
from gitbrag.publish.sparkline import sparkline, sparkline_text
from tests.publish.test_cards import hostile_profile
from tests.publish.test_publish import make_collection, make_pr, reports_for
from tests.publish.test_site_browser import (
    AXE,
    CHROMIUM,
    CHROMIUM_ARGS,
    DESKTOP,
    PHONE,
    Reader,
    axe_violations,
)

TEAMS = {"platform": ["alice", "hostile-hank", "ghost"], "a-team-with-a-rather-long-name": ["alice"]}


def user(login: str, prs: int, profile: Profile | None = None) -> dict[Period, Report]:
    made = [
        make_pr(n, f"PR {n} " + "averyveryverylongunbrokenword" * (n % 3), f"https://github.com/octo/hello-world/pull/{n}",
                3 + 11 * n, merged=n % 4 != 0)
        for n in range(1, prs + 1)
    ]  # fmt: skip
    return reports_for(make_collection(login, prs=made, profile=profile or Profile(login=login)))


def publish_site(site: Path) -> list[dict[Period, Report]]:
    publisher = Publisher(site, teams=TEAMS)
    users = [
        user("alice", 30, Profile(login="alice", name="Alice Wonderland-Longname")),
        user("hostile-hank", 12, hostile_profile()),
        user("zero", 0),
    ]
    for reports in users:
        publisher.publish_user(reports)
    publisher.publish_index([IndexEntry.from_report(r["1_year"]) for r in users])
    publisher.publish_static()
    publisher.publish_teams()
    return users


def test_the_sparkline_is_an_image_that_says_every_number() -> None:
    points = [TimelinePoint(month=f"2025-{m:02d}", opened=m % 3, merged=0) for m in range(1, 13)]
    svg = ET.fromstring(str(sparkline(points)))
    assert svg.get("role") == "img"
    title = svg.find("title")
    assert title is not None and title.text == sparkline_text(points)  # its accessible name
    assert "Jan 2025 to Dec 2025" in title.text
    assert (title.text or "").split(": ")[1].split(", ") == [str(p.opened) for p in points]
    line = svg.find("polyline")
    assert line is not None and len((line.get("points") or "").split()) == 12
    assert ET.fromstring(str(sparkline([]))).find("polyline") is None  # nothing to draw, still titled


def test_the_index_shows_totals_sparklines_teams_and_the_last_update(tmp_path: Path) -> None:
    site = tmp_path / "site"
    users = publish_site(site)
    html = (site / "index.html").read_text(encoding="utf-8")
    year = [u["1_year"] for u in users]
    stats = dict(re.findall(r'data-stat="(\w+)">([^<]*)<', html))
    assert stats["people"] == "3"
    assert stats["total_prs"] == f"{sum(r.total_prs for r in year):,}"
    assert stats["merged_count"] == f"{sum(r.merged_count for r in year):,}"
    assert stats["authored_lines"] == f"{sum(r.authored_additions + r.authored_deletions for r in year):,}"
    sparks = re.findall(r'<svg class="sparkline"[^>]*><title>([^<]*)</title>', html)
    assert len(sparks) == 3
    alice = year[0]
    assert sparks[0] == sparkline_text(alice.timeline).replace("&", "&amp;")
    assert sum(p.opened for p in alice.timeline) == alice.total_prs
    newest = max(r.generated_at for r in year)
    assert f'<time datetime="{newest.date().isoformat()}" data-last-update>' in html
    for team in TEAMS:
        assert f'href="teams/{team}/index.html"' in html


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    site = tmp_path_factory.mktemp("story") / "site"
    publish_site(site)
    handler = functools.partial(_Quiet, directory=str(site))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/"
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


PAGES = [
    "index.html",
    "teams/platform/index.html",
    "teams/a-team-with-a-rather-long-name/all_time/index.html",
    "hostile-hank/index.html",  # the embed snippet, team links
    "alice/2_years/index.html",
]


# (scheme, viewport, axe rules): every rule in light at both widths; in dark, the colour ones.
RUNS: list[tuple[str, dict[str, int], list[str] | None]] = [
    ("light", PHONE, None),
    ("light", DESKTOP, None),
    ("dark", PHONE, ["color-contrast", "link-in-text-block"]),
]


@pytest.mark.parametrize(("scheme", "viewport", "rules"), RUNS, ids=["light-390", "light-1280", "dark-390"])
def test_index_team_and_report_pages_fit_a_phone_and_pass_axe(
    served: str, browser: Any, scheme: str, viewport: dict[str, int], rules: list[str] | None
) -> None:
    problems: dict[str, Any] = {}
    tab = Reader(browser, viewport=viewport, scheme=scheme)
    for path in PAGES:
        page = tab.open(served + path)
        if page.locator("details.embed").count():
            page.locator("details.embed summary").click()  # axe checks the snippets too
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > viewport["width"]:
            problems[f"{path}: scrolls sideways"] = f"{width}px"
        found = axe_violations(page, rules)
        if found:
            problems[f"{path}: axe"] = found
    assert tab.errors == [], tab.errors
    tab.close()
    assert problems == {}, json.dumps(problems, indent=1, ensure_ascii=False)


def test_on_a_phone_every_person_is_whole_on_screen(served: str, browser: Any) -> None:
    """Not merely no page scroll: no column cut off inside a scrolling table ("LAS"), and no
    name squeezed into a column a letter wide."""
    tab = Reader(browser, viewport=PHONE)
    page = tab.open(served + "index.html")
    wrap = page.evaluate("(w => [w.scrollWidth, w.clientWidth])(document.querySelector('.table-wrap'))")
    assert wrap[0] <= wrap[1], f"the people table scrolls inside its card: {wrap}"
    boxes = page.evaluate(
        "Array.from(document.querySelectorAll('#people td'))"
        ".map(e => { const r = e.getBoundingClientRect(); return [r.left, r.right, r.width, e.cellIndex]; })"
    )
    assert boxes
    for left, right, width, column in boxes:
        assert left >= 0 and right <= PHONE["width"], (left, right, column)
        if column == 0:  # the person: the name has the row's whole width
            assert width > 300, f"a name squeezed to {width}px"
    tab.close()
