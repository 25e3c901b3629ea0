"""The demo site in a real browser, used the way a reader uses it.

The site is published by `gitbrag-refresh --once --demo` (a separate process, as cron runs
it), served by a plain static file server, and read with Debian's headless Chromium driven
by Playwright (never a downloaded browser). A stub of the refresh hook on loopback answers
the "Refresh now" button. Nothing leaves the machine: requests to other hosts are aborted
(GitHub's avatar host among them, as when it is down for a reader) and recorded.

Screenshots at phone and desktop widths go to test-artifacts/ (git-ignored); with
GITBRAG_UPDATE_SCREENSHOTS=1 the README's pictures in docs/ are refreshed too.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.support import clean_env, refresh

ROOT = Path(__file__).parents[2]
CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts"
DOCS = ROOT / "docs"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
HOSTILE_TITLE = 'Fix <script>alert("x")</script> in titles'
# Team pages (issue 15); ghost-gus is not tracked: listed as "not yet published".
TEAMS = "platform=Mona-Lisa,prolific-pat,steady-sam;web=hostile-hank,zero-zoe,ghost-gus"


# --- servers -------------------------------------------------------------------------------------


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class HookStub(_Quiet):
    """The refresh hook's contract, as the page's script sees it: scheduled, then already
    running, then the cooldown (429 with Retry-After). CORS allows any origin."""

    answers: list[tuple[int, dict[str, str], dict[str, str]]] = [
        (202, {}, {"status": "scheduled"}),
        (202, {}, {"status": "already_running"}),
        (429, {"Retry-After": "42"}, {"error": "cooldown"}),
    ]
    calls: list[str] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        status, headers, body = self.answers[min(len(self.calls), len(self.answers) - 1)]
        self.calls.append(self.path)
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Expose-Headers", "Retry-After")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)


def serve(handler: Any) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """(base URL, folder) of the published demo site, with the hook's public URL configured."""
    work = tmp_path_factory.mktemp("browser")
    folder = work / "site"
    folder.mkdir()
    static = serve(functools.partial(_Quiet, directory=str(folder)))
    hook = serve(HookStub)
    base = f"http://127.0.0.1:{static.server_port}/"
    env = clean_env(
        GITBRAG_BASE_URL=base,
        GITBRAG_HOOK_PUBLIC_URL=f"http://127.0.0.1:{hook.server_port}",
        GITBRAG_TEAMS=TEAMS,
    )
    result = refresh(work, "--demo", "--site-dir", str(folder), env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    yield base, folder
    for server in (static, hook):
        server.shutdown()
        server.server_close()


# --- the browser ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover
        pytest.fail("the playwright package is missing: pip install -e '.[test]'")
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (never `playwright install`)")
    if not AXE.is_file():
        pytest.fail(f"{AXE.relative_to(ROOT)} is missing: run `npm ci --ignore-scripts` in {ROOT}")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Reader:
    """A browser tab that records what a reader would notice: dialogs, script errors, and
    requests that tried to leave the machine."""

    def __init__(self, browser: Any, *, viewport: dict[str, int] = DESKTOP, scheme: str = "light"):
        self.context = browser.new_context(viewport=viewport, color_scheme=scheme)
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.outside: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def _route(self, route: Any) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            self.outside.append(route.request.url)
            route.abort()

    def open(self, url: str) -> Any:
        self.page.goto(url)
        self.page.wait_for_load_state("load")
        return self.page

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def reader(browser: Any) -> Iterator[Reader]:
    tab = Reader(browser)
    yield tab
    tab.close()
    assert tab.errors == [], tab.errors
    # No CDN, no third party: only the avatars GitHub serves are fetched from elsewhere.
    assert {urlsplit(u).hostname for u in tab.outside} <= {"avatars.githubusercontent.com"}, tab.outside


def shown_numbers(page: Any) -> dict[str, str]:
    return {
        el.get_attribute("data-stat"): el.inner_text() for el in page.locator("[data-stat]").element_handles()
    }


def lines_of(repo: dict[str, Any]) -> int:
    return sum(pr["authored_additions"] + pr["authored_deletions"] for pr in repo["prs"])


def expected_numbers(report: dict[str, Any]) -> dict[str, str]:
    reviews = report["reviews"]["total"] if report["reviews"] else 0
    stars = report["total_star_increase"]
    return ({"reviews": f"{reviews:,}"} if reviews else {}) | {
        "total_prs": f"{report['total_prs']:,}",
        "merged_count": f"{report['merged_count']:,}",
        "open_count": f"{report['open_count']:,}",
        "repo_count": f"{report['repo_count']:,}",
        "authored_additions": f"+{report['authored_additions']:,}" if report["authored_additions"] else "0",
        "authored_deletions": f"−{report['authored_deletions']:,}" if report["authored_deletions"] else "0",
        "total_changed_files": f"{report['total_changed_files']:,}",
        "total_star_increase": "—" if stars is None else f"+{stars:,}",
    }


# --- a reader's journey ------------------------------------------------------------------------------


def test_index_to_report_to_periods_with_the_numbers_of_report_json(
    site: tuple[str, Path], reader: Reader
) -> None:
    base, folder = site
    page = reader.open(base)
    rows = page.locator("#people tbody tr")
    assert rows.count() == 5
    # The search box finds people from search.json (every index page: tests/publish/test_index_pages.py).
    page.get_by_label("Find anyone").fill("pat")
    page.locator("#people-results a").first.wait_for()
    assert page.locator("#people-results a").all_inner_texts() == ["Pat Prolific"]
    page.get_by_label("Find anyone").fill("")
    assert rows.first.inner_text().startswith("SA\n")  # login order: hostile-hank first

    page.get_by_role("link", name="Mona Lisa Octocat").click()
    assert page.url == base + "mona-lisa/index.html"
    one_year = json.loads((folder / "mona-lisa" / "1_year" / "report.json").read_text())
    assert shown_numbers(page) == expected_numbers(one_year)
    titles = page.locator("table.prs td.t a").all_text_contents()
    assert sorted(titles) == sorted(pr["title"] for r in one_year["repositories"] for pr in r["prs"])

    for label, period in [("All time", "all_time"), ("2 years", "2_years"), ("1 year", "1_year")]:
        page.get_by_role("navigation", name="Report period").get_by_role("link", name=label).click()
        assert page.url == f"{base}mona-lisa/{period}/index.html"
        assert page.locator("[aria-current=page]").inner_text() == label
        report = json.loads((folder / "mona-lisa" / period / "report.json").read_text())
        assert shown_numbers(page) == expected_numbers(report)
        heading = page.locator("#repos-heading").inner_text()
        assert heading == f"Repositories ({report['repo_count']:,})"
    assert reader.dialogs == []


def test_a_prolific_users_every_pull_request_is_one_click_away(
    site: tuple[str, Path], reader: Reader
) -> None:
    base, folder = site
    page = reader.open(base + "prolific-pat/all_time/index.html")
    report = json.loads((folder / "prolific-pat" / "all_time" / "report.json").read_text())
    assert shown_numbers(page) == expected_numbers(report)
    # The repository with the most merged pull requests comes first, open, with its largest few.
    repo = max(report["repositories"], key=lambda r: (r["merged_count"], lines_of(r)))
    assert page.locator("details.repo").first.get_attribute("open") is not None
    page.get_by_role("link", name=f"All {repo['pr_count']:,} pull requests in {repo['name']}").click()
    page.wait_for_url("**/repos/**")
    listed = page.locator("table.prs td.t a").all_inner_texts()
    pages = page.get_by_role("navigation", name="Pages of this list").get_by_role("link")
    for n in range(2, pages.count() + 1):
        page.get_by_role("navigation", name="Pages of this list").get_by_role("link", name=str(n)).click()
        listed += page.locator("table.prs td.t a").all_inner_texts()
    assert listed == [pr["title"] for pr in repo["prs"]]


def test_hostile_text_is_shown_as_text_and_runs_no_script(site: tuple[str, Path], reader: Reader) -> None:
    base, _ = site
    reader.context.add_init_script("window.__pwned = false; window.alert = () => { window.__pwned = true; };")
    for path in ("hostile-hank/index.html", "hostile-hank/all_time/index.html", "index.html"):
        page = reader.open(base + path)
        assert page.evaluate("window.__pwned") is False
        scripts = page.evaluate("[...document.scripts].map(s => s.src)")
        assert len(scripts) == 1 and "/assets/site." in scripts[0]  # ours, and only ours
        assert page.locator("iframe").count() == 0
    page = reader.open(base + "hostile-hank/all_time/index.html")
    assert page.get_by_text(HOSTILE_TITLE).first.is_visible()
    assert page.locator("h1").inner_text().startswith('<script>alert("x")</script>')
    assert reader.dialogs == []
    assert page.evaluate("document.location.host") == urlsplit(base).netloc  # not redirected away


def test_refresh_now_asks_the_hook_and_says_what_happens(site: tuple[str, Path], reader: Reader) -> None:
    from playwright.sync_api import expect

    base, _ = site
    page = reader.open(base + "steady-sam/2_years/index.html")
    button = page.get_by_role("button", name="Refresh now")
    status = page.get_by_role("status")
    expected = [
        "Refresh scheduled. Reload the page in a minute to see the new numbers.",
        "This report is already being updated. Reload the page in a minute.",
        "This report was refreshed moments ago. Try again in 42 seconds.",
    ]
    for text in expected:
        button.click()
        expect(status).to_have_text(text, timeout=5000)
    assert HookStub.calls[-3:] == ["/refresh/steady-sam?period=2_years"] * 3


def test_without_script_the_page_reads_fine_and_offers_no_dead_button(
    site: tuple[str, Path], browser: Any
) -> None:
    base, _ = site
    context = browser.new_context(java_script_enabled=False, viewport=DESKTOP)
    try:
        page = context.new_page()
        page.goto(base + "mona-lisa/index.html")
        assert page.get_by_role("button", name="Refresh now").count() == 0  # hidden without JS
        assert page.locator("[data-stale-notice]").is_hidden()
        assert page.locator("[data-stat=total_prs]").is_visible()
        page.goto(base)
        assert page.get_by_role("link", name="Mona Lisa Octocat").is_visible()
        assert page.get_by_label("Find anyone").is_hidden()
    finally:
        context.close()


def test_an_old_page_says_when_it_was_last_updated(site: tuple[str, Path], reader: Reader) -> None:
    base, folder = site
    generated = datetime.fromisoformat(
        json.loads((folder / "zero-zoe" / "1_year" / "report.json").read_text())["generated_at"]
    )
    page = reader.open(base + "zero-zoe/index.html")
    assert page.locator("[data-stale-notice]").is_hidden()  # fresh
    reader.page.clock.install(time=generated + timedelta(days=3, hours=2))
    page = reader.open(base + "zero-zoe/index.html")
    from playwright.sync_api import expect

    notice = page.locator("[data-stale-notice]")
    # The exact time comes from the user's generated.json: the label shows once that is read.
    expect(notice).to_be_visible(timeout=5000)
    expect(notice).to_have_text("Last updated 3 days ago")
    assert page.locator("[data-stat=total_prs]").count() == 0  # (an empty report)
    # Without the script too, the page says when it was made: the day (the exact time is in
    # generated.json, so that a day's refreshes leave an unchanged page as it is).
    assert page.locator("footer time").get_attribute("datetime") == generated.date().isoformat()


def test_avatars_never_shift_the_layout_whether_they_load_or_not(
    site: tuple[str, Path], browser: Any
) -> None:
    base, _ = site
    svg = (
        b'<svg xmlns="http://www.w3.org/2000/svg" width="460" height="460">'
        b'<rect width="460" height="460" fill="#e36"/></svg>'
    )
    for loads in (False, True):
        tab = Reader(browser)
        if loads:  # GitHub's avatar host answers (slowly), from a local stand-in
            tab.context.route(
                "https://avatars.githubusercontent.com/**",
                lambda route: route.fulfill(status=200, content_type="image/svg+xml", body=svg),
            )
        tab.context.add_init_script(
            "window.__shift = 0; new PerformanceObserver(l => l.getEntries().forEach("
            "e => { if (!e.hadRecentInput) window.__shift += e.value; }))"
            ".observe({type: 'layout-shift', buffered: true});"
        )
        page = tab.open(base + "mona-lisa/index.html")
        page.wait_for_timeout(300)
        loaded = page.evaluate("document.querySelector('.profile img').naturalWidth")
        assert (loaded > 0) is loads
        box = page.locator(".profile .avatar").bounding_box()
        assert (round(box["width"]), round(box["height"])) == (96, 96)
        assert page.evaluate("window.__shift") == 0
        assert page.locator(".profile .avatar-initials").inner_text() == "ML"
        tab.close()


# --- a page a person is proud to share (issue 30) ----------------------------------------------------

# document.documentElement.scrollHeight of mona-lisa/1_year/ at 1280 px before issue 30: every
# pull request listed in full, repositories by the stars they gained.
HEIGHT_BEFORE_1280 = 11_489


def test_the_report_reads_as_a_summary_first_with_every_pull_request_on_the_page(
    site: tuple[str, Path], reader: Reader
) -> None:
    base, folder = site
    report = json.loads((folder / "mona-lisa" / "1_year" / "report.json").read_text())
    page = reader.open(base + "mona-lisa/1_year/index.html")
    assert page.evaluate("document.documentElement.scrollHeight") <= HEIGHT_BEFORE_1280 // 2
    # What the person did leads: most merged pull requests, then most authored lines.
    names = page.locator("details.repo h3").all_inner_texts()
    expected = sorted(
        report["repositories"], key=lambda r: (-r["merged_count"], -lines_of(r), -r["pr_count"])
    )
    assert names == [r["name"] for r in expected]
    most_stars = max(report["repositories"], key=lambda r: r["star_increase"] or 0)["name"]
    assert names[0] != most_stars
    # Every pull request is on the page; those not shown at first are inside a <details>.
    rows = page.locator("table.prs td.t a")
    titles = rows.all_text_contents()
    assert sorted(titles) == sorted(pr["title"] for r in report["repositories"] for pr in r["prs"])
    hidden = [i for i in range(rows.count()) if not rows.nth(i).is_visible()]
    assert hidden, "the page lists every pull request in full"
    assert all(rows.nth(i).evaluate("a => a.closest('details:not([open])') !== null") for i in hidden)
    # A closed repository opens to its largest few and "Show all N".
    first_closed = page.locator("details.repo").evaluate_all("els => els.findIndex(e => !e.open)")
    closed = page.locator("details.repo").nth(first_closed)
    assert not closed.locator("table.prs").first.is_visible()
    closed.locator("summary").first.click()
    assert closed.locator("table.prs").first.is_visible()
    # The reader may sort by the stars the repositories gained instead, without a server.
    page.get_by_role("button", name="Stars gained").click()
    gained = [
        int(v) for v in page.locator("details.repo").evaluate_all("els => els.map(e => e.dataset.stars)")
    ]
    assert (
        gained == sorted(gained, reverse=True)
        and names[0] != page.locator("details.repo h3").first.inner_text()
    )
    assert page.get_by_role("button", name="Stars gained").get_attribute("aria-pressed") == "true"


def test_each_headline_number_says_how_it_changed_and_the_chart_has_a_scale(
    site: tuple[str, Path], reader: Reader
) -> None:
    base, folder = site
    report = json.loads((folder / "mona-lisa" / "1_year" / "report.json").read_text())
    previous = report["previous"]
    page = reader.open(base + "mona-lisa/1_year/index.html")
    change = page.locator(".stat:has([data-stat=merged_count]) [data-change]")
    percent = round(100 * (report["merged_count"] - previous["merged_count"]) / previous["merged_count"])
    arrow = "▲" if percent > 0 else "▼"
    assert change.locator("[aria-hidden=true]").inner_text() == f"{arrow} {abs(percent)}%"
    words = change.locator(".visually-hidden").text_content()
    assert f"{abs(percent)}% on {previous['label']}, which had {previous['merged_count']}" in words
    assert page.locator(".comparison").count() == 0  # no separate bullet list any more
    # The activity chart's scale: its top covers the busiest month, its values are written.
    scale = [int(v.replace(",", "")) for v in page.locator(".timeline-scale li").all_inner_texts()]
    busiest = max(max(p["opened"], p["merged"]) for p in report["timeline"])
    assert scale[0] >= busiest and scale[-1] == 0 and len(scale) == 3
    assert page.locator(".timeline-scale").is_visible()
    assert len(page.locator(".timeline-axis > span").all_inner_texts()) == len(report["timeline"])
    text = page.locator("main").inner_text()
    assert "−0" not in text and "every one is in" not in text
    # Sizes are a scale of one hue, not red alarms.
    for size in ("huge", "massive"):
        rgb = page.evaluate(
            f"getComputedStyle(document.querySelector('.z-{size}') || document.body).backgroundColor"
        )
        r, g, b = (int(x) for x in rgb[rgb.index("(") + 1 : rgb.index(")")].split(",")[:3])
        assert b > r, (size, rgb)


def test_no_breakdown_card_sits_alone_and_no_card_is_a_tall_empty_block(
    site: tuple[str, Path], browser: Any
) -> None:
    base, _ = site
    tab = Reader(browser)
    page = tab.open(base + "mona-lisa/1_year/index.html")
    tops = page.locator(".breakdown > .card").evaluate_all(
        "els => els.map(e => e.getBoundingClientRect().top)"
    )
    rows = {round(t) for t in tops}
    assert all(tops.count(t) > 1 for t in tops) and len(rows) == 2  # 2 × 2, no card alone
    for path in ("teams/platform/index.html", "teams/platform/all_time/index.html"):
        page = tab.open(base + path)
        tops = page.locator(".stats .stat").evaluate_all(
            "els => els.map(e => Math.round(e.getBoundingClientRect().top))"
        )
        assert sorted(tops.count(t) for t in set(tops)) == [3, 3]  # 3 + 3, no empty slot
        empty = page.locator("main .card").evaluate_all(
            "els => els.map(e => e.getBoundingClientRect().bottom"
            " - e.lastElementChild.getBoundingClientRect().bottom)"
        )
        assert max(empty) < 160, empty
    tab.close()


def test_the_embed_snippet_has_a_copy_button_and_the_card_says_whose_stars(
    site: tuple[str, Path], browser: Any
) -> None:
    base, folder = site
    tab = Reader(browser)
    tab.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = tab.open(base + "mona-lisa/index.html")
    page.locator("details.embed summary").click()
    button = page.locator("[data-copy=snippet-md-text]")
    button.click()
    from playwright.sync_api import expect

    expect(button).to_have_text("Copied")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == page.locator("#snippet-md-text").inner_text()
    assert copied.startswith("[![") and f"({base}mona-lisa/card.svg)" in copied
    tab.close()
    assert "by their repos" in (folder / "mona-lisa" / "card.svg").read_text()


# --- accessibility and pictures ------------------------------------------------------------------------


def axe_violations(page: Any, rules: list[str] | None = None) -> list[str]:
    if not page.evaluate("typeof axe !== 'undefined'"):  # not already loaded with the page
        page.add_script_tag(path=str(AXE))
    options: dict[str, Any] = {"resultTypes": ["violations"]}
    if rules:
        options["runOnly"] = {"type": "rule", "values": rules}
    result = page.evaluate("options => axe.run(document, options)", options)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes'][:3]]}"
        for v in result["violations"]
    ]


LAST_YEAR = str(datetime.now(UTC).year - 1)
AXE_PAGES = [
    "index.html",  # the index
    "mona-lisa/index.html",  # a report
    f"mona-lisa/{LAST_YEAR}/index.html",  # a calendar year: the second row of tabs, a timeline, reviews
    "zero-zoe/index.html",  # an empty report
    "404.html",
    "prolific-pat/all_time/index.html",  # a big report, with links to repository pages
    "mona-lisa/all_time/more/index.html",  # repositories past the card limit
    "prolific-pat/1_year/repos/pat-bots/deps/index.html",  # a repository's own page
    "teams/platform/index.html",  # a team page (GITBRAG_TEAMS)
    "teams/web/all_time/index.html",  # a team with a member not yet published
]
# Every rule on every page at desktop width; the phone layout and the dark theme change
# layout and colours, so there the rules about those (the slowest to run everywhere).
RUNS = [
    ("light", DESKTOP, AXE_PAGES, None),
    ("light", PHONE, [*AXE_PAGES[:5], *AXE_PAGES[-2:]], None),
    ("dark", DESKTOP, [*AXE_PAGES[:6], *AXE_PAGES[-2:]], ["color-contrast", "link-in-text-block"]),
    ("dark", PHONE, [AXE_PAGES[0], *AXE_PAGES[-2:]], ["color-contrast", "link-in-text-block"]),
]


def test_no_page_scrolls_sideways_on_a_phone(site: tuple[str, Path], browser: Any) -> None:
    """The index, every report and team page, and the repository pages: never wider than 390 px."""
    base, folder = site
    found = [*folder.glob("*/*/index.html"), *folder.glob("teams/*/*/index.html")]
    found += sorted(folder.glob("*/1_year/repos/*/*/index.html"))[:5]
    names = (p.relative_to(folder).as_posix() for p in found)
    pages = ["index.html", *sorted(n for n in names if n == n.lower())]  # not the redirects (Mona-Lisa/)
    assert "teams/web/all_time/index.html" in pages and "mona-lisa/1_year/index.html" in pages
    tab = Reader(browser, viewport=PHONE)
    wide = {}
    for path in pages:
        width = tab.open(base + path).evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            wide[path] = width
    tab.close()
    assert wide == {}


def test_axe_finds_no_violations(site: tuple[str, Path], browser: Any) -> None:
    base, _ = site
    problems = {}
    for scheme, viewport, paths, rules in RUNS:
        tab = Reader(browser, viewport=viewport, scheme=scheme)
        # axe-core (550 KB) sent to the browser once per tab, run in each page as it loads,
        # not sent again after every load (a fifth of the test's time).
        tab.context.add_init_script(path=str(AXE))
        for path in paths:
            found = axe_violations(tab.open(base + path), rules)
            if found:
                problems[f"{path} at {viewport['width']}px, {scheme}"] = found
        tab.close()
    assert problems == {}, json.dumps(problems, indent=1, ensure_ascii=False)


def test_many_period_tabs_never_scroll_a_phone_page_sideways(site: tuple[str, Path], browser: Any) -> None:
    """The calendar years sit in a second row that scrolls on its own: the page stays 390 px wide,
    and every tab can be reached (scrolled into view, clicked) and leads to its period."""
    base, folder = site
    tab = Reader(browser, viewport=PHONE)
    page = tab.open(base + f"mona-lisa/{LAST_YEAR}/index.html")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    years = page.locator(".tabs-calendar a")
    assert years.count() >= 6  # Mona-Lisa has years of activity
    current = page.locator('.tabs-calendar a[aria-current="page"]')
    assert current.inner_text() == LAST_YEAR
    oldest = years.last
    oldest.scroll_into_view_if_needed()
    assert oldest.is_visible()
    name = oldest.inner_text()
    oldest.click()
    page.wait_for_load_state("load")
    assert page.url.endswith(f"/mona-lisa/{name}/index.html")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    report = json.loads((folder / "mona-lisa" / name / "report.json").read_text())
    assert shown_numbers(page) == expected_numbers(report)
    tab.close()


def test_screenshots_at_phone_and_desktop_widths(site: tuple[str, Path], browser: Any) -> None:
    base, _ = site
    ARTIFACTS.mkdir(exist_ok=True)
    shots = {
        "report.png": ("mona-lisa/index.html", DESKTOP, "light"),
        "report-phone.png": ("mona-lisa/index.html", PHONE, "light"),
        "report-dark.png": ("mona-lisa/index.html", DESKTOP, "dark"),
        "index.png": ("index.html", DESKTOP, "light"),
        "index-phone.png": ("index.html", PHONE, "dark"),
        "empty-report-phone.png": ("zero-zoe/index.html", PHONE, "light"),
    }
    for name, (path, viewport, scheme) in shots.items():
        tab = Reader(browser, viewport=viewport, scheme=scheme)
        tab.open(base + path).screenshot(path=str(ARTIFACTS / name))
        tab.close()
        assert (ARTIFACTS / name).stat().st_size > 10_000  # a picture, not a blank page
    # The sharing surfaces (issue 15): the index and a team page at both widths, light and dark,
    # and the 1-year card in both variants at its own size.
    sharing = {
        f"{what}-{viewport['width']}-{scheme}.png": (path, viewport, scheme)
        for what, path in (
            ("report", "mona-lisa/index.html"),
            ("index", "index.html"),
            ("team", "teams/platform/index.html"),
        )
        for viewport in (DESKTOP, PHONE)
        for scheme in ("light", "dark")
    }
    card = {"width": 495, "height": 195}
    sharing |= {"card-light.png": ("mona-lisa/card.svg", card, "light")}
    sharing |= {"card-dark.png": ("mona-lisa/card-dark.svg", card, "light")}
    # The report's repositories: a line each, the first few open to their largest pull requests.
    sharing |= {
        f"report-repos-{viewport['width']}-{scheme}.png": (
            "mona-lisa/index.html#repos-heading",
            viewport,
            scheme,
        )
        for viewport in (DESKTOP, PHONE)
        for scheme in ("light", "dark")
    }
    for name, (path, viewport, scheme) in sharing.items():
        tab = Reader(browser, viewport=viewport, scheme=scheme)
        page = tab.open(base + path)
        if "#" in path:
            page.locator("#" + path.partition("#")[2]).scroll_into_view_if_needed()
            page.evaluate("window.scrollBy(0, -16)")
        page.screenshot(path=str(ARTIFACTS / name))
        tab.close()
        assert (ARTIFACTS / name).stat().st_size > 5_000  # a picture, not a blank page
    if os.environ.get("GITBRAG_UPDATE_SCREENSHOTS") == "1":
        for name in ("report.png", "report-phone.png", "report-dark.png", "index.png", *sharing):
            shutil.copyfile(ARTIFACTS / name, DOCS / name)
