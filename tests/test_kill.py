"""kill -9 at random moments during hundreds of publishes: every file under site/ is always
a whole old or new version and the SQLite state store is never corrupt.

A child process (this module run as a script) republishes kept collections in a tight
loop, as fast as the publisher and the store allow: build every period's report, publish
the user's pages, the index and the shared files, and record it in the store
(`mark_generated`, `save_collection`), so kills land inside file writes and inside
transactions alike. No GitHub is involved. `tests/test_pipeline.py` kills whole
`gitbrag-refresh --once` runs talking to the fake GitHub.
"""

from __future__ import annotations

import asyncio
import random
import signal
import sqlite3
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gitbrag.coordination import SQLiteStore
from gitbrag.models import PERIODS, Login
from gitbrag.publish.publisher import IndexEntry, Publisher
from gitbrag.report.build import build_reports
from tests.support import assert_site_whole

USERS = ["steady-sam", "hostile-hank", "zero-zoe"]
KILLS = 20
ROOT = Path(__file__).resolve().parent.parent


async def _republish_forever(site: Path, state: Path) -> None:
    """The child: publish and record, round and round, printing a count per publish."""
    store = SQLiteStore(state)
    publisher = Publisher(site)
    collections = [c for u in USERS if (c := await store.load_collection(Login(u))) is not None]
    while True:
        for collection in collections:
            now = datetime.now(UTC)
            await asyncio.to_thread(
                publisher.publish_user, build_reports(collection, until=now, generated_at=now)
            )
            await store.mark_generated(Login(collection.login), list(PERIODS), now, now + timedelta(days=1))
            await store.save_collection(collection.model_copy(update={"collected_at": now}))
            print("published", flush=True)
        reports = [publisher.read_report(u, "1_year") for u in USERS]
        publisher.publish_static()
        publisher.publish_index([IndexEntry.from_report(r) for r in reports if r is not None])


async def _seed(site: Path, state: Path) -> None:
    """Collect the users once from the fake GitHub and publish them: the child's material."""
    # Imported here, not by the child: each of the 20 rounds starts a fresh interpreter, and
    # the fake GitHub and the client (half its start-up) have no part in what it does.
    from gitbrag.fakegithub.server import FakeGitHubServer, shared_dataset
    from gitbrag.github.client import GitHubClient
    from gitbrag.github.collect import collect_user

    store = SQLiteStore(state)
    with FakeGitHubServer(shared_dataset()) as gh:
        async with GitHubClient(["t"], gh.url, gh.url + "/graphql") as client:
            for login in USERS:
                now = datetime.now(UTC)
                collection = await collect_user(client, login, now=now)
                Publisher(site).publish_user(build_reports(collection, until=now, generated_at=now))
                await store.save_collection(collection)
    await store.close()


def assert_feeds_parse(site: Path) -> int:
    feeds = list(site.glob("*/feed.xml"))
    for feed in feeds:
        ET.fromstring(feed.read_bytes())  # raises on a partial file
    return len(feeds)


def assert_store_sound(state: Path) -> None:
    """The file passes SQLite's own check and still holds every kept collection."""
    with sqlite3.connect(state, timeout=30) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        logins = {row[0] for row in conn.execute("SELECT login FROM collections")}
        assert logins == set(USERS)
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    conn.close()


def test_kill_9_during_hundreds_of_publishes_never_leaves_a_partial_file_or_a_corrupt_store(
    tmp_path: Path,
) -> None:
    site, state = tmp_path / "site", tmp_path / "state.sqlite3"
    asyncio.run(_seed(site, state))
    rng = random.Random(20261128)
    published = kills = 0
    for _ in range(KILLS):
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.test_kill", str(site), str(state)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        assert child.stdout is not None
        # Kill moments follow the child's progress, not the wall clock, so a faster or
        # slower machine cuts into the same number of publishes: after a random count of
        # finished publishes, a random moment inside the next one.
        for _ in range(rng.randint(10, 20)):
            assert child.stdout.readline() == b"published\n", child.stderr.read() if child.stderr else ""
            published += 1
        time.sleep(rng.uniform(0, 0.05))
        if child.poll() is None:
            child.send_signal(signal.SIGKILL)
            kills += 1
        out, _ = child.communicate(timeout=30)
        published += out.count(b"published")
        assert assert_site_whole(site) >= len(USERS) * 9
        assert assert_feeds_parse(site) == len(USERS)
        assert_store_sound(state)
    assert kills == KILLS  # the child never stops by itself: every round ended in a kill
    assert published >= 200, published  # hundreds of publishes were cut into


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m tests.test_kill SITE STATE")
    asyncio.run(_republish_forever(Path(sys.argv[1]), Path(sys.argv[2])))
