"""The site served under a path prefix, as GitHub Pages serves a project site (`/REPO/`).

The demo site is published by `gitbrag-refresh --once --demo` with GITBRAG_BASE_URL at the
prefix, served by the real nginx with `deploy/nginx-prefix.conf` (the prefix's `alias` is
the published folder), and read in Debian's headless Chromium: every response of the
index, reports, a repository page, a "more" page, a team page and the 404 page (at any
depth) is recorded, and every same-origin `<a href>` on them is followed. Nothing may be a
404 but the missing address itself, and nothing may point outside the prefix: on Pages
the origin's root is another site.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urlsplit

import httpx
import pytest

from tests.conftest import free_port
from tests.doors.test_nginx import answers, log_tail, main_conf, nginx_binary, substitute
from tests.publish.test_site_browser import CHROMIUM, CHROMIUM_ARGS
from tests.support import clean_env, refresh, wait_for

ROOT = Path(__file__).parents[2]
CONF = ROOT / "deploy" / "nginx-prefix.conf"
PREFIX = "/brag-pages/"  # the repository's name on GitHub Pages
TEAMS = "platform=Mona-Lisa,prolific-pat,steady-sam"
MISSING = "no-such-user/2_years/repos/deep/er/index.html"


def prefixed_conf(port: int, site: Path) -> str:
    """deploy/nginx-prefix.conf with its placeholders filled: the port, the prefix, the folder."""
    conf = CONF.read_text()
    conf = substitute(conf, r"^(\s*)listen\s+80\s*;", rf"\g<1>listen 127.0.0.1:{port};", 1)
    conf = substitute(conf, r"/usr/share/nginx/html/", f"{site}/", 3)
    return substitute(conf, r"/REPO\b", PREFIX.rstrip("/"), 10)  # comments included


@dataclass
class Served:
    origin: str
    base: str  # origin + PREFIX
    site: Path


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    work = tmp_path_factory.mktemp("prefix")
    site = work / "site"
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    env = clean_env(GITBRAG_BASE_URL=origin + PREFIX, GITBRAG_TEAMS=TEAMS)
    published = refresh(work, "--once", "--demo", "--site-dir", str(site), env=env)
    assert published.returncode == 0, published.stderr[-3000:]
    prefix = work / "nginx"
    prefix.mkdir()
    server_conf = prefix / "gitbrag.conf"
    server_conf.write_text(prefixed_conf(port, site))
    main = prefix / "nginx.conf"
    main.write_text(main_conf(prefix, server_conf))
    error_log = prefix / "error.log"
    nginx = subprocess.Popen(
        [
            nginx_binary(), "-p", str(prefix), "-e", str(error_log), "-c", str(main),
            "-g", f"daemon off; pid {prefix / 'nginx.pid'}; error_log {error_log} info;",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_for(lambda: answers(origin + PREFIX, nginx, error_log), 30, "nginx")
        yield Served(origin=origin, base=origin + PREFIX, site=site)
    finally:
        nginx.terminate()
        nginx.wait(timeout=30)
    assert nginx.returncode == 0, log_tail(error_log)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (never `playwright install`)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class NetworkLog:
    """Every response and failed request of a tab; other hosts are aborted (and noted)."""

    responses: list[tuple[int, str]] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)


def open_tab(browser: Any, log: NetworkLog) -> Any:
    context = browser.new_context()

    def route(request: Any) -> None:
        if urlsplit(request.request.url).hostname == "127.0.0.1":
            request.continue_()
        else:
            log.outside.append(request.request.url)
            request.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("response", lambda r: log.responses.append((r.status, r.url)))
    page.on(
        "requestfailed",
        lambda r: None if r.url in log.outside else log.failed.append(f"{r.url}: {r.failure}"),
    )
    return page


def links_of(page: Any) -> list[str]:
    """The page's `<a href>` targets, resolved as the browser resolves them, fragments dropped
    (a link within the page, such as "Skip to content", is not a link to follow)."""
    script = "links => links.filter(a => !a.getAttribute('href').startsWith('#')).map(a => a.href)"
    hrefs: list[str] = page.eval_on_selector_all("a[href]", script)
    return [urldefrag(h).url for h in hrefs]


def assert_all_resolve(served: Served, browser: Any, paths: list[str], missing: str | None = None) -> None:
    """Load each page, then follow every same-origin link found on them."""
    log = NetworkLog()
    page = open_tab(browser, log)
    found: set[str] = set()
    for path in paths + ([missing] if missing else []):
        response = page.goto(served.base + path)
        if path != path.lower():  # the redirect page: the reader lands on the report
            page.wait_for_url(served.base + path.lower() + "index.html")
        page.wait_for_load_state("load")
        assert response is not None
        assert response.status == (404 if path == missing else 200), path
        found.update(links_of(page))
    page.context.close()
    expected_miss = served.base + missing if missing else None
    misses = [(s, u) for s, u in log.responses if s >= 400 and u != expected_miss]
    assert misses == [], misses
    assert log.failed == [], log.failed
    assert {urlsplit(u).hostname for u in log.outside} <= {"avatars.githubusercontent.com"}, log.outside
    ours = sorted(u for u in found if urlsplit(u).netloc == urlsplit(served.origin).netloc)
    assert ours, "no link on these pages"
    outside_prefix = [u for u in ours if not u.startswith(served.base)]
    assert outside_prefix == [], outside_prefix
    with httpx.Client(follow_redirects=True, timeout=10) as client:
        broken = [(r.status_code, u) for u in ours if (r := client.get(u)).status_code != 200]
    assert broken == [], broken


def test_every_link_and_asset_resolves_under_the_prefix(served: Served, browser: Any) -> None:
    folder = served.site
    repo_page = next((folder / "prolific-pat").glob("*/repos/*/*/index.html"))
    more_page = next((folder / "mona-lisa").glob("*/more/*.html"))
    pages = [
        "",  # the index, as the prefix
        "index.html",
        "steady-sam/",  # the report (1 year)
        "steady-sam/2024/index.html",  # a calendar year
        "steady-sam/all_time/",
        "Mona-Lisa/",  # GitHub's spelling of the login: a page that sends the reader on
        repo_page.relative_to(folder).as_posix(),
        more_page.relative_to(folder).as_posix(),
        "teams/platform/",
        "teams/platform/2_years/index.html",
    ]
    assert_all_resolve(served, browser, pages, missing=MISSING)


def test_the_404_page_works_at_any_depth_under_the_prefix(served: Served, browser: Any) -> None:
    for missing in ["nobody", "a/b/c/d/e/", "steady-sam/1999/index.html", "assets/site.0000.js"]:
        assert_all_resolve(served, browser, [], missing=missing)
    # The prefix without its slash, a folder without its slash: redirected within the prefix.
    for path in [PREFIX.rstrip("/"), PREFIX + "steady-sam"]:
        response = httpx.get(served.origin + path, follow_redirects=True)
        assert response.status_code == 200, path
        assert str(response.url).startswith(served.base), response.url


def test_brag_documents_and_assets_keep_their_headers_under_the_prefix(served: Served) -> None:
    brag = httpx.get(served.base + "steady-sam/1_year/brag.md")
    assert brag.status_code == 200
    assert brag.headers["content-type"] == "text/markdown; charset=utf-8"
    asset = next(p for p in (served.site / "assets").iterdir() if p.suffix == ".css")
    response = httpx.get(served.base + "assets/" + asset.name)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert response.content == asset.read_bytes()
    hidden = served.site / "steady-sam" / ".index.html.abc123.tmp"
    hidden.write_text("<html>half")
    try:
        assert httpx.get(served.base + "steady-sam/.index.html.abc123.tmp").status_code == 404
    finally:
        hidden.unlink()
