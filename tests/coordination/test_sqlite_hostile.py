"""A state file on a hostile host (issue 25, cases 8 and 10): its disk filling up mid-run, a
corrupted page, another process holding its lock, the file deleted under a running service.

Every file here is a real SQLite file. The full disk is a real small filesystem (a tmpfs
mounted for the test, which needs root), filled up by a real file until the kernel says ENOSPC;
each full-disk test also runs on an injected full disk (`tests.injected_fs.FullDisk`: SQLite's
own SQLITE_FULL for a file that may not grow), which is all a machine without the rights runs."""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from gitbrag.coordination import SQLiteStore
from gitbrag.coordination.tracking import TaskTracker, make_task_id
from gitbrag.fakegithub.server import FakeGitHubServer, shared_dataset
from gitbrag.models import Login
from gitbrag.refresh import PARAMS_HASH
from tests.injected_fs import FullDisk, child_env
from tests.support import clean_env, refresh, summary
from tests.test_faults import BYSTANDER, STALE_AFTER, TOKEN, VICTIM, hook, rig

USERS = [VICTIM, BYSTANDER]
HOLD_LOCK = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
conn.execute("DELETE FROM cooldowns")
print("locked", flush=True)
time.sleep(30)
"""


@dataclass
class SmallDisk:
    """A folder for the state file alone (the site stays on the big disk) that can be filled."""

    path: Path
    injected: FullDisk | None  # None: a real 4 MiB tmpfs

    def fill(self) -> Path:
        """Whatever writes next in the folder finds no room; unlinking the result frees it."""
        return fill(self.path) if self.injected is None else self.injected.fill()

    def env(self, env: dict[str, str]) -> dict[str, str]:
        """`env` for a child process that sees the disk as this test does."""
        return env if self.injected is None else child_env(env, full_disk=self.path)


@pytest.fixture(params=["tmpfs", "injected"])
def small_disk(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[SmallDisk]:
    """A real tmpfs where it can be mounted (root), else (and always as the second form) the
    injected full disk: never a skip for lack of rights."""
    mount = tmp_path / "small"
    mount.mkdir()
    if request.param == "tmpfs":
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True, text=True
        )
        if done.returncode == 0:
            try:
                yield SmallDisk(mount, None)
            finally:
                subprocess.run(["umount", "-l", str(mount)], check=False)
            return
    disk = FullDisk(mount)
    disk.install(monkeypatch.setattr)
    yield SmallDisk(mount, disk)


def fill(disk: Path) -> Path:
    """Write to `disk` until the kernel refuses: a real ENOSPC for whatever writes next."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    try:
        with contextlib.suppress(OSError):
            while True:
                os.write(fd, b"\0" * 4096)
        with pytest.raises(OSError) as refused:
            os.write(fd, b"\0")
        assert refused.value.errno == errno.ENOSPC
    finally:
        os.close(fd)
    return filler


class FillOnFirst(logging.Handler):
    """Fills the disk when a log record says `message` first: mid-run, after the claims."""

    def __init__(self, disk: SmallDisk, message: str) -> None:
        super().__init__()
        self.disk, self.message = disk, message
        self.filler: Path | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if self.filler is None and record.getMessage() == self.message:
            self.filler = self.disk.fill()


def claims(path: Path) -> list[str]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return [row[0] for row in conn.execute("SELECT task_id FROM tasks")]


def files(folder: Path, pattern: str) -> list[Path]:
    return list(folder.glob(pattern))


def hold_lock(state: Path) -> subprocess.Popen[str]:
    """Another process holding the state file's write lock (`BEGIN EXCLUSIVE`), once it has it."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(state)], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    return holder


def updating(site: Path, login: str) -> bool:
    return bool(json.loads((site / login / "generated.json").read_text())["updating"])


# --- case 8: the disk full mid-run ---------------------------------------------------------


async def test_a_state_disk_filling_mid_run_finishes_the_pass_and_the_next_one_recovers(
    tmp_path: Path, small_disk: SmallDisk, caplog: pytest.LogCaptureFixture
) -> None:
    state = small_disk.path / "state.sqlite3"
    async with rig(tmp_path, store=SQLiteStore(state)) as r:
        await r.run(*USERS)
        r.advance(STALE_AFTER + timedelta(minutes=1))
        filling = FillOnFirst(small_disk, "refresh started")
        logging.getLogger("gitbrag.refresh").addHandler(filling)
        try:
            with caplog.at_level(logging.INFO):
                outcomes = await r.run()  # every report due: the pass claims them, then the disk fills
        finally:
            logging.getLogger("gitbrag.refresh").removeHandler(filling)
        assert filling.filler is not None
        # The pass went on and published; what it could not record is one line each, no trace.
        assert {u: o.status for u, o in outcomes.items()} == dict.fromkeys(USERS, "refreshed")
        assert not any(rec.exc_info for rec in caplog.records), [r.getMessage() for r in caplog.records]
        dropped = [rec for rec in caplog.records if rec.getMessage() == "state not recorded"]
        assert dropped and all(
            "database or disk is full" in str(getattr(rec, "error", "")) for rec in dropped
        )
        assert not any(updating(r.site, u) for u in USERS)
        # Space freed: the claims left by the full disk are released and the next pass refreshes.
        filling.filler.unlink()
        outcomes = await r.run()
        assert {u: o.status for u, o in outcomes.items()} == dict.fromkeys(USERS, "refreshed")
        assert claims(state) == []
        assert await r.store.due(r.now) == []


async def test_a_run_filling_the_disk_of_a_settled_state_file_still_releases_its_claims(
    tmp_path: Path, small_disk: SmallDisk, caplog: pytest.LogCaptureFixture
) -> None:
    """The usual case, a state file from earlier runs (its pages in place): a claim's release
    rewrites pages the file already has, so emptying the WAL into it makes room even on a full
    disk; no claim outlives its generation, though the disk is still full."""
    state = small_disk.path / "state.sqlite3"
    async with rig(tmp_path, store=SQLiteStore(state)) as r:
        await r.run(*USERS)
    async with rig(tmp_path, store=SQLiteStore(state)) as r:
        filling = FillOnFirst(small_disk, "refresh started")
        logging.getLogger("gitbrag.refresh").addHandler(filling)
        try:
            with caplog.at_level(logging.INFO):
                outcomes = await r.run(*USERS)
        finally:
            logging.getLogger("gitbrag.refresh").removeHandler(filling)
        assert filling.filler is not None
        assert {u: o.status for u, o in outcomes.items()} == dict.fromkeys(USERS, "refreshed")
        assert claims(state) == []
        assert not any(updating(r.site, u) for u in USERS)


def test_a_state_disk_full_at_start_is_no_bad_setting_the_run_publishes(
    tmp_path: Path, small_disk: SmallDisk
) -> None:
    """Not exit 2 ("bad configuration") with "disk I/O error": the run fails open and publishes."""
    with FakeGitHubServer(shared_dataset()) as fake:
        env = small_disk.env(
            clean_env(
                GITHUB_TOKEN=TOKEN,
                GITBRAG_GITHUB_API_URL=fake.url,
                GITBRAG_STATE_PATH=str(small_disk.path / "state.sqlite3"),
            )
        )
        first = refresh(tmp_path, "--user", VICTIM, env=env)
        assert summary(first) == "refreshed=4 skipped=0 failed=0", first.stderr[-2000:]
        filler = small_disk.fill()
        full = refresh(tmp_path, "--user", VICTIM, "--user", BYSTANDER, env=env)
        assert full.returncode == 0, full.stderr[-2000:]
        assert summary(full) == "refreshed=8 skipped=0 failed=0"
        assert "Traceback" not in full.stderr
        assert full.stderr.count("the state file GITBRAG_STATE_PATH cannot be used") == 1, full.stderr[-2000:]
        filler.unlink()
        freed = refresh(tmp_path, "--user", BYSTANDER, env=env)  # space back: the state is used again
        assert summary(freed) == "refreshed=4 skipped=4 failed=0", freed.stderr[-2000:]
        assert "cannot be used" not in freed.stderr


# --- case 8: a damaged state file ---------------------------------------------------------------


def corrupt_table(path: Path, table: str) -> None:
    """Overwrite the root page of `table` with garbage, as a bad sector or a torn copy would."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        (page_size,) = conn.execute("PRAGMA page_size").fetchone()
        (root,) = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    with path.open("r+b") as file:
        file.seek((root - 1) * page_size)
        file.write(b"\xa5" * page_size)


async def test_a_damaged_state_file_is_moved_aside_once_and_rebuilt_from_the_site(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state = tmp_path / "state.sqlite3"
    async with rig(tmp_path, store=SQLiteStore(state)) as r:
        await r.run(*USERS)
    corrupt_table(state, "collections")
    for attempt in range(2):  # not "internal error (StoreError)" on every run, forever
        async with rig(tmp_path, store=SQLiteStore(state)) as r:
            with caplog.at_level(logging.WARNING):
                outcomes = await r.run(*USERS)
            assert {u: o.status for u, o in outcomes.items()} == dict.fromkeys(USERS, "refreshed"), outcomes
            index = (r.site / "index.html").read_text()
            assert all(f'href="{u}/index.html"' in index for u in USERS)
            if attempt:  # the next pass has tracked again whoever the site has pages for
                assert sorted(u.login for u in await r.store.tracked()) == sorted(USERS)
                assert all(m.last_error is None for m in (await r.store.report_meta(Login(VICTIM))).values())
        damaged = [rec for rec in caplog.records if rec.getMessage().startswith("the state file is damaged")]
        assert len(damaged) == 1, [rec.getMessage() for rec in caplog.records]  # once, not per run
        assert not any(rec.exc_info for rec in caplog.records)
    assert len(files(tmp_path, "state.sqlite3.damaged-*")) == 1
    with contextlib.closing(sqlite3.connect(state)) as conn:
        assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"


# --- case 8: another process holds the lock -------------------------------------------------------


async def test_read_only_endpoints_answer_within_a_second_while_another_process_holds_the_lock(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state.sqlite3"
    async with rig(tmp_path, store=SQLiteStore(state)) as r:
        await r.run(VICTIM)
        holder = hold_lock(state)
        try:
            async with hook(r) as url, httpx.AsyncClient(timeout=10) as http:
                for path in ("/healthz", f"/status/{VICTIM}", "/metrics"):
                    started = time.monotonic()
                    answer = await http.get(url + path)
                    took = time.monotonic() - started
                    assert took < 1.5, f"{path} waited {took:.1f} s behind the lock"
                    assert answer.status_code == 200, (path, answer.text)
        finally:
            holder.kill()
            holder.wait()


# --- case 10: the state file deleted under a running service -------------------------------------


async def test_a_state_file_deleted_under_the_service_is_reopened_and_claims_are_shared_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state = tmp_path / "state.sqlite3"
    async with rig(tmp_path, store=SQLiteStore(state)) as r:
        await r.run(*USERS)
        for leftover in files(tmp_path, "state.sqlite3*"):  # `rm state.sqlite3*` by the operator
            leftover.unlink()
        cron = SQLiteStore(state)  # a cron run now creates a new file, and holds a claim in it
        try:
            claim = await TaskTracker(cron).try_claim(make_task_id(VICTIM, "1_year", PARAMS_HASH))
            assert claim is not None
            with caplog.at_level(logging.WARNING):
                outcomes = await r.run(*USERS)  # the service's next scan
            assert outcomes[VICTIM].status == "skipped"  # the cron run's claim is seen: no duplicate
            assert outcomes[BYSTANDER].status == "refreshed"
            assert [rec.getMessage() for rec in caplog.records].count(
                "the state file was deleted or replaced under this process: reopening it"
            ) == 1
            assert sorted(u.login for u in await cron.tracked()) == sorted(USERS)  # one file again
            await claim.release()
        finally:
            await cron.close()
