"""Bad settings: one line on stderr naming the variable, exit 2, nothing created, no traceback.

Every setting is tried with values that used to publish into the working directory, end in
a traceback, hang on every call or be silently ignored. The rest of the configuration is
good (a token, the fake GitHub), so a bad value that slipped through would go on to create
the store and the site: the test checks that nothing appeared, in the working directory or
anywhere the settings name.
"""

from __future__ import annotations

import os
import socket
import socketserver
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from gitbrag.doors.cli import main as report_main
from gitbrag.doors.cli import refresh_main
from gitbrag.fakegithub.server import FakeGitHubServer, shared_dataset

TOKEN = "ghp_badsettings_0123456789abcdef"
HUGE = "99999999999999999999"

# (variable, bad value). `{adir}`/`{afile}`: an existing folder/file outside the working
# directory; `{silent}`/`{chatty}`: ports where something that is not Redis listens.
CASES: list[tuple[str, str]] = [
    ("GITBRAG_SITE_DIR", ""),
    ("GITBRAG_SITE_DIR", "   "),
    ("GITBRAG_SITE_DIR", "/proc/x"),
    ("GITBRAG_SITE_DIR", "{afile}"),
    ("GITBRAG_SITE_DIR", "{afile}/site"),
    ("GITBRAG_SITE_DIR", "."),  # the store (./.gitbrag) would be published
    ("GITBRAG_STATE_PATH", ""),
    ("GITBRAG_STATE_PATH", "{adir}"),
    ("GITBRAG_STATE_PATH", "/proc/x/state.sqlite3"),
    ("GITBRAG_STATE_PATH", "{afile}/state.sqlite3"),
    ("GITBRAG_STATE_PATH", "site/state.sqlite3"),
    ("GITBRAG_TEMPLATES_DIR", "/nonexistent"),
    ("GITBRAG_TEMPLATES_DIR", "{afile}"),
    ("GITBRAG_REDIS_URL", "redis://h/abc"),
    ("GITBRAG_REDIS_URL", "http://x"),
    ("GITBRAG_REDIS_URL", "redis://"),
    ("GITBRAG_REDIS_URL", "redis://127.0.0.1:99999/0"),
    ("GITBRAG_REDIS_URL", "redis://127.0.0.1:{silent}/0"),
    ("GITBRAG_REDIS_URL", "redis://:hunter2@127.0.0.1:{chatty}/0"),
    ("GITBRAG_GITHUB_API_URL", "http://"),
    ("GITBRAG_GITHUB_API_URL", "ftp://example"),
    ("GITBRAG_GITHUB_API_URL", "https://h:99999"),
    ("GITBRAG_GITHUB_GRAPHQL_URL", "http://"),
    ("GITBRAG_BASE_URL", "javascript:alert(1)"),
    ("GITBRAG_BASE_URL", "https://"),
    ("GITBRAG_HOOK_PUBLIC_URL", "http://"),
    ("GITBRAG_HOOK_HOST", "not a host!"),
    ("GITBRAG_HOOK_PORT", "65536"),
    ("GITBRAG_HOOK_PORT", "-1"),
    ("GITBRAG_USERS", "octocat,../etc"),
    ("GITHUB_TOKEN", "ghp_two words"),
    ("GITBRAG_PRIVATE", "some"),
    ("GITBRAG_ALLOW_NEW_USERS", "maybe"),
    ("GITBRAG_LOG_FORMAT", "xml"),
    ("GITBRAG_LOG_LEVEL", "LOUD"),
    ("GITBRAG_STALE_AFTER_SECONDS", HUGE),
    ("GITBRAG_STALE_AFTER_SECONDS", "0"),
    ("GITBRAG_STALE_AFTER_SECONDS", "soon"),
    ("GITBRAG_TASK_TTL_SECONDS", HUGE),
    ("GITBRAG_TASK_TTL_SECONDS", "0"),
    ("GITBRAG_SCAN_INTERVAL_SECONDS", HUGE),
    ("GITBRAG_SCAN_INTERVAL_SECONDS", "0"),
    ("GITBRAG_REDIS_START_WAIT_SECONDS", "0"),
    ("GITBRAG_REDIS_START_WAIT_SECONDS", HUGE),
    ("GITBRAG_MAX_CONCURRENT", "0"),
    ("GITBRAG_MAX_CONCURRENT", HUGE),
    ("GITBRAG_BUDGET_POINTS", "0"),
    ("GITBRAG_BUDGET_POINTS", "lots"),
    ("GITBRAG_BUDGET_POINTS", HUGE),
    ("GITBRAG_PER_USER_LIMIT", "0"),
    ("GITBRAG_PER_USER_LIMIT", HUGE),
    ("GITBRAG_FORCE_COOLDOWN_SECONDS", "-1"),
    ("GITBRAG_FORCE_COOLDOWN_SECONDS", HUGE),
    ("GITBRAG_GITHUB_MAX_IN_FLIGHT", "0"),
    ("GITBRAG_GITHUB_MAX_IN_FLIGHT", "101"),
    ("GITBRAG_GITHUB_REQUEST_DEADLINE_SECONDS", "0"),
    ("GITBRAG_GITHUB_REQUEST_DEADLINE_SECONDS", "soon"),
    ("GITBRAG_GITHUB_MAX_RESPONSE_BYTES", "100"),
    ("GITBRAG_GITHUB_MAX_RESPONSE_BYTES", "-1"),
    ("GITBRAG_GITHUB_RETRIES_PER_REFRESH", "0"),
    ("GITBRAG_GITHUB_RETRIES_PER_REFRESH", HUGE),
    ("GITBRAG_PERIODS", "2025-Q5"),
    ("GITBRAG_PERIODS", "2026,last-year"),
    ("GITBRAG_PERIODS", "2026-08-31..2026-03-01"),
    ("GITBRAG_PERIODS", "2025-02-30..2025-03-01"),
    ("GITBRAG_PERIODS", "1999"),
    ("GITBRAG_GENERATED_PATHS", "/srv/app/*.lock"),
    ("GITBRAG_GENERATED_PATHS", "gen/[ab"),
    ("GITBRAG_TEAMS", "platform"),  # no "=members"
    ("GITBRAG_TEAMS", "Platform Team=alice"),  # a name that is not a folder name
    ("GITBRAG_TEAMS", "../up=alice"),
    ("GITBRAG_TEAMS", "web=alice,../etc"),
    ("GITBRAG_TEAMS", "web=alice;web=bob"),
    ("GITBRAG_TEAMS", "web="),
    ("GITBRAG_TEAMS", "web=org:../octo-org"),  # org:NAME takes an organization name, checked like a login
    ("GITBRAG_TEAMS", "web=alice,org:"),
    ("GITBRAG_TEAMS", "web=org:octo org"),
    ("GITBRAG_TIMEZONE", "Mars/Olympus"),
    ("GITBRAG_TIMEZONE", "europe/berlin"),  # the zone database is case-sensitive on most hosts
    ("GITBRAG_TIMEZONE", "../../etc/passwd"),
    ("GITBRAG_TIMEZONE", "localtime"),  # the host's own setting, not a zone
    ("GITBRAG_USERS", "octocat@Bad/Zone"),
    ("GITBRAG_USERS", "octocat,mona@"),
    ("GITBRAG_USERS", "@Europe/Berlin"),
    ("GITBRAG_USERS", "mona@Europe/Berlin,Mona@Asia/Tokyo"),
    ("GITBRAG_EXCLUDE", "dotfiles"),  # not owner/repo-shaped: it could never match
    ("GITBRAG_EXCLUDE", "octo-org/app/docs"),
    ("GITBRAG_EXCLUDE", "https://github.com/octo-org/app"),
    ("GITBRAG_EXCLUDE", "*"),
    ("GITBRAG_EXCLUDE", "octo-org/[ab"),
    ("GITBRAG_EXCLUDE", "not a login:octo-org/app"),
    ("GITBRAG_EXCLUDE", "octo-org/app,octo org/app"),
    ("GITBRAG_EXCLUDE_LANGUAGES", "Klingon"),
]


class _Silent(socketserver.BaseRequestHandler):
    """Accepts and says nothing (a service waiting for its own protocol's first words)."""

    def handle(self) -> None:
        self.request.settimeout(10)
        try:
            while self.request.recv(1024):
                pass
        except OSError:
            pass


class _Chatty(socketserver.BaseRequestHandler):
    """Answers anything with an HTTP error, as a web server on the wrong port would."""

    def handle(self) -> None:
        self.request.recv(1024)
        self.request.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@pytest.fixture(scope="module")
def not_redis() -> Iterator[dict[str, int]]:
    servers = {name: _Server(("127.0.0.1", 0), handler) for name, handler in
               (("silent", _Silent), ("chatty", _Chatty))}  # fmt: skip
    for server in servers.values():
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield {name: int(server.server_address[1]) for name, server in servers.items()}
    for server in servers.values():
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def github() -> Iterator[str]:
    with FakeGitHubServer(shared_dataset()) as gh:
        yield gh.url


@pytest.fixture
def places(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, github: str, not_redis: dict[str, int]
) -> dict[str, str]:
    """An empty working directory, a good environment, and what `CASES` may name."""
    for name in list(os.environ):
        if name.startswith(("GITBRAG_", "GITHUB_")):
            monkeypatch.delenv(name)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("GITBRAG_GITHUB_API_URL", github)
    # A port that says nothing is "not Redis" once the wait for a busy Redis is over: no wait here.
    monkeypatch.setenv("GITBRAG_REDIS_START_WAIT_SECONDS", "1")
    (tmp_path / "adir").mkdir()
    (tmp_path / "afile").write_text("not a folder\n")
    return {"adir": str(tmp_path / "adir"), "afile": str(tmp_path / "afile"), **{
        k: str(v) for k, v in not_redis.items()}}  # fmt: skip


def tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def assert_one_line(code: int, err: str, out: str, variable: str, value: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, err
    assert len(lines) == 1, err
    assert variable in lines[0], lines[0]
    assert "Traceback" not in err
    assert TOKEN not in err + out
    if variable == "GITHUB_TOKEN" or "hunter2" in value:
        assert "ghp_two" not in err and "hunter2" not in err  # secrets are never echoed


@pytest.mark.parametrize(("variable", "value"), CASES, ids=[f"{v}={x or 'empty'}" for v, x in CASES])
def test_a_bad_setting_is_one_line_exit_2_and_creates_nothing(
    places: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    value: str,
) -> None:
    value = value.format(**places)
    monkeypatch.setenv(variable, value)
    before = tree(tmp_path)
    code = refresh_main(["--once", "--user", "zero-zoe"])
    captured = capsys.readouterr()
    assert_one_line(code, captured.err, captured.out, variable, value)
    assert tree(tmp_path) == before  # nothing in the working directory nor where the settings point
    assert not Path("/proc/x").exists()


def test_an_empty_site_dir_flag_is_refused_too(
    places: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code = refresh_main(["--once", "--site-dir", "", "--user", "zero-zoe"])
    captured = capsys.readouterr()
    assert_one_line(code, captured.err, captured.out, "GITBRAG_SITE_DIR", "")
    assert not any(Path.cwd().iterdir())


def test_the_report_command_checks_settings_the_same_way(
    places: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every value it uses; not the folders it never touches (the site, the state, the templates:
    it only prints), so it runs from a read-only folder (tests/doors/test_operating.py)."""
    monkeypatch.setenv("GITBRAG_GITHUB_API_URL", "ftp://example")
    code = report_main(["report", "zero-zoe"])
    captured = capsys.readouterr()
    assert_one_line(code, captured.err, captured.out, "GITBRAG_GITHUB_API_URL", "ftp://example")


def test_the_service_stops_at_a_port_that_is_not_redis_before_creating_anything(
    places: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The service, not only `--once`: the check runs before the store, the hook or a scan."""
    monkeypatch.setenv("GITBRAG_REDIS_URL", f"redis://127.0.0.1:{places['silent']}/0")
    monkeypatch.setenv("GITBRAG_HOOK_PORT", "0")
    before = tree(tmp_path)
    code = refresh_main([])
    captured = capsys.readouterr()
    assert_one_line(code, captured.err, captured.out, "GITBRAG_REDIS_URL", "")
    assert tree(tmp_path) == before


def test_a_redis_that_is_merely_down_is_not_a_bad_setting(
    places: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing listening is an outage, not a mistake: the pass fails open and publishes
    (README: Redis down at start), as before the start-up check existed."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("GITBRAG_REDIS_URL", f"redis://127.0.0.1:{port}/0")
    assert refresh_main(["--once", "--user", "zero-zoe"]) == 0
    assert (Path.cwd() / "site" / "zero-zoe" / "1_year" / "report.json").is_file()


def test_a_state_file_sqlite_cannot_use_is_one_line_and_leaves_it_alone(
    places: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A state path on a read-only disk, or a file that is not a database: one line, exit 2."""
    state = tmp_path / "not-a-database.sqlite3"
    state.write_bytes(b"this is not SQLite " * 100)
    monkeypatch.setenv("GITBRAG_STATE_PATH", str(state))
    code = refresh_main(["--once", "--user", "zero-zoe"])
    captured = capsys.readouterr()
    assert_one_line(code, captured.err, captured.out, "GITBRAG_STATE_PATH", str(state))
    assert state.read_bytes() == b"this is not SQLite " * 100
