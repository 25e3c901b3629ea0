"""Nobody gets in, nothing leaks.

* A realistic session (a cron run with a pool of two tokens, then the service with its
  hook and a secret on Redis, a refresh that fails because the tokens were revoked, the
  status and metrics fetched) and then EVERY output is searched for the tokens and the
  hook secret: both processes' stdout and stderr, every file under the working directory
  (the site, the SQLite state file and its WAL), every value in Redis, the hook's answers.
* The site that session published is the demo site, hostile-hank included: no GitHub text
  renders as markup, no link or source uses a scheme other than http(s), no inline script
  or event handler exists anywhere.
* Usernames are validated before any use: a name that is not a GitHub login never reaches
  the store, GitHub or the file system (the hook's side is `tests/doors/test_hook_properties.py`,
  which throws arbitrary paths, headers and bodies at it).
* The hook listens on loopback unless told otherwise.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest
import redis

from gitbrag.doors.hook import sign_request
from gitbrag.fakegithub.app import FakeConfig
from gitbrag.fakegithub.dataset import HOSTILE_STRINGS
from gitbrag.fakegithub.limits import token_id
from gitbrag.fakegithub.server import FakeGitHubServer, shared_dataset
from gitbrag.settings import Settings
from tests.support import DEMO_USERS, REFRESH, clean_env, refresh, summary, wait_for

TOKENS = ("ghp_SECURITYpoolTOKENnumberONE1234567", "ghp_SECURITYpoolTOKENnumberTWO7654321")
SECRET = "hook-SECRET-do-not-leak-9a8b7c"
SECRETS = (*TOKENS, SECRET)


def redis_dump(url: str) -> str:
    """Every key and value in Redis, as text."""
    out: list[str] = []
    with redis.Redis.from_url(url, decode_responses=True) as r:
        for key in r.scan_iter(count=1000):
            out.append(f"{key} {_value(r, key)}")
    return "\n".join(out)


def _value(r: redis.Redis, key: str) -> object:
    kind = r.type(key)
    if kind == "string":
        return r.get(key)
    if kind == "hash":
        return r.hgetall(key)
    if kind == "set":
        return sorted(r.smembers(key))
    if kind == "zset":
        return r.zrange(key, 0, -1, withscores=True)
    return r.lrange(key, 0, -1)


def files_text(root: Path) -> dict[Path, str]:
    return {p: p.read_bytes().decode("utf-8", "replace") for p in root.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory, redis_server: object) -> Iterator[dict[str, str]]:
    """Run the session once; yield every output by name (the site stays in `work`)."""
    work = tmp_path_factory.mktemp("security")
    redis_url = redis_server.url  # type: ignore[attr-defined]
    with redis.Redis.from_url(redis_url) as r:
        r.flushall()
    outputs: dict[str, str] = {}
    config = FakeConfig(valid_tokens=frozenset(TOKENS))
    with FakeGitHubServer(shared_dataset(), config) as gh:
        env = clean_env(
            GITHUB_TOKEN=",".join(TOKENS),
            GITBRAG_GITHUB_API_URL=gh.url,
            GITBRAG_HOOK_SECRET=SECRET,
            GITBRAG_LOG_LEVEL="DEBUG",
        )
        cron = refresh(work, "--user", ",".join(DEMO_USERS), env=env)
        assert summary(cron) == "refreshed=20 skipped=0 failed=0", cron.stderr[-2000:]
        outputs["cron stdout"], outputs["cron stderr"] = cron.stdout, cron.stderr
        outputs["both tokens used"] = json.dumps(
            sorted(gh.app_state.stats.tokens) == sorted(token_id(t) for t in TOKENS)
        )

        service_env = env | {
            "GITBRAG_REDIS_URL": redis_url,
            "GITBRAG_HOOK_PORT": "0",
            "GITBRAG_LOG_FORMAT": "json",
            "GITBRAG_SCAN_INTERVAL_SECONDS": "3600",
            "GITBRAG_FORCE_COOLDOWN_SECONDS": "0",
        }
        log = work.parent / f"{work.name}-service.log"
        with log.open("w") as sink:
            service = subprocess.Popen(
                [REFRESH], cwd=work, env=service_env, stdout=subprocess.PIPE, stderr=sink, text=True
            )
        try:
            wait_for(lambda: "refresh hook listening" in log.read_text(), 30, "the hook")
            listening = next(json.loads(x) for x in log.read_text().splitlines() if "hook listening" in x)
            url = listening["url"]
            outputs["hook url"] = url
            answers = []
            with httpx.Client(base_url=url, timeout=10) as http:
                auth = {"Authorization": f"Bearer {SECRET}"}
                ok = http.post("/refresh/steady-sam", headers=auth)
                assert ok.status_code == 202, ok.text
                wait_for(
                    lambda: http.get("/status/steady-sam").json()["periods"]["1_year"]["generated_at"],
                    30,
                    "the hook's refresh",
                )
                wrong = http.post("/refresh/steady-sam", headers={"Authorization": "Bearer not-it"})
                assert wrong.status_code == 403
                body = b"{}"
                signature = sign_request(SECRET, "POST", "/refresh/mona-lisa", body)
                signed = http.post("/refresh/mona-lisa", content=body, headers=signature)
                assert signed.status_code == 202

                gh.app_state.config.revoked_tokens = frozenset(TOKENS)  # both tokens revoked
                failing = http.post("/refresh/zero-zoe", headers=auth)
                assert failing.status_code == 202
                wait_for(
                    lambda: http.get("/status/zero-zoe").json()["periods"]["1_year"]["last_error"],
                    30,
                    "the failed refresh",
                )
                status = http.get("/status/zero-zoe")
                assert "rejected the token" in status.json()["periods"]["1_year"]["last_error"]
                answers += [ok, wrong, signed, failing, status]
                answers += [http.get("/metrics"), http.get("/healthz"), http.get("/status/mona-lisa")]
            outputs["hook answers"] = "\n".join(
                f"{a.status_code} {dict(a.headers)} {a.text}" for a in answers
            )
            outputs["redis"] = redis_dump(redis_url)
        finally:
            service.send_signal(signal.SIGTERM)
            out, _ = service.communicate(timeout=60)
        assert service.returncode == 0
        outputs["service stdout"], outputs["service stderr"] = out, log.read_text()
    for path, text in files_text(work).items():
        outputs[str(path.relative_to(work))] = text
    outputs["work"] = str(work)
    yield outputs


def test_no_token_or_secret_in_any_output(session: dict[str, str]) -> None:
    names = set(session)
    assert session["both tokens used"] == "true"  # the pool really was a pool of two
    assert {"cron stderr", "service stderr", "redis", "hook answers"} <= names
    assert ".gitbrag/state.sqlite3" in names  # and its -wal/-shm files, when left behind
    assert any(n.startswith("site/steady-sam/") for n in names)
    assert "rejected the token" in session["service stderr"]  # the error paths did run
    for name, text in session.items():
        for secret in SECRETS:
            assert secret not in text, f"{secret[:8]}... leaked into {name}"
    assert "Traceback" not in session["hook answers"]


def test_the_hook_listens_on_loopback_by_default(session: dict[str, str]) -> None:
    assert Settings(_env_file=None).hook_host == "127.0.0.1"
    assert session["hook url"].startswith("http://127.0.0.1:")


# --- hostile GitHub data across the whole demo site -------------------------------------------

URL_ATTRIBUTES = {"href", "src", "action", "formaction", "poster", "cite", "data", "srcset", "xlink:href"}
SCHEME_RE = re.compile(r"^\s*([A-Za-z][A-Za-z0-9+.-]*):")


class Markup(HTMLParser):
    """Every tag, attribute and inline script of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.inline_script = ""
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.inline_script += data


def unsafe_urls(attrs: list[tuple[str, str | None]]) -> list[str]:
    bad = []
    for name, value in attrs:
        if name.lower() in URL_ATTRIBUTES and value:
            scheme = SCHEME_RE.match(value)
            if scheme and scheme.group(1).lower() not in ("http", "https"):
                bad.append(f"{name}={value}")
    return bad


def test_hostile_github_data_never_becomes_markup_or_a_dangerous_link(session: dict[str, str]) -> None:
    work = Path(session["work"])
    site = work / "site"
    pages = sorted(site.rglob("*.html"))
    assert len(pages) >= len(DEMO_USERS) * 9
    hank = [p for p in pages if p.is_relative_to(site / "hostile-hank")]
    assert hank
    for page in pages:
        html = page.read_text()
        parser = Markup()
        parser.feed(html)
        where = page.relative_to(site)
        assert parser.inline_script.strip() == "", f"inline script in {where}"
        for tag, attrs in parser.tags:
            assert tag not in ("iframe", "object", "embed", "base", "form"), f"<{tag}> in {where}"
            assert not [n for n, _ in attrs if n.lower().startswith("on")], f"event handler in {where}"
            assert not unsafe_urls(attrs), f"{unsafe_urls(attrs)} in {where}"
            if tag == "script":
                assert re.fullmatch(r"(\.\./)*assets/site\.[0-9a-f]+\.js", dict(attrs).get("src") or ""), (
                    where
                )
        for hostile in HOSTILE_STRINGS[:2]:  # the markup ones: only ever escaped
            assert hostile not in html, f"{hostile!r} raw in {where}"
    front = (site / "hostile-hank" / "index.html").read_text()
    assert "&lt;script&gt;alert(" in front and "&lt;img src=x onerror=alert(1)&gt;" in front
    assert "javascript:" not in " ".join(v or "" for p in hank for _, attrs in _tags(p) for _, v in attrs)


def _tags(page: Path) -> list[tuple[str, list[tuple[str, str | None]]]]:
    parser = Markup()
    parser.feed(page.read_text())
    return parser.tags


def test_feeds_link_only_to_http_urls(session: dict[str, str]) -> None:
    site = Path(session["work"]) / "site"
    feeds = list(site.glob("*/feed.xml"))
    assert len(feeds) == len(DEMO_USERS)
    for feed in feeds:
        root = ET.fromstring(feed.read_bytes())
        for element in root.iter():
            href = element.get("href")
            if href and SCHEME_RE.match(href):
                assert href.startswith(("http://", "https://")), (feed, href)
            if element.tag.endswith("}script"):
                raise AssertionError(f"script element in {feed}")


# --- usernames ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["../../escape", "x author:mona-lisa", "a/b", "-dash", "x" * 40])
def test_a_name_that_is_not_a_github_login_is_refused_before_any_use(tmp_path: Path, name: str) -> None:
    with FakeGitHubServer(shared_dataset()) as gh:
        env = clean_env(GITHUB_TOKEN=TOKENS[0], GITBRAG_GITHUB_API_URL=gh.url)
        result = refresh(tmp_path, f"--user={name}", "--user=zero-zoe", env=env)
        searched = dict(gh.app_state.stats.searches_by_author)
    assert result.returncode == 1, result.stderr[-2000:]
    assert summary(result) == "refreshed=4 skipped=0 failed=4"  # zero-zoe still published
    assert searched == {"zero-zoe": 1}  # GitHub never heard of the bad name
    created = {p.relative_to(tmp_path).parts[0] for p in tmp_path.rglob("*")}
    assert created == {"site", ".gitbrag"}  # nothing outside the site and the state
    assert {p.name for p in (tmp_path / "site").iterdir() if p.is_dir()} <= {"zero-zoe", "assets"}
    import sqlite3

    with sqlite3.connect(tmp_path / ".gitbrag" / "state.sqlite3") as conn:
        assert [r[0] for r in conn.execute("SELECT login FROM users")] == ["zero-zoe"]
    conn.close()
