"""The daily pass's change check (issue 29, part 4): one query asks GitHub, for many users,
whether anything changed since their last refresh; only those who changed get an
incremental refresh, the others' reports are brought forward from their kept collections
with the pass's fresh repositories and stars, and every report still equals the dataset.

A real `Refresher` runs passes against the fake GitHub over HTTP (`tests.test_faults.rig`),
its clock moved past the stale age between them, so the second pass is a due one, as a daily
cron's is. The expected reports are `test_expected_reports`' independent statement of the
rules, computed from `/_fake/dataset`.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from gitbrag.fakegithub.server import FakeGitHubServer, shared_dataset
from gitbrag.github import changes, reviews
from gitbrag.models import Login
from gitbrag.refresh import Target
from tests.support import DEMO_USERS
from tests.test_expected_reports import PERIODS, actual_report, expected_report, ts
from tests.test_faults import STALE_AFTER, Rig, rig

A_DAY_LATER = STALE_AFTER + timedelta(hours=18)


def collected(caplog: pytest.LogCaptureFixture) -> dict[str, str]:
    """How each user's collection was made in the captured logs: full, incremental or unchanged."""
    how: dict[str, str] = {}
    for record in caplog.records:
        if record.getMessage().startswith("collected "):
            user = str(record.__dict__["user"]).lower()
            kind = "unchanged" if record.__dict__.get("unchanged") else "incremental"
            how[user] = kind if record.__dict__["incremental"] else "full"
    return how


def points(r: Rig) -> int:
    return int(r.gh.app_state.stats.as_json()["cost"]["graphql"])


def assert_reports_match_dataset(r: Rig) -> None:
    data = httpx.get(r.gh.url + "/_fake/dataset", timeout=60).json()
    for login in DEMO_USERS:
        for period in PERIODS:
            report: dict[str, Any] = json.loads((r.site / login.lower() / period / "report.json").read_text())
            since, until = ts(report["since"]), ts(report["until"])
            assert since is not None and until is not None
            expected = expected_report(data, login, since, until, period)
            actual = actual_report(report)
            top = actual.pop("languages_top")
            assert actual.pop("languages") == dict(Counter(expected.pop("languages")).most_common(top))
            assert actual == expected, (login, period)


async def first_pass(r: Rig) -> None:
    outcomes = await r.run(*DEMO_USERS)
    assert {o.status for o in outcomes.values()} == {"refreshed"}, outcomes
    r.advance(A_DAY_LATER)  # every report is due again
    r.gh.app_state.stats.__init__()  # type: ignore[misc]  # the next pass's cost only


async def test_a_due_pass_refreshes_only_the_users_who_changed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Mona-Lisa opens a pull request and steady-sam's is merged; everyone's repositories gain
    stars. Before the check every due user got an incremental refresh (about 2 points each)."""
    async with rig(tmp_path, dataset_owned=True) as r:
        await first_pass(r)
        state, ds = r.gh.app_state, r.gh.dataset
        now = datetime.now(UTC).replace(microsecond=0)
        mona_repo = next(p.repo for p in ds.pulls_by("Mona-Lisa") if p.repo.startswith("octo-org/"))
        state.add_pull(mona_repo, "Mona-Lisa", title="New today", created_at=now - timedelta(minutes=5))
        sam_open = next(p for p in ds.pulls_by("steady-sam") if p.state == "open")
        state.set_pull_state(sam_open.repo, sam_open.number, "merged")
        pat_repo = next(p.repo for p in ds.pulls_by("prolific-pat"))
        for i in range(25):  # more than a revalidation page of new stars on an unchanged user's repository
            state.add_star(pat_repo, f"fan-of-pat-{i}", now - timedelta(minutes=i))
        caplog.set_level(logging.INFO)
        outcomes = await r.run()
        assert {o.status for o in outcomes.values()} == {"refreshed"}, outcomes
        assert collected(caplog) == {
            "mona-lisa": "incremental",
            "steady-sam": "incremental",
            "prolific-pat": "unchanged",
            "zero-zoe": "unchanged",
            "hostile-hank": "unchanged",
        }
        # Only the changed users were searched in full (the check's searches ask for no files).
        searched = r.gh.app_state.stats.searches_by_author
        assert searched["mona-lisa"] == searched["steady-sam"] == 2  # the check, then the refresh
        assert searched["zero-zoe"] == searched["prolific-pat"] == searched["hostile-hank"] == 1
        assert_reports_match_dataset(r)


async def test_unchanged_users_cost_a_fraction_of_a_point_each(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Nothing changed but the clock: the whole due pass is the check and one revalidation of
    every user's repositories, a few points for all users together (it was 2 points a user)."""
    async with rig(tmp_path) as r:
        await first_pass(r)
        caplog.set_level(logging.INFO)
        outcomes = await r.run()
        assert {o.status for o in outcomes.values()} == {"refreshed"}, outcomes
        spent = points(r)
        assert spent <= len(DEMO_USERS) / 2, spent  # 2 points: one check query, one revalidation
        assert set(collected(caplog).values()) == {"unchanged"}
        assert_reports_match_dataset(r)


async def test_changes_indexed_late_are_found_by_the_next_pass(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """GitHub's search index trails writes: a pull request opened, one merged and an old one
    closed unmerged, 2.5 hours before the first pass while the index is 3 hours behind, are
    invisible to it; the next day's check must see them (the watermark's overlap) and send
    Mona-Lisa to an incremental refresh, not bring her kept collection forward."""
    async with rig(tmp_path, dataset_owned=True) as r:
        state, ds = r.gh.app_state, r.gh.dataset
        written = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2, minutes=30)
        mona_repo = next(p.repo for p in ds.pulls_by("Mona-Lisa") if p.repo.startswith("octo-org/"))
        state.add_pull(mona_repo, "Mona-Lisa", title="Indexed late", created_at=written)
        open_prs = sorted(
            (p for p in ds.pulls_by("Mona-Lisa") if p.state == "open"), key=lambda p: p.created_at
        )
        old, recent = open_prs[0], open_prs[-2]
        state.set_pull_state(old.repo, old.number, "closed", at=written)
        state.set_pull_state(recent.repo, recent.number, "merged", at=written)
        r.faults(search_lag_seconds=3 * 3600)
        await first_pass(r)
        r.faults(search_lag_seconds=0)
        caplog.set_level(logging.INFO)
        await r.run()
        assert collected(caplog)["mona-lisa"] == "incremental"
        assert collected(caplog)["zero-zoe"] == "unchanged"
        assert_reports_match_dataset(r)


async def test_a_check_github_does_not_answer_refreshes_everyone_in_full(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The check's query fails (502s past the client's attempts): no user is skipped, each due
    user gets its incremental refresh, and the reports are right."""
    async with rig(tmp_path, dataset_owned=True) as r:
        await first_pass(r)
        state, ds = r.gh.app_state, r.gh.dataset
        mona_repo = next(p.repo for p in ds.pulls_by("Mona-Lisa") if p.repo.startswith("octo-org/"))
        state.add_pull(mona_repo, "Mona-Lisa", title="New while GitHub fails")
        caplog.set_level(logging.INFO)
        r.faults(error_next=1000)  # every attempt of the check, and of its halves, fails
        # GitHub is back once the pass starts claiming (`on_start` follows the check).
        result = await r.refresher.run_pass(on_start=lambda _: r.faults(error_next=0))
        outcomes = {o.login: o for o in result.outcomes}
        assert r.gh.app_state.stats.faults["error"] >= 3
        assert {o.status for o in outcomes.values()} == {"refreshed"}, outcomes
        assert set(collected(caplog).values()) == {"incremental"}
        assert any(
            "change check" in rec.getMessage() for rec in caplog.records if rec.levelno >= logging.WARNING
        )
        assert_reports_match_dataset(r)


async def test_a_forced_refresh_never_takes_a_verdict(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """ "Refresh now" (a named, forced refresh) always searches, even for a user the pass's
    check found unchanged moments before."""
    async with rig(tmp_path) as r:
        await first_pass(r)
        kept = await r.store.load_collection(Login("zero-zoe"))
        assert kept is not None
        await r.refresher.changes.run(
            r.client, r.store.load_collection, [Login("zero-zoe")], r.now, private="off", retries=5
        )
        assert Login("zero-zoe") in r.refresher.changes.verdicts
        caplog.set_level(logging.INFO)
        outcome = await r.refresher.generate(Target(Login("zero-zoe"), force=True, reason="named"))
        assert outcome.status == "refreshed"
        assert collected(caplog) == {"zero-zoe": "incremental"}


# --- the query and its cost ------------------------------------------------------------------


def asked(login: str, spans: int) -> changes.Asked:
    now = datetime(2026, 12, 7, tzinfo=UTC)
    return changes.Asked(login, f"is:pr author:{login}", [reviews.Span(now, now)] * spans)


def test_batches_hold_at_most_a_hundred_requests() -> None:
    users = [asked(f"user-{i}", 1 + i % 2) for i in range(100)]  # 3 or 4 requests each
    batches = changes.batches(users)
    assert [one for batch in batches for one in batch] == users
    assert all(sum(a.requests for a in batch) <= changes.CHECK_REQUESTS for batch in batches)
    assert len(batches) == 4  # 350 requests: 4 queries of 1 point


def charged(fake: FakeGitHubServer, batch: list[changes.Asked]) -> dict[str, Any]:
    query = changes.check_query([len(a.spans) for a in batch])
    answer: dict[str, Any] = httpx.post(
        fake.url + "/graphql",
        json={"query": query, "variables": changes.check_variables(batch)},
        headers={"Authorization": "bearer test"},
        timeout=30,
    ).json()
    assert "errors" not in answer, answer["errors"]
    return answer


def test_the_fake_charges_a_check_as_github_counts_it() -> None:
    """GitHub's formula: a request per connection (each search, each user's social accounts
    and review spans), whatever the nodes asked, / 100, rounded, at least 1."""
    with FakeGitHubServer(shared_dataset()) as fake:
        answer = charged(fake, [asked(login, 1) for login in DEMO_USERS] * 6)  # 30 users, 90 requests
        assert answer["data"]["rateLimit"]["cost"] == 1
        assert answer["data"]["s0"]["issueCount"] == len(fake.dataset.pulls_by("Mona-Lisa"))
        answer = charged(fake, [asked(login, 2) for login in DEMO_USERS] * 8)  # 40 users, 160 requests
        assert answer["data"]["rateLimit"]["cost"] == 2
