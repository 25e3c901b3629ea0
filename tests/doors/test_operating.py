"""Operating gitbrag without surprises (issue 27): the demo stays out of a real deployment, a
misspelled setting is named, the commands answer `--version` and `--help`, `gitbrag report`
reads right on an 80-column terminal and runs from a read-only folder, and a terminal shows
warnings and the progress, not the log.

Everything runs as a person runs it: the installed commands as processes, a real
pseudo-terminal 80 columns wide where the look matters, the fake GitHub over loopback, the
real SQLite state file.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gitbrag.fakegithub.server import FakeGitHubServer, shared_dataset
from tests.injected_fs import child_env
from tests.support import DEMO_USERS, REFRESH, clean_env, refresh, summary, wait_for
from tests.test_rough_edges import SUMMARY_RE, run_on_terminal, screen_lines

GITBRAG = str(Path(sys.executable).with_name("gitbrag"))
COLUMNS = 80
TOKEN = "ghp_operating_0123456789abcdef"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeGitHubServer]:
    with FakeGitHubServer(shared_dataset()) as server:
        yield server


def real_env(fake: FakeGitHubServer, **extra: str) -> dict[str, str]:
    """A real deployment's environment: a token and an API URL (the fake GitHub's, which
    knows the demo's logins too: on github.com they may be real people)."""
    return clean_env(GITHUB_TOKEN=TOKEN, GITBRAG_GITHUB_API_URL=fake.url, **extra)


def run(argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


# --- the demo, once, on an 80-column terminal (as "Try it" says) ------------------------------


@dataclass
class Demo:
    work: Path
    code: int
    output: str  # every byte the terminal received

    @property
    def lines(self) -> list[str]:
        return screen_lines(self.output)

    @property
    def published(self) -> Path:
        """Where the demo put its pages: its own folder (or, before issue 27, ./site)."""
        own = self.work / "demo-site"
        return own if own.is_dir() else self.work / "site"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    work = tmp_path_factory.mktemp("try-it")
    code, output = run_on_terminal([REFRESH, "--once", "--demo"], work, clean_env(), columns=COLUMNS)
    assert code == 0, output[-3000:]
    return Demo(work, code, output)


def test_the_demo_publishes_into_its_own_folder_and_marks_every_report(demo: Demo) -> None:
    site = demo.work / "demo-site"
    assert (site / "index.html").is_file(), sorted(p.name for p in demo.work.iterdir())
    assert not (demo.work / "site").exists()  # a real deployment's folder is left alone
    reports = list(site.glob("*/*/report.json"))
    assert len(reports) >= len(DEMO_USERS) * 4
    for path in reports:
        assert json.loads(path.read_bytes()).get("demo") is True, path
    assert (demo.work / ".gitbrag" / "demo.sqlite3").is_file()
    assert not (demo.work / ".gitbrag" / "state.sqlite3").exists()


def test_a_real_run_over_the_demos_pages_tracks_none_of_its_users(demo: Demo, fake: FakeGitHubServer) -> None:
    """The real run is pointed at the very folder the demo published into (a copied web root,
    GITBRAG_SITE_DIR): its pages are the demo's, and their made-up logins are nobody to track."""
    before = {p: p.read_bytes() for p in demo.published.glob("*/1_year/report.json")}
    result = refresh(demo.work, env=real_env(fake, GITBRAG_SITE_DIR=str(demo.published)))
    assert result.returncode == 0, result.stderr[-3000:]
    assert summary(result) == "refreshed=0 skipped=0 failed=0", result.stderr[-3000:]
    assert "store lost state" not in result.stderr
    assert "nobody is tracked" in result.stderr
    with sqlite3.connect(demo.work / ".gitbrag" / "state.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM users").fetchone() == (0,)  # the tracked users
    assert {p: p.read_bytes() for p in demo.published.glob("*/1_year/report.json")} == before


# --- the terminal: warnings and the progress, nothing else --------------------------------------


def test_on_an_80_column_terminal_the_run_shows_the_bar_and_a_hint_no_log_lines(demo: Demo) -> None:
    lines = demo.lines
    assert any(re.search(r"\d+/\d+", line) for line in lines), lines  # the bar
    logged = [line for line in lines if re.search(r"\bINFO\b|\binfo:|\buser=|task_id=", line)]
    assert not logged, logged
    too_wide = [line for line in lines if len(line) > COLUMNS]
    assert not too_wide, too_wide  # each would wrap, the hint mid-word
    assert SUMMARY_RE.fullmatch(lines[-4]), lines[-5:]
    assert lines[-3] == f"site: {(demo.work / 'demo-site').resolve()}"
    assert lines[-2] == "view it with: python3 -m http.server --directory demo-site 8000"
    assert lines[-1] == "then open http://127.0.0.1:8000/"


def test_with_v_the_terminal_shows_info_lines_short_and_plain(tmp_path: Path, fake: FakeGitHubServer) -> None:
    env = real_env(fake)
    code, output = run_on_terminal([REFRESH, "--once", "-v", "--user", "zero-zoe"], tmp_path, env, COLUMNS)
    assert code == 0, output[-3000:]
    lines = screen_lines(output)
    info = [line for line in lines if line.startswith("info: ")]
    assert any(line.startswith("info: generation scheduled (user=zero-zoe") for line in info), lines
    assert not [line for line in lines if "task_id=" in line or re.match(r"\d\d:\d\d:\d\d ", line)]


def test_the_services_log_has_no_colour_codes(tmp_path: Path, fake: FakeGitHubServer) -> None:
    """uvicorn passes its message again with colour codes (`color_message`): a journald or
    file log must not get them as a field."""
    log = tmp_path / "service.log"
    env = real_env(fake, GITBRAG_HOOK_PORT="0", GITBRAG_SCAN_INTERVAL_SECONDS="3600")
    with log.open("w") as stderr:
        service = subprocess.Popen([REFRESH], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
        try:
            wait_for(lambda: "service started" in log.read_text(), 60, "the service to start")
            wait_for(lambda: "Started server process" in log.read_text(), 10, "uvicorn's start line")
        finally:
            service.send_signal(signal.SIGTERM)
            assert service.wait(timeout=60) == 0
    text = log.read_text()
    assert "\x1b[" not in text and "color_message" not in text, text[-2000:]
    assert re.search(r"^\S+Z INFO uvicorn.error Started server process \[\d+\]$", text, re.MULTILINE), text


# --- settings --------------------------------------------------------------------------------------


def test_a_misspelled_setting_is_named_with_the_closest_one(tmp_path: Path, fake: FakeGitHubServer) -> None:
    (tmp_path / ".env").write_text("GITBRAG_SITEDIR=public\n")
    result = refresh(tmp_path, env=real_env(fake, GITBRAG_USER="Mona-Lisa"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert summary(result) == "refreshed=0 skipped=0 failed=0"
    lines = result.stderr.splitlines()
    for wrong, right in (("GITBRAG_USER", "GITBRAG_USERS"), ("GITBRAG_SITEDIR", "GITBRAG_SITE_DIR")):
        said = [line for line in lines if f"{wrong} is not a setting; did you mean {right}?" in line]
        assert len(said) == 1, result.stderr
    assert lines[-1].startswith("gitbrag-refresh: nobody is tracked"), lines[-3:]
    assert "GITBRAG_USERS" in lines[-1] and "--user" in lines[-1]


def test_real_settings_and_the_tooling_variables_are_not_warned_about(
    tmp_path: Path, fake: FakeGitHubServer
) -> None:
    (tmp_path / ".env").write_text("GITBRAG_STALE_AFTER_SECONDS=3600\n")
    env = real_env(fake, GITBRAG_USERS="zero-zoe", GITBRAG_IMAGE="gitbrag:test", GITBRAG_LOG_FORMAT="json")
    result = refresh(tmp_path, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert summary(result) == "refreshed=4 skipped=0 failed=0"
    assert "not a setting" not in result.stderr and "nobody" not in result.stderr


def test_a_bad_login_in_gitbrag_users_is_shown(tmp_path: Path) -> None:
    result = refresh(tmp_path, env=clean_env(GITHUB_TOKEN=TOKEN, GITBRAG_USERS="octocat,Mona Lisa"))
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "gitbrag-refresh: invalid configuration: GITBRAG_USERS: Value error, "
        "entry #2 ('Mona Lisa') is not a GitHub username"
    )
    assert list(tmp_path.iterdir()) == []


# --- the commands' basics ----------------------------------------------------------------------------


@pytest.mark.parametrize("command", [GITBRAG, REFRESH])
def test_version(command: str, tmp_path: Path) -> None:
    result = run([command, "--version"], tmp_path, clean_env())
    assert result.returncode == 0, result.stderr
    name = Path(command).name
    assert re.fullmatch(rf"{name} \d+\.\d+\.\d+\S* \(.*repository.*not PyPI's 'gitbrag'\)\n", result.stdout)


def test_gitbrag_help_points_to_the_refresher_the_settings_and_the_readme(tmp_path: Path) -> None:
    result = run([GITBRAG, "--help"], tmp_path, clean_env())
    assert result.returncode == 0
    for needed in ("gitbrag-refresh --once", "--demo", "GITBRAG_", ".env", "README", "Exit status"):
        assert needed in result.stdout, needed
    refresher = run([REFRESH, "--help"], tmp_path, clean_env()).stdout
    for needed in ("-v, --verbose", "--version", "demo-site", "README", "Exit status"):
        assert needed in refresher, needed


def _can_unshare() -> bool:
    """A mount namespace of our own can be made here (`unshare` is there and allowed)."""
    if shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "--mount", "true"], capture_output=True).returncode == 0


def read_only(
    folder: Path, argv: list[str], env: dict[str, str], form: str
) -> tuple[list[str], dict[str, str]]:
    """`argv` and `env` to run in `folder` made read-only. The real form: by its mode, or (root
    ignores modes) by a read-only bind mount in a mount namespace of its own. The injected form
    (and the real one where the namespace cannot be made): the child's writes there fail with
    EROFS (`tests.injected_fs.read_only`)."""
    if form == "real" and os.geteuid() != 0:
        folder.chmod(0o555)
        return argv, env
    if form == "real" and _can_unshare():
        script = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && cd "$0" && exec "$@"'
        return ["unshare", "--mount", "sh", "-c", script, str(folder), *argv], env
    return argv, child_env(env, read_only=folder)


@pytest.mark.parametrize("form", ["real", "injected"])
def test_gitbrag_report_runs_from_a_read_only_folder(tmp_path: Path, form: str) -> None:
    folder = tmp_path / "readonly"
    folder.mkdir()
    argv, env = read_only(
        folder, [GITBRAG, "report", "zero-zoe", "--demo", "--format", "markdown"], clean_env(), form
    )
    result = run(argv, folder, env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("# ") and "(@zero-zoe)" in result.stdout
    assert list(folder.iterdir()) == []


def test_gitbrag_report_on_an_80_column_terminal(tmp_path: Path) -> None:
    started = time.monotonic()
    code, output = run_on_terminal([GITBRAG, "report", "Mona-Lisa", "--demo"], tmp_path, clean_env(), COLUMNS)
    assert code == 0, output[-3000:]
    assert time.monotonic() - started < 120
    lines = screen_lines(output)
    # Something moves from the first second: a spinner says what it waits for.
    assert "Collecting Mona-Lisa's pull requests" in lines[0], lines[:3]
    report = lines[next(i for i, line in enumerate(lines) if "Mona-Lisa: 1 year" in line) :]
    text = "\n".join(report)
    assert "Collecting" not in text  # the spinner is gone before the report prints
    # One table style: rules under headers, no frames, no heavy boxes.
    assert not re.search("[┏┃━┡│┌└╇]", text), text
    header = next(line for line in report if line.startswith("Repository ") and "Role" in line)
    assert header.rstrip().endswith("Stars gained"), header  # the header on one line
    assert all(len(line) <= COLUMNS for line in report)
    # What the page shows beside the repositories: the reviews and the period before.
    assert "Pull requests reviewed" in text and "Reviews given" in text
    assert "Against the year before" in text
    assert re.search(r"^Merged pull requests\s+[\d,]+\s+[\d,]+\s+[+-]?\d+%$", text, re.MULTILINE), text
