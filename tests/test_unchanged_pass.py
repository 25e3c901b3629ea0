"""Unchanged work costs nothing, through the real refresh path (issue 12).

A refresh of a user whose data did not change, on the next UTC day, through `Refresher`
against the fake GitHub over HTTP, writes no report page, repository page or report.json:
only the user's tiny generated.json (twice: "updating" on, then the new times). The
"Updating" label still shows while the refresh runs: generated.json says so, and the page's
script shows it in a real browser (Chromium), and the last check in the footer.

Writes are counted from the files themselves (inode and mtime, after aging every file).
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gitbrag.coordination import Census, SQLiteStore, StoreUnavailable, TrackedUser
from gitbrag.fakegithub.server import FakeGitHubServer, shared_dataset
from gitbrag.github.client import GitHubClient
from gitbrag.models import Login, Period, Report
from gitbrag.publish.filters import format_date
from gitbrag.publish.publisher import Publisher
from gitbrag.refresh import Refresher
from gitbrag.report.build import build_reports
from tests.publish.test_publish import GENERATED, big_collection, reports_for
from tests.publish.test_site_browser import Reader, _Quiet, browser, serve

__all__ = ["browser"]  # the Chromium fixture, shared with the site's browser tests

# Forty pull requests, all 6-9 years old, in repositories whose stars do not move: from one
# day to the next, nothing about her changes (except when a month begins: the timelines
# gain a month, so the test's days are mid-month).
USER = "dormant-dora"
AGED_NS = 1_000_000_000 * 10**9  # 2001


def files_state(site: Path) -> dict[str, tuple[int, int]]:
    return {
        p.relative_to(site).as_posix(): (p.lstat().st_ino, p.lstat().st_mtime_ns)
        for p in site.rglob("*")
        if p.is_file()
    }


def age(site: Path) -> dict[str, tuple[int, int]]:
    for path in site.rglob("*"):
        if path.is_file():
            os.utime(path, ns=(AGED_NS, AGED_NS))
    return files_state(site)


def rewritten(before: dict[str, tuple[int, int]], site: Path) -> set[str]:
    return {path for path, state in files_state(site).items() if before.get(path) != state}


class Watching(Publisher):
    """The real publisher, noting what the site looks like when the refresh publishes: by
    then it has said "updating" and collected from GitHub."""

    def __init__(self, site: Path) -> None:
        super().__init__(site)
        self.before: dict[str, tuple[int, int]] = {}
        self.at_publish: list[tuple[bool, set[str]]] = []

    def publish_user(self, reports: dict[Period, Report], *, updating: bool = False) -> list[Path]:
        path = self.site_dir / USER / "generated.json"
        if path.is_file():  # from the second refresh on
            said = json.loads(path.read_bytes()).get("updating")
            self.at_publish.append((said, rewritten(self.before, self.site_dir)))
        return super().publish_user(reports, updating=updating)


async def test_an_unchanged_refresh_the_next_day_writes_no_report_page(tmp_path: Path) -> None:
    dataset = shared_dataset()
    # Noon on the 10th of the month after the dataset's "today" (all its history is older).
    now = [(dataset.anchor.replace(day=1) + timedelta(days=40)).replace(day=10, hour=12)]
    site = tmp_path / "site"
    with FakeGitHubServer(dataset) as gh:
        store = SQLiteStore(tmp_path / "state.sqlite3")
        async with GitHubClient(["token"], gh.url, gh.url + "/graphql", transient_attempts=1) as client:
            publisher = Watching(site)
            refresher = Refresher(store=store, client=client, publisher=publisher, clock=lambda: now[0])
            outcome = await refresher.refresh_user(USER)
            assert outcome.status == "refreshed", outcome.error
            first = publisher.read_report(USER, "all_time")
            pages = {p for p in files_state(site) if p.endswith(".html")}
            assert first is not None and first.total_prs > 0 and len(pages) >= 5

            now[0] += timedelta(days=1)  # the first refresh of the next UTC day
            publisher.before = age(site)
            written_before = publisher.files_written
            assert (await refresher.refresh_user(USER)).status == "refreshed"
        await store.close()

    freshness = f"{USER}/generated.json"
    # While it ran, generated.json said "updating", and no page had been written for that.
    assert publisher.at_publish[-1] == (True, {freshness})
    assert rewritten(publisher.before, site) == {freshness}
    assert publisher.files_written - written_before == 2  # the flag on, then the new times
    times = json.loads((site / freshness).read_bytes())
    assert times["updating"] is False and times["1_year"] == now[0].isoformat()
    # The pages still show the day their content was made, true until it changes.
    assert publisher.read_report(USER, "all_time") == first
    footer = (
        f'<time datetime="{first.generated_at.date().isoformat()}">{format_date(first.generated_at)}</time>'
    )
    assert footer in (site / USER / "all_time" / "index.html").read_text(encoding="utf-8")


def stopped_at(moment: datetime) -> Callable[[], datetime]:
    """A clock that always says `moment`."""
    return lambda: moment


class StoreDown(SQLiteStore):
    """A store that is down: it can neither track nor list users (a store that only refuses
    writes still lists them, and the pass goes on from its due list), so the pass falls back
    on the site's own dates."""

    async def track(
        self, logins: list[str], now: datetime, periods: tuple[str, ...], source: str | None = None
    ) -> None:
        raise StoreUnavailable("the store is down")

    async def tracked(self) -> list[TrackedUser]:
        raise StoreUnavailable("the store is down")

    async def census(self) -> Census:
        raise StoreUnavailable("the store is down")

    async def tracked_page(self, cursor: str, size: int) -> tuple[str, list[TrackedUser]]:
        raise StoreUnavailable("the store is down")

    async def tracked_among(self, logins: list[Login]) -> dict[Login, TrackedUser]:
        raise StoreUnavailable("the store is down")


async def test_with_the_store_down_the_age_counts_from_the_last_check_not_the_last_change(
    tmp_path: Path,
) -> None:
    """Without the store's due list, a pass refreshes the users whose report is older than the
    stale age: counted from the last check (generated.json), not from report.json's time, which
    an unchanged refresh keeps (counting from it would refresh them every pass)."""
    site = tmp_path / "site"
    collection = big_collection(3, 5)
    for days in (0, 2):
        at = GENERATED + timedelta(days=days)
        reports = build_reports(collection, until=at, generated_at=at)
        Publisher(site).publish_user(
            {p: r.model_copy(update={"generation": days + 1}) for p, r in reports.items()}
        )
    published = Publisher(site).read_report("prolific", "1_year")
    assert published is not None and published.generated_at == GENERATED  # unchanged: kept

    async def no_wait(_: float) -> None:
        return None

    store = StoreDown(tmp_path / "state.sqlite3")
    targets: dict[int, int] = {}
    async with GitHubClient(["t"], "http://127.0.0.1:9", "http://127.0.0.1:9/graphql",
                            transient_attempts=1, sleep=no_wait) as client:  # fmt: skip
        for hours in (49, 73):  # 1 h and 25 h after the last check (1 day is stale)
            clock = stopped_at(GENERATED + timedelta(hours=hours))
            refresher = Refresher(store=store, client=client, publisher=Publisher(site), clock=clock)
            await refresher.run_pass(
                track=["prolific"], on_start=functools.partial(targets.__setitem__, hours)
            )
    await store.close()
    assert targets == {49: 0, 73: 1}


# --- what a reader sees ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """(base URL, folder) of a site with one user, served over HTTP."""
    folder = tmp_path_factory.mktemp("updating") / "site"
    publisher = Publisher(folder)
    publisher.publish_user(reports_for(big_collection(3, 5)))
    publisher.publish_static()
    server = serve(functools.partial(_Quiet, directory=str(folder)))
    yield f"http://127.0.0.1:{server.server_port}/", folder
    server.shutdown()
    server.server_close()


def test_the_page_shows_updating_while_generated_json_says_so(
    published: tuple[str, Path], browser: Any
) -> None:
    from playwright.sync_api import expect

    base, folder = published
    reader = Reader(browser)
    try:
        label = "[data-updating-notice]"
        assert Publisher(folder).set_updating("prolific", True)
        page = reader.open(base + "prolific/2_years/index.html")
        expect(page.locator(label)).to_be_visible(timeout=5000)
        expect(page.locator(label)).to_contain_text("Updating now")
        assert page.locator("[data-stale-notice]").is_hidden()

        assert Publisher(folder).set_updating("prolific", False)
        page = reader.open(base + "prolific/2_years/index.html")
        checked = page.locator("[data-checked]")
        expect(checked).to_be_visible(timeout=5000)
        times = json.loads((folder / "prolific" / "generated.json").read_bytes())
        at = datetime.fromisoformat(times["2_years"])
        expect(checked).to_have_text(f" · last checked {format_date(at)}, {at:%H:%M} UTC")
        assert page.locator(label).is_hidden()
    finally:
        reader.close()
    assert reader.errors == []
