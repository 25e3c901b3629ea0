"""A state file on a hostile host (issue 25, cases 8 and 10): its disk filling up mid-run, a
corrupted page, another process holding its lock, the file deleted under a running service.

Every file here is a real SQLite file; the full disk is a real small filesystem (a tmpfs
mounted for the test, which needs root: skipped with the reason otherwise), filled up by a
real file until the kernel says ENOSPC."""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from gitbrag.coordination import SQLiteStore
from tests.test_faults import BYSTANDER, STALE_AFTER, VICTIM, rig

USERS = [VICTIM, BYSTANDER]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB filesystem of its own, for the state file alone (the site stays on the big disk)."""
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mount)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs for a real full disk (needs root): {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


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

    def __init__(self, disk: Path, message: str) -> None:
        super().__init__()
        self.disk, self.message, self.filler = disk, message, None

    def emit(self, record: logging.LogRecord) -> None:
        if self.filler is None and record.getMessage() == self.message:
            self.filler = fill(self.disk)


def claims(path: Path) -> list[str]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return [row[0] for row in conn.execute("SELECT task_id FROM tasks")]


def updating(site: Path, login: str) -> bool:
    return bool(json.loads((site / login / "generated.json").read_text())["updating"])


# --- case 8: the disk full mid-run ---------------------------------------------------------


async def test_a_state_disk_filling_mid_run_finishes_the_pass_and_the_next_one_recovers(
    tmp_path: Path, small_disk: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state = small_disk / "state.sqlite3"
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
