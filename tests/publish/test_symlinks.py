"""Symbolic links planted in the site never take the publisher outside it.

Below the site root gitbrag follows no link (`gitbrag.publish.safepath`): a link where it writes a
folder is replaced by a real folder, a link where it writes a file is replaced by the
atomic rename, a link where it reads is ignored, a link where it deletes is removed
itself. The link's target, inside the site or outside, is never touched. The site root
itself may be a link (a legitimate setup): it is resolved once.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from gitbrag.fakegithub.server import FakeGitHubServer, shared_dataset
from gitbrag.models import Period, Report
from gitbrag.publish.publisher import IndexEntry, Publisher
from gitbrag.publish.safepath import sweep_temp_files
from tests.publish.test_publish import GENERATED, big_collection, make_collection, parse, reports_for
from tests.support import assert_site_whole, clean_env, refresh, summary

PROLIFIC = "prolific"
# A user with repository pages (20 PRs a card cannot all show) and "more" pages (past 40 cards).
PROLIFIC_SHAPE = (42, 20)
OWNER_FOLDER = "prolific/1_year/repos/some-organisation-0"
REPLACED = "a symbolic link in the site is replaced by a real folder"


def tree(root: Path) -> dict[str, str]:
    """Everything below `root` without following links: what each entry is, and its bytes."""
    entries: dict[str, str] = {}
    for folder, dirs, files, _ in os.fwalk(root):
        for name in dirs + files:
            path = Path(folder) / name
            relative = str(path.relative_to(root))
            if path.is_symlink():
                entries[relative] = "link -> " + os.readlink(path)
            elif path.is_dir():
                entries[relative] = "folder"
            else:
                entries[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
    return entries


def links_below(root: Path) -> list[Path]:
    return [
        Path(f) / n
        for f, dirs, files, _ in os.fwalk(root)
        for n in dirs + files
        if (Path(f) / n).is_symlink()
    ]


def assert_links_resolve(folder: Path) -> None:
    """Every relative link of every page below `folder` leads to a file."""
    for page in folder.rglob("*.html"):
        for url in parse(page).urls:
            if not url.startswith(("http://", "https://", "#")):
                assert (page.parent / url.partition("#")[0]).is_file(), f"{page} links to missing {url}"


def newer(reports: dict[Period, Report], days: int = 1) -> dict[Period, Report]:
    """The same reports generated later (the fence lets only newer ones replace a page)."""
    return {p: r.model_copy(update={"generated_at": GENERATED + timedelta(days)}) for p, r in reports.items()}


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder outside the site standing in for `/`: files the publisher would overwrite,
    and a stray file its cleaning would delete."""
    folder = tmp_path / "outside"
    (folder / "1_year").mkdir(parents=True)
    (folder / "index.html").write_text("precious page")
    (folder / "report.json").write_text("precious data")
    (folder / "feed.xml").write_text("precious feed")
    (folder / "notes.txt").write_text("precious notes")
    (folder / ".old.tmp").write_text("precious, though its name looks like a leftover")
    os.utime(folder / ".old.tmp", (0, 0))
    (folder / "1_year" / "report.json").write_text(make_report_json("outsider"))
    return folder


def make_report_json(login: str) -> str:
    return reports_for(make_collection(login))["1_year"].model_dump_json()


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return tmp_path / "site"


def publish_site(publisher: Publisher, *reports: dict[Period, Report]) -> None:
    for user_reports in reports:
        publisher.publish_user(user_reports)
    publisher.publish_index([IndexEntry.from_report(r["1_year"]) for r in reports])
    publisher.publish_static()


def plant_link(site: Path, relative: str, target: Path) -> None:
    """Replace the real folder at `relative` (if any) by a link to `target`."""
    path = site / relative
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(target, target_is_directory=True)


# --- folders: a link is replaced by a real folder, its target untouched -------------------


@pytest.mark.parametrize(
    "relative", [PROLIFIC, f"{PROLIFIC}/1_year", OWNER_FOLDER, f"{PROLIFIC}/1_year/more", "assets"]
)
@pytest.mark.parametrize("points_to", ["outside", "sibling", "dangling"])
def test_a_linked_folder_is_replaced_by_a_real_one_and_its_target_is_untouched(
    site: Path, outside: Path, caplog: pytest.LogCaptureFixture, relative: str, points_to: str
) -> None:
    publisher = Publisher(site)
    prolific = reports_for(big_collection(*PROLIFIC_SHAPE))
    octocat = reports_for(make_collection())
    publish_site(publisher, prolific, octocat)
    targets = {"outside": outside, "sibling": site / "octocat" / "1_year", "dangling": outside / "nowhere"}
    plant_link(site, relative, targets[points_to])
    before = {"outside": tree(outside), "sibling": tree(site / "octocat")}

    with caplog.at_level(logging.WARNING, logger="gitbrag"):
        publish_site(Publisher(site), newer(prolific), octocat)

    assert {"outside": tree(outside), "sibling": tree(site / "octocat")} == before
    assert (site / relative).is_dir() and not (site / relative).is_symlink()
    assert links_below(site) == []
    replaced = [r for r in caplog.records if r.getMessage() == REPLACED]
    assert [(r.path, r.link_to) for r in replaced] == [(relative, str(targets[points_to]))]  # type: ignore[attr-defined]
    assert_site_whole(site)
    assert_links_resolve(site / PROLIFIC)
    # The same content a day later: the report on the site is kept (gitbrag.publish.freshness), unless
    # the link hid it (a report behind a link is not the site's): then the newer one is written.
    hidden = relative in (PROLIFIC, f"{PROLIFIC}/1_year")
    expected = (newer(prolific) if hidden else prolific)["1_year"]
    assert Publisher(site).read_report(PROLIFIC, "1_year") == expected


def test_the_first_publish_into_a_planted_user_folder_writes_nothing_outside(
    site: Path, outside: Path
) -> None:
    """The reproduction of the issue: `site/<login>/1_year -> /` before the user's first refresh."""
    plant_link(site, "octocat/1_year", outside)
    before = tree(outside)
    Publisher(site).publish_user(reports_for(make_collection()))
    assert tree(outside) == before
    assert not (site / "octocat" / "1_year").is_symlink()
    assert (site / "octocat" / "1_year" / "report.json").is_file()


def test_a_linked_leftover_repository_folder_is_removed_not_emptied(site: Path, outside: Path) -> None:
    """Cleaning repository pages a report no longer needs never deletes through a link."""
    publisher = Publisher(site)
    publisher.publish_user(reports_for(big_collection(1, 300)))
    plant_link(site, "prolific/1_year/repos", outside)
    before = tree(outside)
    publisher.publish_user(newer(reports_for(big_collection(1, 3))))  # no repository page any more
    assert tree(outside) == before
    assert not (site / "prolific" / "1_year" / "repos").exists()


def test_a_link_inside_a_repository_folder_is_removed_itself(site: Path, outside: Path) -> None:
    publisher = Publisher(site)
    publisher.publish_user(reports_for(big_collection(1, 300)))
    (site / OWNER_FOLDER / "planted").symlink_to(outside, target_is_directory=True)
    (site / OWNER_FOLDER / "planted.html").symlink_to(outside / "index.html")
    before = tree(outside)
    publisher.publish_user(newer(reports_for(big_collection(1, 3))))
    assert tree(outside) == before
    assert list((site / "prolific" / "1_year" / "repos").iterdir()) == []


# --- the site root: a link there is the operator's setup, followed once -------------------


def test_a_linked_site_root_is_followed_and_everything_lands_in_its_target(tmp_path: Path) -> None:
    disk = tmp_path / "disk" / "site"
    disk.mkdir(parents=True)
    link = tmp_path / "srv" / "site"
    link.parent.mkdir()
    link.symlink_to(disk, target_is_directory=True)
    publisher = Publisher(link)
    reports = reports_for(make_collection())
    written = publisher.publish_user(reports)
    publish_site(publisher, reports)
    assert all(path.is_file() and disk in path.resolve().parents for path in written)
    assert (disk / "octocat" / "1_year" / "report.json").is_file() and (disk / "index.html").is_file()
    assert link.is_symlink() and sorted(os.listdir(tmp_path / "srv")) == ["site"]
    assert publisher.read_report("octocat", "1_year") == reports["1_year"]
    assert publisher.published_logins() == ["octocat"]
    assert_site_whole(disk)


# --- files: replaced by the rename; never read through -----------------------------------


def test_a_linked_file_is_replaced_by_a_regular_file_and_its_target_is_untouched(
    site: Path, outside: Path
) -> None:
    publisher = Publisher(site)
    reports = reports_for(make_collection())
    publish_site(publisher, reports)
    for name in ("octocat/1_year/index.html", "octocat/feed.xml", "index.html", "robots.txt"):
        (site / name).unlink()
        (site / name).symlink_to(outside / "index.html")
    (site / "octocat" / "2_years" / "index.html").unlink()
    (site / "octocat" / "2_years" / "index.html").symlink_to(outside / "nowhere.html")  # dangling
    before = tree(outside)
    publish_site(publisher, newer(reports))
    assert tree(outside) == before
    assert links_below(site) == []
    assert_site_whole(site)


def test_a_report_behind_a_link_is_not_read_into_the_site(
    site: Path, outside: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Reading through a link would copy any file of the machine into the site (the index,
    the "being updated" pages): such a report counts as not published."""
    publisher = Publisher(site)
    publish_site(publisher, reports_for(make_collection()))
    linked_file = site / "octocat" / "1_year" / "report.json"
    linked_file.unlink()
    linked_file.symlink_to(outside / "1_year" / "report.json")
    plant_link(site, "outsider", outside)  # site/outsider/1_year/report.json is outside's
    with caplog.at_level(logging.WARNING, logger="gitbrag"):
        assert publisher.read_report("octocat", "1_year") is None
        assert publisher.read_report("outsider", "1_year") is None
    assert publisher.published_logins() == []
    assert publisher.set_updating("outsider", True) is False
    reasons = {r.reason for r in caplog.records if r.getMessage().startswith("ignoring a report")}  # type: ignore[attr-defined]
    assert reasons == {"octocat/1_year/report.json is a symbolic link", "outsider is a symbolic link"}


def test_a_fifo_in_place_of_a_report_cannot_hang_the_reader(site: Path) -> None:
    folder = site / "octocat" / "1_year"
    folder.mkdir(parents=True)
    fifo = folder / "report.json"
    os.mkfifo(fifo)
    result: list[Report | None] = []
    reader = threading.Thread(target=lambda: result.append(Publisher(site).read_report("octocat", "1_year")))
    reader.start()
    reader.join(timeout=30)  # answers at once; only a reader blocked in open() takes this long
    if reader.is_alive():
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))  # let the blocked reader go
        reader.join()
        pytest.fail("reading a FIFO blocked")
    assert result == [None]


# --- sweeping leftovers ------------------------------------------------------------------


def test_sweeping_temporary_files_never_enters_a_link(site: Path, outside: Path) -> None:
    (site / "octocat").mkdir(parents=True)
    plant_link(site, "octocat/1_year", outside)
    (site / ".index.html.dead.tmp").symlink_to(outside / ".old.tmp")
    before = tree(outside)
    assert sweep_temp_files(site) == 0
    assert tree(outside) == before


# --- what cannot be made safe: that report fails, in one line ----------------------------


def test_a_file_where_a_folder_must_be_fails_that_report_with_one_clear_line(site: Path) -> None:
    (site / "octocat").mkdir(parents=True)
    (site / "octocat" / "1_year").write_text("not a folder")
    with pytest.raises(NotADirectoryError, match=r"^\[Errno 20\] octocat/1_year is not a folder$"):
        Publisher(site).publish_user(reports_for(make_collection()))
    assert (site / "octocat" / "1_year").read_text() == "not a folder"


# --- the whole pipeline, as an operator runs it ------------------------------------------


def test_refresh_once_with_planted_links_writes_nothing_outside_the_site(
    tmp_path: Path, outside: Path
) -> None:
    """`gitbrag-refresh --once --force` after `site/zero-zoe/1_year -> <outside>` (the issue's
    `-> /`), a link from another user's folder to a sibling, and a file where a folder must
    be: nothing outside changes, the links become real folders (exit 0 for them), the
    user whose folder is a file fails with one line (exit 1) and the others publish."""
    with FakeGitHubServer(shared_dataset()) as gh:
        env = clean_env(GITHUB_TOKEN="t", GITBRAG_GITHUB_API_URL=gh.url)
        users = "--user=zero-zoe,hostile-hank,steady-sam"
        assert refresh(tmp_path, users, env=env).returncode == 0
        site = tmp_path / "site"
        plant_link(site, "zero-zoe/1_year", outside)
        plant_link(site, "hostile-hank/2_years", site / "steady-sam" / "2_years")
        before = {"outside": tree(outside), "sibling": tree(site / "steady-sam" / "2_years")}

        linked = refresh(tmp_path, "--force", "--user=zero-zoe,hostile-hank", env=env)
        assert linked.returncode == 0, linked.stderr[-3000:]
        assert summary(linked) == "refreshed=8 skipped=4 failed=0"  # steady-sam is fresh
        assert {"outside": tree(outside), "sibling": tree(site / "steady-sam" / "2_years")} == before
        assert links_below(site) == []
        replaced = [line for line in linked.stderr.splitlines() if REPLACED in line]
        assert len(replaced) == 2 and "path=zero-zoe/1_year" in replaced[0] + replaced[1]

        shutil.rmtree(site / "zero-zoe" / "5_years")
        (site / "zero-zoe" / "5_years").write_text("not a folder")
        refused = refresh(tmp_path, "--force", users, env=env)
        assert refused.returncode == 1
        assert summary(refused) == "refreshed=8 skipped=0 failed=4"
        failed = [line for line in refused.stderr.splitlines() if "refresh failed" in line]
        assert len(failed) == 1 and "user=zero-zoe" in failed[0]
        assert 'error="cannot write the site: zero-zoe/5_years is not a folder"' in failed[0]
        assert tree(outside) == before["outside"]
