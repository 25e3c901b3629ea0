"""Unchanged work costs nothing (issue 12): republishing reports whose content did not change
rewrites only the files whose bytes differ, which on the same day are the report.json files,
the tiny generated.json and the index (it shows the exact times).

Writes are counted from the files themselves, never from timing: before the second publish
every file's mtime is set far into the past, and the publisher writes by renaming a new
file over the old one, so a file written again has a new inode and a current mtime.
"""

from __future__ import annotations

import json
import os
import stat
from datetime import timedelta
from pathlib import Path

import pytest

from gitbrag.models import PERIODS, Collection, Period, Report
from gitbrag.publish import IndexEntry, Publisher
from gitbrag.report import build_reports
from gitbrag.safepath import SiteRoot
from tests.support import assert_site_whole
from tests.test_publish import GENERATED, UNTIL, big_collection

LATER = timedelta(hours=3, minutes=7)  # 09:30 -> 12:37: the same day
AGED_NS = 1_000_000_000 * 10**9  # 2001: no write made by this test can carry it
# A card shows part of its list (own pages), and past 40 cards come the "more" pages.
REPOS, PRS_PER_REPO = 44, 12


def reports_at(collection: Collection, later: timedelta, generation: int) -> dict[Period, Report]:
    reports = build_reports(collection, until=UNTIL + later, generated_at=GENERATED + later)
    return {p: r.model_copy(update={"generation": generation}) for p, r in reports.items()}


def publish_site(publisher: Publisher, reports: dict[Period, Report]) -> None:
    publisher.publish_user(reports)
    publisher.publish_index([IndexEntry.from_report(reports["1_year"])])
    publisher.publish_static()


def age_every_file(site: Path) -> dict[str, tuple[int, int]]:
    """Set every file's mtime to `AGED_NS`; returns (inode, mtime) by relative path."""
    for path in site.rglob("*"):
        if path.is_file():
            os.utime(path, ns=(AGED_NS, AGED_NS), follow_symlinks=False)
    return files_state(site)


def files_state(site: Path) -> dict[str, tuple[int, int]]:
    return {
        p.relative_to(site).as_posix(): (p.lstat().st_ino, p.lstat().st_mtime_ns)
        for p in site.rglob("*")
        if p.is_file() or p.is_symlink()
    }


def rewritten(before: dict[str, tuple[int, int]], site: Path) -> set[str]:
    """Files written since `before` (new, or another inode or mtime)."""
    return {path for path, state in files_state(site).items() if before.get(path) != state}


def times_files(login: str) -> set[str]:
    """What changes at every refresh: each period's report.json and the exact times."""
    return {f"{login}/{p}/report.json" for p in PERIODS} | {f"{login}/generated.json"}


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return tmp_path / "site"


@pytest.fixture
def collection() -> Collection:
    return big_collection(REPOS, PRS_PER_REPO)


def test_a_later_refresh_the_same_day_rewrites_only_the_times(site: Path, collection: Collection) -> None:
    publish_site(Publisher(site), reports_at(collection, timedelta(0), generation=1))
    assert list(site.glob("prolific/*/repos/*/*/index.html")) and list(
        site.glob("prolific/*/more/index.html")
    )
    before = age_every_file(site)
    publisher = Publisher(site)
    later = reports_at(collection, LATER, generation=2)
    publish_site(publisher, later)
    assert rewritten(before, site) == times_files("prolific") | {"index.html"}
    assert publisher.files_written == len(times_files("prolific")) + 1
    assert publisher.files_unchanged == len(before) - publisher.files_written
    # What changed is there: the new times and generation, for the script and the store.
    assert publisher.read_report("prolific", "5_years") == later["5_years"]
    times = json.loads((site / "prolific" / "generated.json").read_text(encoding="utf-8"))
    assert times == dict.fromkeys(PERIODS, (GENERATED + LATER).isoformat())
    assert_site_whole(site)


def test_a_changed_title_rewrites_exactly_the_pages_that_show_it(site: Path, collection: Collection) -> None:
    publish_site(Publisher(site), reports_at(collection, timedelta(0), generation=1))
    before = age_every_file(site)
    renamed = "A title changed on GitHub since the last refresh"
    prs = list(collection.pull_requests)
    prs[-1] = prs[-1].model_copy(update={"title": renamed})
    publish_site(Publisher(site), reports_at(collection.model_copy(update={"pull_requests": prs}), LATER, 2))
    showing = {
        p.relative_to(site).as_posix()
        for p in site.rglob("*")
        if p.is_file() and renamed.encode() in p.read_bytes()
    }
    pages = {p for p in showing if p.endswith(".html")}
    assert pages
    assert len(pages) < len(list(site.glob("prolific/**/*.html")))
    assert rewritten(before, site) == showing | times_files("prolific") | {"index.html"}


def test_a_longer_or_shorter_report_rewrites_its_pages(site: Path, collection: Collection) -> None:
    """A size that differs is the early answer; the same size with other bytes is read through."""
    publish_site(Publisher(site), reports_at(collection, timedelta(0), generation=1))
    page = site / "prolific" / "1_year" / "index.html"
    original = page.read_bytes()
    page.write_bytes(original.replace(b"Pro Lific", b"Pro Lifix"))  # same size, other bytes
    other = site / "prolific" / "2_years" / "index.html"
    other.write_bytes(other.read_bytes() + b"\n")
    publisher = Publisher(site)
    publish_site(publisher, reports_at(collection, LATER, generation=2))
    assert page.read_bytes() == original
    assert not other.read_bytes().endswith(b"\n\n")


def test_rewrite_unchanged_writes_every_file_as_before(site: Path, collection: Collection) -> None:
    """The benchmark's baseline: the publisher as it was, writing every file each time."""
    publish_site(Publisher(site), reports_at(collection, timedelta(0), generation=1))
    before = age_every_file(site)
    publisher = Publisher(site, rewrite_unchanged=True)
    publish_site(publisher, reports_at(collection, LATER, generation=2))
    assert rewritten(before, site) == set(before)
    assert (publisher.files_written, publisher.files_unchanged) == (len(before), 0)


def test_same_bytes_behind_a_link_or_with_another_mode_are_replaced(
    site: Path, collection: Collection, tmp_path: Path
) -> None:
    """Skipping a write never keeps what is not the site's own: a link to a file with the
    very same bytes (at the file, or at a folder above it) is replaced as before, its
    target untouched, and a file of another mode gets the site's mode again."""
    reports = reports_at(collection, timedelta(0), generation=1)
    publish_site(Publisher(site), reports)
    outside = tmp_path / "outside"
    outside.mkdir()
    page = site / "prolific" / "index.html"
    copy = outside / "index.html"
    copy.write_bytes(page.read_bytes())
    page.unlink()
    page.symlink_to(copy)
    folder = site / "prolific" / "2_years"
    os.rename(folder, outside / "2_years")
    folder.symlink_to(outside / "2_years", target_is_directory=True)
    private = site / "prolific" / "1_year" / "index.html"
    private.chmod(0o600)
    outside_before = age_every_file(outside)
    Publisher(site).publish_user(reports_at(collection, LATER, generation=2))
    assert not page.is_symlink() and page.read_bytes() == copy.read_bytes()
    assert not folder.is_symlink() and (folder / "index.html").is_file()
    assert stat.S_IMODE(private.stat().st_mode) == 0o644
    assert rewritten(outside_before, outside) == set()
    assert_site_whole(site)


def test_holds_answers_no_for_anything_but_a_regular_file(tmp_path: Path) -> None:
    root = SiteRoot(tmp_path)
    assert root.write_if_changed("a/page.html", b"same") is True
    assert root.write_if_changed("a/page.html", b"same") is False
    assert root.holds("a/page.html", b"same") and not root.holds("a/page.html", b"Same")
    assert not root.holds("missing/page.html", b"") and not root.holds("a/missing.html", b"")
    os.mkfifo(tmp_path / "a" / "fifo")  # O_NONBLOCK: no reader hangs on it
    assert not root.holds("a/fifo", b"")
    (tmp_path / "b").symlink_to(tmp_path / "a", target_is_directory=True)
    assert not root.holds("b/page.html", b"same")


def test_the_updating_notice_still_comes_and_goes(site: Path, collection: Collection) -> None:
    """`set_updating` writes the report pages only, and clearing it restores them byte for byte."""
    publisher = Publisher(site)
    publish_site(publisher, reports_at(collection, timedelta(0), generation=1))
    pages = [site / "prolific" / "index.html", *(site / "prolific" / p / "index.html" for p in PERIODS)]
    published = {p: p.read_bytes() for p in pages}
    before = age_every_file(site)
    assert publisher.set_updating("prolific", True)
    assert rewritten(before, site) == {p.relative_to(site).as_posix() for p in pages}
    assert all(b"This report is being updated" in p.read_bytes() for p in pages)
    publisher.set_updating("prolific", False)
    assert {p: p.read_bytes() for p in pages} == published
