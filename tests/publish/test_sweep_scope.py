"""A pass sweeps what dead writers left, and costs what it writes, not what the site holds.

Walking the whole site for hidden temporary files took half of a one-user refresh at 100,000
users. Each writing process now holds a mark at the site's root (`safepath._Mark`), so the
sweep walks everything only when a mark is left that no process holds (its writer was killed
mid-write: its leftovers may be anywhere), or the site was never swept since writers mark
themselves. A killed writer here is a real process, stopped between a temporary file's write
and its rename, then killed with SIGKILL.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from gitbrag.publish.publisher import Publisher
from gitbrag.publish.safepath import MARK_PREFIX, SWEPT_XATTR
from tests.publish.test_pages_artifact import refused_by_pages
from tests.publish.test_publish import make_collection, reports_for

ROOT = Path(__file__).resolve().parents[2]


def leftovers(site: Path) -> list[str]:
    """The hidden temporary files anywhere in the site, as paths below it."""
    return sorted(p.relative_to(site).as_posix() for p in site.rglob(".*.tmp"))


def marks(site: Path) -> list[str]:
    return sorted(p.name for p in site.glob(f"{MARK_PREFIX}*"))


def plant_dead_temp(site: Path, relative: str) -> Path:
    """What a writer killed before its rename leaves: unlocked, half a minute old."""
    path = site / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"<html>half a page")
    then = time.time() - 30
    os.utime(path, (then, then))
    return path


def age(paths: list[Path]) -> None:
    """Past the grace a young temporary file gets (`safepath.TEMP_GRACE_SECONDS`)."""
    then = time.time() - 30
    for path in paths:
        os.utime(path, (then, then))


@pytest.fixture
def walks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every whole-site walk (`os.fwalk`) started from now on, by its top folder."""
    started: list[str] = []
    real = os.fwalk

    def counted(top: Any = ".", *args: Any, **kwargs: Any) -> Iterator[Any]:
        started.append(str(top))
        return real(top, *args, **kwargs)

    monkeypatch.setattr(os, "fwalk", counted)
    return started


def sweep_pass(site: Path, walks: list[str]) -> int:
    """A pass's sweep (`publish_static`), by a publisher that then ends cleanly; the walks it made."""
    before = len(walks)
    publisher = Publisher(site)
    publisher.publish_static()
    publisher.close()
    return len(walks) - before


def test_a_pass_after_clean_passes_does_not_walk_the_site_and_a_dead_mark_makes_it(
    tmp_path: Path, walks: list[str]
) -> None:
    site = tmp_path / "site"
    first = Publisher(site)
    first.publish_user(reports_for(make_collection("OctoCat")))
    deep = "octocat/1_year/.index.html.0a1b2c3d4e5f.tmp"
    plant_dead_temp(site, deep)  # a writer of a gitbrag before marks, killed
    first.publish_static()  # a site never swept since writers mark themselves: all of it
    first.close()
    assert leftovers(site) == [] and refused_by_pages(site) == []
    assert os.getxattr(site, SWEPT_XATTR) == b"1"

    # A clean pass: nothing died, so nothing below the folders it writes is looked at. (A file
    # planted by hand with no dead writer behind it shows where the sweep did not look.)
    plant_dead_temp(site, deep)
    plant_dead_temp(site, ".robots.txt.abcdef123456.tmp")  # the root is always looked at
    assert sweep_pass(site, walks) == 0
    assert leftovers(site) == [deep]
    assert marks(site) == []

    # A writer's mark that no process holds: it was killed, its leftovers may be anywhere.
    (site / f"{MARK_PREFIX}0123456789ab.lock").write_bytes(b"gitbrag writer, process 1\n")
    assert sweep_pass(site, walks) == 1
    assert leftovers(site) == [] and refused_by_pages(site) == []


def test_the_folders_a_pass_writes_into_are_swept_without_a_walk(tmp_path: Path, walks: list[str]) -> None:
    site = tmp_path / "site"
    publisher = Publisher(site)
    publisher.publish_user(reports_for(make_collection("OctoCat")))
    publisher.publish_static()
    plant_dead_temp(site, "octocat/1_year/.report.json.123456abcdef.tmp")
    publisher.publish_user(reports_for(make_collection("OctoCat", incomplete=True)))
    before = len(walks)
    publisher.publish_static()
    publisher.close()
    assert len(walks) == before
    assert leftovers(site) == [] and refused_by_pages(site) == []


@contextmanager
def stalled_writer(site: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A real publishing process (this module as a script) stopped in the middle of a write,
    its temporary file written and not yet renamed; killed on the way out if still alive."""
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.publish.test_sweep_scope", str(site)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        assert line == b"writing\n", child.stderr.read() if child.stderr else line
        yield child
    finally:
        if child.poll() is None:
            child.kill()
        child.communicate(timeout=30)


def test_kill_9_mid_write_the_next_pass_removes_every_leftover_and_the_mark(
    tmp_path: Path, walks: list[str]
) -> None:
    site = tmp_path / "site"
    with stalled_writer(site) as child:
        child.kill()  # SIGKILL: no cleanup of its own
        child.wait(timeout=30)
    left = leftovers(site)
    assert left and all("/" in name for name in left), left  # inside a user's folder
    assert len(marks(site)) == 1  # the killed writer's
    age([site / name for name in left])  # the next run comes later
    plant_dead_temp(site, "octocat/1_year/repos/.index.html.0a1b2c3d4e5f.tmp")  # deeper still

    assert sweep_pass(site, walks) == 1
    assert leftovers(site) == [] and marks(site) == []
    assert refused_by_pages(site) == []


def test_a_live_writers_mark_and_temporary_file_are_respected(tmp_path: Path, walks: list[str]) -> None:
    site = tmp_path / "site"
    with stalled_writer(site) as child:
        left, held = leftovers(site), marks(site)
        assert left and len(held) == 1
        age([site / name for name in left])  # locked, whatever its age
        assert sweep_pass(site, walks) == 0  # a live writer's mark is no reason to walk
        assert leftovers(site) == left and marks(site) == held
        assert child.poll() is None
    # Killed on the way out: now a dead writer's, swept by the next pass.
    age([site / name for name in leftovers(site)])
    assert sweep_pass(site, walks) == 1
    assert leftovers(site) == [] and marks(site) == []


def _stall_in_writes() -> Callable[[int], None]:
    """`os.fsync` that stops the process at the first temporary file's fsync: between its
    write and its rename (`SiteRoot.write`)."""

    def stall(fd: int) -> None:
        print("writing", flush=True)
        while True:  # until the test's SIGKILL: no timer, whatever the machine's speed
            signal.pause()

    return stall


if __name__ == "__main__":
    # The stalled writer: a user published, the site swept, then a second user's first write
    # stops before its rename, until the test kills it.
    publisher = Publisher(Path(sys.argv[1]))
    publisher.publish_user(reports_for(make_collection("OctoCat")))
    publisher.publish_static()
    os.fsync = _stall_in_writes()
    publisher.publish_user(reports_for(make_collection("stalled-sue")))
    sys.exit("the write was not stopped")
