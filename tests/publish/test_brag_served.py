"""`brag.md`, the document people paste into reviews, as a reader opens it (issue 27): in
Debian's headless Chromium (Playwright, never a downloaded browser), served by the README's
own `python3 -m http.server` (`text/markdown`, no charset: the browser decodes Windows-1252)
and by nginx with `deploy/nginx.conf` (the real nginx, as tests/doors/test_nginx.py runs it).

Either way the reader sees the text as written: no "â" where a character was mangled, no
backslash of an escape CommonMark does not need (`@Mona\\-Lisa`), and no relative link that
breaks once the document is pasted elsewhere.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gitbrag.fakegithub.server import FakeGitHubServer, shared_dataset
from tests.conftest import free_port
from tests.doors.test_nginx import answers, deployed_conf, log_tail, main_conf, nginx_binary
from tests.publish.test_site_browser import CHROMIUM, CHROMIUM_ARGS
from tests.support import clean_env, refresh, wait_for

USERS = ["Mona-Lisa", "hostile-hank"]
DOCUMENT = "/mona-lisa/1_year/brag.md"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A site published as cron publishes it, without GITBRAG_BASE_URL (the README's default)."""
    work = tmp_path_factory.mktemp("brag-served")
    with FakeGitHubServer(shared_dataset()) as fake:
        env = clean_env(GITHUB_TOKEN="t", GITBRAG_GITHUB_API_URL=fake.url, GITBRAG_USERS=",".join(USERS))
        result = refresh(work, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    return work / "site"


@pytest.fixture(scope="module")
def http_server(site: Path) -> Iterator[str]:
    """`python3 -m http.server --directory site PORT`, as the README says."""
    python = shutil.which("python3") or "python3"
    port = free_port()
    log = site.parent / "http.server.log"
    with log.open("w") as sink:
        server = subprocess.Popen(
            [python, "-m", "http.server", "--bind", "127.0.0.1", "--directory", str(site), str(port)],
            stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
    origin = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: answers(origin + "/index.html", server, log), 30, "python3 -m http.server")
        yield origin
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture(scope="module")
def nginx(site: Path) -> Iterator[str]:
    """nginx with deploy/nginx.conf over the same site (the hook's upstream is never asked)."""
    prefix = site.parent / "nginx"
    prefix.mkdir()
    port = free_port()
    server_conf = prefix / "gitbrag.conf"
    server_conf.write_text(deployed_conf(port, site, f"127.0.0.1:{free_port()}"))
    main = prefix / "nginx.conf"
    main.write_text(main_conf(prefix, server_conf))
    error_log = prefix / "error.log"
    process = subprocess.Popen(
        [
            nginx_binary(), "-p", str(prefix), "-e", str(error_log), "-c", str(main),
            "-g", f"daemon off; pid {prefix / 'nginx.pid'}; error_log {error_log} info;",
        ],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )  # fmt: skip
    origin = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: answers(origin + "/index.html", process, error_log), 30, "nginx")
        yield origin
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert process.returncode == 0, log_tail(error_log)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (never `playwright install`)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def shown(browser: Any, url: str) -> str:
    """The text Chromium shows for `url` (it must show it, not download it)."""
    page = browser.new_page()
    try:
        response = page.goto(url)
        assert response is not None and response.status == 200, url
        return str(page.evaluate("document.body.innerText"))
    finally:
        page.close()


def assert_reads_right(text: str, site: Path) -> None:
    assert "â" not in text and "\ufffd" not in text, [line for line in text.splitlines() if "â" in line][:3]
    assert "\\" not in text, [line for line in text.splitlines() if "\\" in line][:3]
    assert text.startswith("# Mona Lisa Octocat (@Mona-Lisa): 1 year")
    assert re.search(r"\*\*\+[\d,]+ -[\d,]+ lines\*\* written", text), text[:800]
    assert "](index.html)" not in text and "(index.html)" not in text
    written = (site / DOCUMENT.lstrip("/")).read_text(encoding="utf-8")
    assert text.strip() == written.strip()  # what a reader copies is the document


@pytest.mark.parametrize("server", ["http_server", "nginx"])
def test_brag_md_reads_right_in_a_browser(
    server: str, request: pytest.FixtureRequest, browser: Any, site: Path
) -> None:
    origin = request.getfixturevalue(server)
    assert_reads_right(shown(browser, origin + DOCUMENT), site)


def test_nginx_serves_markdown_as_utf_8_text(nginx: str, browser: Any) -> None:
    response = httpx.get(nginx + DOCUMENT)
    assert response.headers["content-type"] == "text/markdown; charset=utf-8"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "public, max-age=300"
    # Names GitHub gives outside ASCII read as written.
    text = shown(browser, nginx + "/hostile-hank/1_year/brag.md")
    assert "Zoë Ñandú" in text and "東京" in text and "â" not in text
    # A missing document is the site's 404 page, as any missing address.
    missing = httpx.get(nginx + "/nobody/1_year/brag.md")
    assert missing.status_code == 404 and "</html>" in missing.text
    # The hook's addresses stay the hook's (regex locations are tried in order).
    assert httpx.get(nginx + "/status/mona-lisa.md").status_code == 502
