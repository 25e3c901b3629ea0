"""The rough edges a first-time user meets (issue 15), each as that user meets it: the
commands run as processes, a terminal run under a real pseudo-terminal, the pages through a
real web server and a real browser.

The demo runs are shared (module fixture `demo`): a plain run as cron makes it, then the
site folder is deleted and a run on a terminal (with `-v`: its log lines too) publishes it
again, then a plain run finds nothing to do.
"""

from __future__ import annotations

import fcntl
import functools
import io
import json
import logging
import os
import pty
import re
import select
import shutil
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from rich.console import Console

from gitbrag.coordination.sqlite import SQLiteStore
from gitbrag.doors.hook import create_app
from gitbrag.doors.terminal import print_report
from gitbrag.github.client import GitHubClient
from gitbrag.models import PERIODS, Collection, Profile, Report, SocialAccount
from gitbrag.publish.publisher import IndexEntry, Publisher
from gitbrag.publish.safepath import SiteRoot
from gitbrag.refresh import Refresher
from gitbrag.settings import Settings
from tests.conftest import free_port
from tests.publish.test_publish import big_collection, make_collection, make_pr, reports_for
from tests.support import DEMO_USERS, REFRESH, clean_env, refresh

ROOT = Path(__file__).parent.parent
GITBRAG = str(Path(sys.executable).with_name("gitbrag"))
SUMMARY_RE = re.compile(r"refreshed=(\d+) skipped=(\d+) failed=(\d+)")
ANSI_RE = re.compile(r"\x1b(?:\[[0-9;?]*[ -/]*[@-~]|\][^\x07]*\x07|[()][0-9A-B]|[=>78])")
# rich's bar: "… 8/20 0:00:01 …" (completed/total, then the elapsed time)
BAR_RE = re.compile(r"(\d+)/(\d+)\s+\d+:\d\d:\d\d")
PHONE_WIDTH = 390


# --- a pseudo-terminal ------------------------------------------------------------------------


def run_on_terminal(argv: list[str], cwd: Path, env: dict[str, str], columns: int = 100) -> tuple[int, str]:
    """Run `argv` with stdin, stdout and stderr on a new pseudo-terminal `columns` wide;
    returns its exit code and every byte it wrote (decoded), escape sequences included."""
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    env = {k: v for k, v in env.items() if k not in ("COLUMNS", "LINES")} | {"TERM": "xterm-256color"}
    process = subprocess.Popen(argv, cwd=cwd, env=env, stdin=terminal, stdout=terminal, stderr=terminal)
    os.close(terminal)
    output = bytearray()
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        ready, _, _ = select.select([controller], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: the last writer closed the terminal
                break
            if not chunk:
                break
            output += chunk
        elif process.poll() is not None:
            break
    os.close(controller)
    return process.wait(timeout=60), output.decode("utf-8", "replace")


def screen_lines(output: str) -> list[str]:
    """What a terminal shows line by line, each redraw apart: escape sequences removed,
    split at carriage returns and newlines."""
    text = ANSI_RE.sub("", output)
    return [line.rstrip() for line in re.split(r"[\r\n]+", text) if line.strip()]


# --- the demo, three times --------------------------------------------------------------------


@dataclass
class DemoRuns:
    work: Path
    first: subprocess.CompletedProcess[str]  # plain, as in cron
    terminal_code: int
    terminal: str  # on a pseudo-terminal with -v, after the site folder was deleted
    again: subprocess.CompletedProcess[str]  # plain, nothing due

    @property
    def site(self) -> Path:
        return self.work / "demo-site"  # the demo's own folder


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoRuns:
    work = tmp_path_factory.mktemp("demo")
    env = clean_env()
    first = refresh(work, "--demo", env=env)
    assert first.returncode == 0, first.stderr[-3000:]
    shutil.rmtree(work / "demo-site")
    code, output = run_on_terminal([REFRESH, "--once", "--demo", "-v"], work, env)
    again = refresh(work, "--demo", env=env)
    return DemoRuns(work, first, code, output, again)


def summary_of(text: str) -> tuple[int, int, int]:
    found = SUMMARY_RE.findall(text)
    assert found, text[-3000:]
    refreshed, skipped, failed = found[-1]
    return int(refreshed), int(skipped), int(failed)


def test_on_a_terminal_logs_print_above_a_bar_counted_in_reports_and_the_end_says_where_the_site_is(
    demo: DemoRuns,
) -> None:
    assert demo.terminal_code == 0, demo.terminal[-3000:]
    lines = screen_lines(demo.terminal)
    refreshed, _, failed = summary_of("\n".join(lines))
    assert refreshed > 0 and failed == 0
    bars = [line for line in lines if BAR_RE.search(line)]
    assert bars, lines
    for bar in bars:  # a log line spliced into the bar's line: "…refreshedinfo: report refreshed …"
        assert "info:" not in bar and "user=" not in bar and "gitbrag." not in bar, bar
    totals = {int(total) for bar in bars for _, total in BAR_RE.findall(bar)}
    assert 0 not in totals, "the bar showed 0/0"
    assert max(totals) == refreshed, f"the bar counts {totals}, the summary {refreshed} reports"
    logs = [line for line in lines if line.startswith("info: ")]
    assert any("generation scheduled" in line for line in logs), lines
    site = demo.site.resolve()
    assert lines[-3:] == [
        f"site: {site}",
        "view it with: python3 -m http.server --directory demo-site 8000",
        "then open http://127.0.0.1:8000/",
    ], lines[-4:]


def test_in_cron_the_summary_stays_the_last_line_and_nothing_is_drawn(demo: DemoRuns) -> None:
    for run in (demo.first, demo.again):
        assert SUMMARY_RE.fullmatch(run.stdout.splitlines()[-1]), run.stdout
        assert "\x1b[" not in run.stdout + run.stderr
        assert "site:" not in run.stderr and "http.server" not in run.stderr
        assert all(
            re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ [A-Z]+ ", line) for line in run.stderr.splitlines()
        )


def test_the_demo_says_what_it_does_and_regenerates_only_what_is_missing_or_stale(demo: DemoRuns) -> None:
    refreshed, _, _ = summary_of(demo.first.stdout)
    assert refreshed == len(DEMO_USERS) * len(PERIODS)
    said = [line for line in demo.first.stderr.splitlines() if " demo: " in line]
    assert len(said) == 1 and "only missing or stale" in said[0], demo.first.stderr[:2000]
    assert "force=True" not in demo.first.stderr and "reason=forced" not in demo.first.stderr
    # The deleted site is missing pages: published again although the store calls them fresh.
    assert summary_of(demo.terminal)[0] == refreshed
    assert "pages missing" in demo.terminal
    # Nothing stale, nothing missing: nothing regenerated.
    assert summary_of(demo.again.stdout) == (0, refreshed, 0)
    assert "generation scheduled" not in demo.again.stderr


def test_logs_say_one_generation_per_user_and_spell_logins_as_github_does(demo: DemoRuns) -> None:
    scheduled = [line for line in demo.first.stderr.splitlines() if "generation scheduled" in line]
    users = sorted(re.search(r" user=(\S+)", line).group(1) for line in scheduled)  # type: ignore[union-attr]
    assert users == sorted(DEMO_USERS)  # one per user, not one per period; "Mona-Lisa", not "mona-lisa"
    assert all(" periods=all " in line for line in scheduled), scheduled
    assert "user=mona-lisa" not in demo.first.stderr
    refreshed = [line for line in demo.first.stderr.splitlines() if "report refreshed" in line]
    assert any("user=Mona-Lisa " in line and f"reports={len(PERIODS)} " in line for line in refreshed)


def test_logs_above_the_bar_are_redacted_and_the_plain_handler_comes_back() -> None:
    from gitbrag.logs import configure_logging, logs_above

    token = "ghp_terminal_token_0123456789"
    configure_logging("text", "INFO", secrets=[token])
    screen = io.StringIO()
    with logs_above(Console(file=screen, force_terminal=True, width=120), "INFO"):
        logging.getLogger("gitbrag.test").info(f"sent {token}", extra={"header": f"Bearer {token}"})
    assert token not in screen.getvalue() and "sent ***" in screen.getvalue()
    handlers = [h for h in logging.getLogger().handlers if getattr(h, "_gitbrag", False)]
    assert [type(h) for h in handlers] == [logging.StreamHandler]


# --- the login as GitHub spells it ------------------------------------------------------------


def assert_redirects(page: Path, target: str) -> None:
    html = page.read_text()
    assert f'<meta http-equiv="refresh" content="0; url={target}">' in html
    assert f'<link rel="canonical" href="{target}">' in html
    assert f'<a href="{target}">' in html


def test_the_login_as_github_spells_it_leads_to_the_report(demo: DemoRuns) -> None:
    assert_redirects(demo.site / "Mona-Lisa" / "index.html", "../mona-lisa/index.html")
    for period in PERIODS:
        assert_redirects(
            demo.site / "Mona-Lisa" / period / "index.html", f"../../mona-lisa/{period}/index.html"
        )
    periods = [p.name for p in (demo.site / "mona-lisa").iterdir() if p.is_dir()]  # calendar years too
    assert set(PERIODS) <= set(periods)
    assert sorted(p.name for p in (demo.site / "Mona-Lisa").iterdir()) == sorted(["index.html", *periods])
    assert not (demo.site / "Mona-Lisa" / "1_year" / "report.json").exists()  # never a second copy
    assert not (demo.site / "Zero-Zoe").exists()  # only where GitHub's spelling differs


def test_nginx_serves_the_redirect_and_the_404_page(demo: DemoRuns, tmp_path: Path) -> None:
    from tests.doors.test_nginx import deployed_conf, main_conf, nginx_binary

    guide = (ROOT / "docs" / "site.md").read_text()
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    for line in ("try_files $uri $uri/ =404;", "error_page 404 /404.html;"):
        assert line in guide and line in conf
    port = free_port()
    server_conf = tmp_path / "gitbrag.conf"
    server_conf.write_text(deployed_conf(port, demo.site, f"127.0.0.1:{free_port()}"))
    (tmp_path / "nginx.conf").write_text(main_conf(tmp_path, server_conf))
    error_log = tmp_path / "error.log"
    nginx = subprocess.Popen(
        [nginx_binary(), "-p", str(tmp_path), "-e", str(error_log), "-c", str(tmp_path / "nginx.conf"),
         "-g", f"daemon off; pid {tmp_path / 'nginx.pid'};"],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )  # fmt: skip
    origin = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(origin + "/", timeout=2)
                break
            except httpx.TransportError:
                assert nginx.poll() is None and time.monotonic() < deadline, error_log.read_text()
                time.sleep(0.05)
        typed = httpx.get(origin + "/Mona-Lisa/")
        assert typed.status_code == 200 and 'http-equiv="refresh"' in typed.text
        target = re.search(r'url=([^"]+)"', typed.text).group(1)  # type: ignore[union-attr]
        report = httpx.get(str(typed.url.join(target)))
        assert report.status_code == 200 and "Mona Lisa Octocat" in report.text
        assert report.url.path == "/mona-lisa/index.html"
        missing = httpx.get(origin + "/nobody-here/")
        assert missing.status_code == 404 and "Page not found" in missing.text
    finally:
        nginx.terminate()
        nginx.wait(timeout=30)


class CaseFoldingRoot(SiteRoot):
    """A site root whose folder names are case-insensitive, as on macOS's default disk:
    `Mona-Lisa/` and `mona-lisa/` are one folder."""

    def folder(self, parts: Any, *, create: bool) -> Any:
        return super().folder([p.lower() for p in parts], create=create)


def test_redirects_follow_no_link_and_are_skipped_where_both_spellings_are_one_folder(tmp_path: Path) -> None:
    site, outside = tmp_path / "site", tmp_path / "outside"
    outside.mkdir()
    (outside / "index.html").write_text("not the site's")
    site.mkdir()
    (site / "OctoCat").symlink_to(outside, target_is_directory=True)
    Publisher(site).publish_user(reports_for(make_collection("OctoCat")))
    assert (outside / "index.html").read_text() == "not the site's" and len(list(outside.iterdir())) == 1
    assert not (site / "OctoCat").is_symlink()
    assert_redirects(site / "OctoCat" / "index.html", "../octocat/index.html")

    folded = tmp_path / "folded"
    publisher = Publisher(folded)
    publisher._site = CaseFoldingRoot(folded)
    publisher.publish_user(reports_for(make_collection("OctoCat")))
    page = (folded / "octocat" / "index.html").read_text()
    assert "http-equiv" not in page and "Octo Cat" in page  # the report, not a redirect to itself


# --- gitbrag report ---------------------------------------------------------------------------


def test_gitbrag_report_shows_whole_names_page_roles_and_the_dates(demo: DemoRuns, tmp_path: Path) -> None:
    # The demo's published report of the same user, the same day: the repositories to expect.
    report = Report.model_validate_json((demo.site / "mona-lisa" / "1_year" / "report.json").read_bytes())
    command = [GITBRAG, "report", "Mona-Lisa", "--demo"]
    code, output = run_on_terminal(command, tmp_path, clean_env(), columns=80)
    assert code == 0, output
    text = ANSI_RE.sub("", output)
    assert "…" not in text
    for repo in report.repositories:
        assert repo.name in text, repo.name
    assert not re.search(r"\b(MEMBER|CONTRIBUTOR|FIRST_TIME|COLLABORATOR|OWNER)", text)
    # The page's label, wrapped between its words when the column is narrow.
    assert re.search(r"First-time( |[^\n]*\n\s*)contributor", text.replace("\r\n", "\n")), text
    dates = re.search(r"between (\d+ \w+ \d{4}) and (\d+ \w+ \d{4}) \(UTC\)\.", text)  # the zone named
    assert dates, text
    since, until = (datetime.strptime(d, "%d %b %Y").replace(tzinfo=UTC) for d in dates.groups())
    assert (until - since).days == 365 and abs(until - report.until) < timedelta(days=2)
    # A terminal too narrow for the table: one line per repository, names still whole.
    narrow = io.StringIO()
    print_report(report, Console(file=narrow, width=40))
    assert all(repo.name in narrow.getvalue().replace("\n", "") for repo in report.repositories)
    assert "…" not in narrow.getvalue()


def test_gitbrag_report_refuses_a_name_that_is_not_a_login(tmp_path: Path) -> None:
    started = time.monotonic()
    result = subprocess.run(
        [GITBRAG, "report", "bad--name", "--demo"], cwd=tmp_path, env=clean_env(),
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip() == "gitbrag: 'bad--name' is not a valid GitHub login"
    assert "does not exist" not in result.stderr
    assert time.monotonic() - started < 10  # refused before the fake GitHub even starts


# --- the hook ---------------------------------------------------------------------------------


async def test_the_hooks_root_lists_its_endpoints(tmp_path: Path) -> None:
    settings = Settings(
        _env_file=None, github_token=SecretStr("t"), site_dir=tmp_path / "site", state_path=tmp_path / "s.db"
    )
    store = SQLiteStore(tmp_path / "s.db")
    async with GitHubClient(["t"], "http://127.0.0.1:9", "http://127.0.0.1:9/graphql") as client:
        refresher = Refresher(store=store, client=client, publisher=Publisher(tmp_path / "site"))
        transport = httpx.ASGITransport(app=create_app(refresher, settings))
        async with httpx.AsyncClient(transport=transport, base_url="http://hook") as http:
            answer = await http.get("/")
            routes = {(e["method"], e["path"].split("[")[0]) for e in answer.json()["endpoints"]}
            for method, path in sorted(routes):  # every endpoint listed is one the hook answers
                probe = path.replace("<username>", "zero-zoe")
                if method == "GET":
                    assert (await http.get(probe)).status_code != 404, path
    await store.close()
    assert answer.status_code == 200
    assert answer.json()["service"] == "gitbrag refresh hook"
    assert {("POST", "/refresh/<username>"), ("GET", "/status/<username>"), ("GET", "/healthz"),
            ("GET", "/metrics"), ("GET", "/")} <= routes  # fmt: skip
    assert all(e["does"] for e in answer.json()["endpoints"])


# --- the report page's words ------------------------------------------------------------------


def publish(site: Path, collection: Collection) -> dict[str, Report]:
    publisher = Publisher(site)
    reports = reports_for(collection)
    publisher.publish_user(reports)
    publisher.publish_index([IndexEntry.from_report(reports["1_year"])])
    publisher.publish_static()
    return reports


def visible_text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def profile_items(page: Path) -> list[str]:
    html = page.read_text()
    meta = html.split('<ul class="profile-meta">', 1)[1].split("</ul>", 1)[0]
    return [visible_text(item).strip() for item in re.findall(r"<li>(.*?)</li>", meta, flags=re.S)]


def test_social_links_show_the_handle_and_the_website_once(tmp_path: Path) -> None:
    profile = Profile(
        login="mona",
        name="Mona",
        blog="mona.example.com/",
        social_accounts=[
            SocialAccount(provider="twitter", url="https://twitter.com/monalisa"),
            SocialAccount(provider="linkedin", url="https://www.linkedin.com/in/mona-lisa-octocat"),
            SocialAccount(provider="mastodon", url="https://mastodon.social/@mona"),
            SocialAccount(provider="bluesky", url="https://bsky.app/profile/mona.bsky.social"),
            SocialAccount(provider="generic", url="https://www.Mona.example.com"),  # the website again
            SocialAccount(provider="generic", url="https://pat.example.org/about/"),
        ],
    )
    publish(tmp_path, make_collection("mona", profile=profile))
    assert profile_items(tmp_path / "mona" / "index.html") == [
        "Website mona.example.com",
        "X @monalisa",
        "LinkedIn in/mona-lisa-octocat",
        "Mastodon @mona@mastodon.social",
        "Bluesky @mona.bsky.social",
        "Link pat.example.org/about",
    ]


def test_languages_have_units_and_star_gains_are_the_repositories(tmp_path: Path) -> None:
    publish(tmp_path, make_collection())
    text = visible_text((tmp_path / "octocat" / "index.html").read_text())
    assert re.search(r"Python [\d,]+ lines [\d.]+%", text), text
    assert "stars gained by repositories they contributed to" in text
    assert "Star increase" not in text and "star increase" not in text.lower()


def test_an_empty_period_links_only_to_a_period_that_has_pull_requests(tmp_path: Path) -> None:
    # Nothing at all: no link to another empty page.
    publish(tmp_path / "a", make_collection("zoe", prs=[]))
    for period in PERIODS:
        page = (tmp_path / "a" / "zoe" / period / "index.html").read_text()
        assert "No pull requests in this period" in page
        assert 'class="button"' not in page, period
    # Only old work (three years ago): the 1-year page offers all time, which has it.
    old = [make_pr(1, "Old but merged", "https://github.com/octo/hello-world/pull/1", 3 * 365)]
    publish(tmp_path / "b", make_collection("ola", prs=old))
    page = (tmp_path / "b" / "ola" / "1_year" / "index.html").read_text()
    assert '<a class="button" href="../all_time/index.html">See all time</a>' in page
    assert "All time has 1 pull request." in page


# --- long unbroken names at 390 px ------------------------------------------------------------


def long_names_collection() -> Collection:
    """A prolific user whose every name is one unbroken word: a repository past the card
    limit, one whose card links to its own pages, a name as long as GitHub allows."""
    collection = big_collection(45, 8)
    unbroken = "o" * 39 + "/" + "r" * 100
    first_repo = "some-organisation-0/"
    prs = [
        pr.model_copy(update={"repo": unbroken, "title": "T" * 250}) if pr.repo.startswith(first_repo)
        else pr.model_copy(update={"title": "U" * 250})
        for pr in collection.pull_requests
    ]  # fmt: skip
    repositories = dict(collection.repositories)
    first = repositories.pop("some-organisation-0/a-fairly-long-repository-name-0")
    repositories[unbroken] = first.model_copy(update={"name_with_owner": unbroken, "description": "D" * 300})
    profile = collection.profile.model_copy(update={"name": "N" * 90, "bio": "B" * 200, "company": "C" * 90})
    return collection.model_copy(
        update={"pull_requests": prs, "repositories": repositories, "profile": profile}
    )


@pytest.fixture
def long_site(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    site = tmp_path / "site"
    publish(site, long_names_collection())
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/", site
    server.shutdown()
    server.server_close()


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_long_unbroken_names_never_make_a_page_scroll_sideways_on_a_phone(
    long_site: tuple[str, Path],
) -> None:
    from playwright.sync_api import sync_playwright

    from tests.publish.test_site_browser import CHROMIUM, CHROMIUM_ARGS

    base, site = long_site
    folder = site / "prolific" / "1_year"
    own = next(p for p in (folder / "repos").rglob("index.html") if "ooo" in str(p))
    pages = ["prolific/", "prolific/1_year/more/index.html", own.relative_to(site).as_posix()]
    wide: dict[str, Any] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": PHONE_WIDTH, "height": 844}).new_page()
        for path in pages:
            page.goto(base + path)
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > PHONE_WIDTH:
                wide[path] = (width, page.evaluate(OVERFLOWING))
        browser.close()
    assert wide == {}, json.dumps(wide, indent=1)


# Which elements reach past the viewport: what a failure names.
OVERFLOWING = """() => [...document.querySelectorAll('main *')]
  .filter(el => el.getBoundingClientRect().right > innerWidth + 0.5)
  .slice(0, 5).map(el => el.tagName + '.' + el.className + ' in .' + el.parentElement.className)"""
