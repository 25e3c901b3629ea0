"""Unchanged work costs nothing (issue 12): republishing reports whose content did not change
writes only the user's tiny generated.json, on the same day or any later one (the pages and
report.json keep the window and day of the generation that last changed them, see
`gitbrag.publish.freshness`); a change rewrites exactly the files that show it.

Writes are counted from the files themselves, never from timing: before the second publish
every file's mtime is set far into the past, and the publisher writes by renaming a new
file over the old one, so a file written again has a new inode and a current mtime.
"""

from __future__ import annotations

import json
import os
import stat
import tracemalloc
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from gitbrag.models import Collection, Period, Report
from gitbrag.publish.publisher import FRONT, IndexEntry, Publisher, SupersededError
from gitbrag.publish.safepath import MARK_PREFIX, SiteRoot
from gitbrag.publish.templates import default_template_dirs
from gitbrag.report.build import build_reports
from tests.publish.test_publish import GENERATED, UNTIL, big_collection
from tests.support import assert_site_whole

LATER = timedelta(hours=3, minutes=7)  # 09:30 -> 12:37: the same day
NEXT_DAY = timedelta(days=1, hours=3)  # the first refresh of a new UTC day
AGED_NS = 1_000_000_000 * 10**9  # 2001: no write made by this test can carry it
# A card shows part of its list (own pages), and past 40 cards come the "more" pages.
REPOS, PRS_PER_REPO = 44, 12
FRESHNESS = "prolific/generated.json"
STAMP = {"since", "until", "generated_at", "generation"}


def reports_at(collection: Collection, later: timedelta, generation: int) -> dict[Period, Report]:
    reports = build_reports(collection, until=UNTIL + later, generated_at=GENERATED + later)
    return {p: r.model_copy(update={"generation": generation}) for p, r in reports.items()}


def publish_site(publisher: Publisher, reports: dict[Period, Report]) -> None:
    """As a refresh does: the user, then the index from what is published."""
    publisher.publish_user(reports)
    published = publisher.read_report(reports["1_year"].username, "1_year")
    assert published is not None
    publisher.publish_index([IndexEntry.from_report(published)])
    publisher.publish_static()


def age_every_file(site: Path) -> dict[str, tuple[int, int]]:
    """Set every file's mtime to `AGED_NS`; returns (inode, mtime) by relative path."""
    for path in site.rglob("*"):
        if path.is_file():
            os.utime(path, ns=(AGED_NS, AGED_NS), follow_symlinks=False)
    return files_state(site)


def files_state(site: Path) -> dict[str, tuple[int, int]]:
    """The site's files (not a live publisher's writer's mark at the root, which is its
    process's, made on its first write and gone when it ends: `safepath.MARK_PREFIX`)."""
    return {
        p.relative_to(site).as_posix(): (p.lstat().st_ino, p.lstat().st_mtime_ns)
        for p in site.rglob("*")
        if (p.is_file() or p.is_symlink()) and not p.name.startswith(MARK_PREFIX)
    }


def rewritten(before: dict[str, tuple[int, int]], site: Path) -> set[str]:
    """Files written since `before` (new, or another inode or mtime)."""
    return {path for path, state in files_state(site).items() if before.get(path) != state}


def freshness(site: Path) -> dict[str, object]:
    loaded: dict[str, object] = json.loads((site / FRESHNESS).read_text(encoding="utf-8"))
    return loaded


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return tmp_path / "site"


@pytest.fixture
def collection() -> Collection:
    return big_collection(REPOS, PRS_PER_REPO)


@pytest.mark.parametrize("later", [LATER, NEXT_DAY], ids=["same-day", "next-day"])
def test_an_unchanged_refresh_writes_only_generated_json(
    site: Path, collection: Collection, later: timedelta
) -> None:
    first = reports_at(collection, timedelta(0), generation=1)
    publish_site(Publisher(site), first)
    assert list(site.glob("prolific/*/repos/*/*/index.html")) and list(
        site.glob("prolific/*/more/index.html")
    )
    before = age_every_file(site)
    publisher = Publisher(site)
    again = reports_at(collection, later, generation=2)
    publish_site(publisher, again)
    assert rewritten(before, site) == {FRESHNESS}
    assert (publisher.files_written, publisher.files_unchanged) == (1, len(before) - 1)
    # report.json keeps the generation that last changed it; generated.json has the new time.
    assert publisher.read_report("prolific", "5_years") == first["5_years"]
    recorded = freshness(site)
    assert set(recorded.pop("pages")) == {*again, FRONT}  # type: ignore[arg-type]
    assert isinstance(recorded.pop("settings"), str)  # what the pages were made with (issue 27)
    # The index row (issue 29) is the published report's: its content did not change, nor its day.
    assert recorded.pop("index")["generated_at"] == GENERATED.isoformat()  # type: ignore[index]
    assert recorded == dict.fromkeys(again, (GENERATED + later).isoformat()) | {
        "updating": False,
        "generation": 2,
    }
    assert publisher.checked_at("prolific", "1_year") == GENERATED + later
    assert publisher.published_generation("prolific") == 2
    assert_site_whole(site)


def test_the_fence_counts_the_generation_of_an_unchanged_publish(site: Path, collection: Collection) -> None:
    """An unchanged publish leaves report.json at generation 1, but generation 2 is on the
    site: a second generation 2 (started from the same page) or an older one is refused."""
    publish_site(Publisher(site), reports_at(collection, timedelta(0), generation=1))
    publish_site(Publisher(site), reports_at(collection, LATER, generation=2))
    for generation in (2, 1):
        with pytest.raises(SupersededError):
            Publisher(site).publish_user(reports_at(collection, NEXT_DAY, generation=generation))
    Publisher(site).publish_user(reports_at(collection, NEXT_DAY, generation=3))
    assert freshness(site)["generation"] == 3


def test_a_report_dated_in_the_future_is_replaced_not_kept(site: Path, collection: Collection) -> None:
    """Made while the clock was a day ahead: keeping it would show a day still to come."""
    publish_site(Publisher(site), reports_at(collection, NEXT_DAY, generation=1))
    today = reports_at(collection, LATER, generation=2)
    publish_site(Publisher(site), today)
    assert Publisher(site).read_report("prolific", "1_year") == today["1_year"]
    page = (site / "prolific" / "index.html").read_text(encoding="utf-8")
    assert f'datetime="{(GENERATED + LATER).date().isoformat()}"' in page


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
    # The periods that show it (report.json, pages), and generated.json; the index follows the
    # 1-year report (its time), which shows it too, and so does search.json (each index page's
    # newest change, which the first page's totals show).
    assert "prolific/1_year/report.json" in showing
    assert rewritten(before, site) == showing | {FRESHNESS, "index.html", "search.json"}


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


class CountingPublisher(Publisher):
    """A publisher that notes each page it renders (rendering is the unchanged pass's cost)."""

    def __init__(self, site: Path, **options: Any) -> None:
        super().__init__(site, **options)
        self.rendered: list[str] = []

    def _render(self, template: str, *, page: str, **context: Any) -> str:
        self.rendered.append(page)
        return super()._render(template, page=page, **context)


def test_an_unchanged_refresh_of_an_untouched_site_renders_no_page(
    site: Path, collection: Collection
) -> None:
    """generated.json records what each period's pages were rendered from and the files as
    written: when both still hold, nothing is rendered; a file gone is rendered again."""
    publish_site(Publisher(site), reports_at(collection, timedelta(0), generation=1))
    before = files_state(site)
    publisher = CountingPublisher(site)
    publisher.publish_user(reports_at(collection, NEXT_DAY, generation=2))
    assert publisher.rendered == []
    assert rewritten(before, site) == {FRESHNESS}
    user_files = [p for p in before if p.startswith("prolific/") and p != FRESHNESS]
    assert (publisher.files_written, publisher.files_unchanged) == (1, len(user_files))

    (site / "prolific" / "2_years" / "card.svg").unlink()
    publisher = CountingPublisher(site)
    publisher.publish_user(reports_at(collection, NEXT_DAY + LATER, generation=3))
    assert publisher.rendered and {p.split("/")[1] for p in publisher.rendered} == {"2_years"}
    assert (site / "prolific" / "2_years" / "card.svg").is_file()
    assert rewritten(before, site) == {FRESHNESS, "prolific/2_years/card.svg"}
    assert_site_whole(site)


def test_a_changed_report_renders_only_its_own_pages(site: Path, collection: Collection) -> None:
    """A pull request's new title shows in the periods that list it: their pages, and the
    front page (the 1-year report), are rendered; the other periods' are not."""
    publish_site(Publisher(site), reports_at(collection, timedelta(0), generation=1))
    prs = list(collection.pull_requests)
    prs[-1] = prs[-1].model_copy(update={"title": "A title changed on GitHub since the last refresh"})
    changed = reports_at(collection.model_copy(update={"pull_requests": prs}), LATER, 2)
    publisher = CountingPublisher(site)
    publisher.publish_user(changed)
    periods = {page.split("/")[1] for page in publisher.rendered}
    first = reports_at(collection, timedelta(0), generation=1)
    differs = {
        p for p in changed if changed[p].model_copy(update=first[p].model_dump(include=STAMP)) != first[p]
    }
    assert differs and differs < set(changed)
    assert periods == differs | {"index.html"}


def test_an_edited_template_renders_the_pages_again(
    site: Path, collection: Collection, tmp_path: Path
) -> None:
    """An operator's template (GITBRAG_TEMPLATES_DIR) changed since the last publish counts
    as a change of every page it renders, as Jinja reloads it."""
    custom = tmp_path / "templates"
    custom.mkdir()
    template = custom / "report.html"
    template.write_text((default_template_dirs()[0] / "report.html").read_text(encoding="utf-8"))
    publish_site(Publisher(site, templates_dir=custom), reports_at(collection, timedelta(0), generation=1))
    edited = template.read_text(encoding="utf-8").replace(
        "{% block content %}", "{% block content %}<!-- edited by the operator -->", 1
    )
    template.write_text(edited)
    publisher = CountingPublisher(site, templates_dir=custom)
    publisher.publish_user(reports_at(collection, LATER, generation=2))
    assert "<!-- edited by the operator -->" in (site / "prolific" / "2_years" / "index.html").read_text()
    assert "<!-- edited by the operator -->" in (site / "prolific" / "index.html").read_text()


def test_a_running_publisher_renders_an_edited_template_at_its_next_publish(
    site: Path, collection: Collection, tmp_path: Path
) -> None:
    """The service's publisher lives for days: an operator's edit counts without a restart."""
    custom = tmp_path / "templates"
    custom.mkdir()
    template = custom / "report.html"
    template.write_text((default_template_dirs()[0] / "report.html").read_text(encoding="utf-8"))
    publisher = Publisher(site, templates_dir=custom)
    publish_site(publisher, reports_at(collection, timedelta(0), generation=1))
    edited = template.read_text(encoding="utf-8").replace(
        "{% block content %}", "{% block content %}<!-- edited while running -->", 1
    )
    template.write_text(edited)
    publisher.publish_user(reports_at(collection, LATER, generation=2))
    assert "<!-- edited while running -->" in (site / "prolific" / "2_years" / "index.html").read_text()


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


def test_the_updating_notice_comes_and_goes_in_generated_json_alone(
    site: Path, collection: Collection
) -> None:
    """`set_updating` writes only generated.json (the pages' script shows the label), and
    clearing it restores that file byte for byte."""
    publisher = Publisher(site)
    publish_site(publisher, reports_at(collection, timedelta(0), generation=1))
    published = (site / FRESHNESS).read_bytes()
    before = age_every_file(site)
    assert publisher.set_updating("prolific", True)
    assert rewritten(before, site) == {FRESHNESS}
    assert freshness(site)["updating"] is True
    publisher.set_updating("prolific", False)
    assert (site / FRESHNESS).read_bytes() == published
    assert rewritten(before, site) == {FRESHNESS}


def test_set_updating_rebuilds_a_missing_generated_json_from_the_reports(
    site: Path, collection: Collection
) -> None:
    """A site published before generated.json carried the flag (or one whose file was lost)."""
    reports = reports_at(collection, timedelta(0), generation=4)
    publish_site(Publisher(site), reports)
    (site / FRESHNESS).unlink()
    assert Publisher(site).set_updating("prolific", True)
    assert freshness(site) == dict.fromkeys(reports, GENERATED.isoformat()) | {
        "updating": True,
        "generation": 4,
    }


def test_holds_compares_a_big_file_a_piece_at_a_time(tmp_path: Path) -> None:
    """A 20,000-PR user's report.json is megabytes: comparing it must not read a whole second
    copy beside the new bytes (that copy was the peak of maintainer-max's publish)."""
    root = SiteRoot(tmp_path)
    data = os.urandom(8 << 20)
    root.write("a/report.json", data)
    changed_at_the_end = data[:-1] + bytes([data[-1] ^ 1])
    tracemalloc.start()
    try:
        assert root.holds("a/report.json", data)
        assert not root.holds("a/report.json", changed_at_the_end)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 << 20, f"{peak / 2**20:.1f} MiB allocated to compare 8 MiB"
