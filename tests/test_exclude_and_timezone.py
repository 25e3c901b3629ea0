"""`GITBRAG_EXCLUDE`, `GITBRAG_EXCLUDE_LANGUAGES` and `GITBRAG_TIMEZONE` (with `login@Zone` in
`GITBRAG_USERS`), as an operator meets them: the site cron makes.

A site is first published without them (so its pages name the repositories about to be
excluded), then `gitbrag-refresh --once --force` runs again with them, in separate processes
against the fake GitHub over HTTP. Every user's every period must then equal what the raw
dataset (`GET /_fake/dataset`) implies, recomputed with the rules of `test_expected_reports`
given the user's time zone, the excluded repositories' pull requests and reviews taken out of
the dataset first (the exclusion rules written out again here, not globbed), the excluded
languages left out of the chart, and `excluded_by_operator` counted from the dataset apart.
Then no excluded repository's name, nor a title of its pull requests, is anywhere under
site/, searched byte for byte as `test_private_and_hidden` searches for private ones.
"""

from __future__ import annotations

import html
import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from gitbrag.fakegithub.dataset import build_dataset
from gitbrag.fakegithub.server import FakeGitHubServer
from tests.support import clean_env, refresh, summary
from tests.test_expected_reports import (
    EXTRA_USERS,
    actual_report,
    configured_periods,
    contributions,
    expected_periods,
    expected_report,
    reportable,
    ts,
    window,
)

ZONE = "America/Los_Angeles"  # GITBRAG_TIMEZONE: a year's last evening there is next year in UTC
# Users' own zones: one far east of UTC, one whose daylight-saving change skips midnight.
USER_ZONES = {"steady-sam": "Asia/Tokyo", "dormant-dora": "America/Santiago"}
# A whole owner, a glob over every owner (in another case than GitHub's), one repository for
# one user only (spelt as neither GitHub nor the login is), and one for another user only.
EXCLUDE = ("star-rocket/*", "*/DotFiles", "Mona-Lisa:Octo-Org/brave-lint", "steady-sam:octo-org/neon-cli")
LEFT_OUT_LANGUAGES = ("markdown", "YAML")  # as an operator may type them
LEFT_OUT = frozenset({"Markdown", "YAML"})  # as reports name them


def excluded(repo: str, login: str) -> bool:
    """`EXCLUDE`, stated again without globs: GitHub's names ignore case."""
    owner, name = repo.lower().split("/")
    who = login.lower()
    return (
        owner == "star-rocket"
        or name == "dotfiles"
        or (who == "mona-lisa" and (owner, name) == ("octo-org", "brave-lint"))
        or (who == "steady-sam" and (owner, name) == ("octo-org", "neon-cli"))
    )


def zone_of(login: str) -> str:
    return USER_ZONES.get(login.lower(), ZONE)


def kept(data: dict[str, Any], login: str) -> dict[str, Any]:
    """The dataset as `login`'s reports may show it: the excluded repositories' work taken out."""
    return data | {
        "pulls": [p for p in data["pulls"] if not excluded(p["repo"], login)],
        "reviews": [r for r in data.get("reviews", []) if not excluded(r["repo"], login)],
    }


def expected_excluded(
    data: dict[str, Any], login: str, since: datetime, until: datetime, now: datetime
) -> dict[str, int]:
    """What `excluded_by_operator` counts: the excluded pull requests a report would otherwise
    count in the window, their repositories, and the distinct pull requests reviewed there."""

    def inside(t: datetime | None) -> bool:
        return t is not None and since <= t <= until

    prs = [
        p
        for p in reportable(data, login)
        if excluded(p["repo"], login) and (inside(ts(p["created_at"])) or inside(ts(p["merged_at"])))
    ]
    reviewed = {
        (repo.lower(), number)
        for repo, number, t in contributions(data, login, now)
        if excluded(repo, login) and inside(t)
    }
    return {
        "pull_requests": len(prs),
        "repositories": len({p["repo"].lower() for p in prs}),
        "reviews": len(reviewed),
    }


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, Any], list[str]]]:
    dataset = build_dataset()
    work = tmp_path_factory.mktemp("cron")
    users = [*dataset.demo_users, *EXTRA_USERS]
    with FakeGitHubServer(dataset) as fake:
        base = clean_env(GITHUB_TOKEN="test-token", GITBRAG_GITHUB_API_URL=fake.url)
        # Before the operator excluded anything: the site names the repositories.
        first = refresh(work, env=base | {"GITBRAG_USERS": "steady-sam"})
        assert summary(first).endswith("failed=0"), first.stderr[-3000:]
        before = (work / "site" / "steady-sam" / "1_year" / "index.html").read_text()
        assert "star-rocket/rocket" in before
        env = base | {
            "GITBRAG_USERS": ",".join(
                f"{u}@{USER_ZONES[u.lower()]}" if u.lower() in USER_ZONES else u for u in users
            ),
            "GITBRAG_PERIODS": ",".join(configured_periods(datetime.now(UTC))),
            "GITBRAG_TIMEZONE": ZONE,
            "GITBRAG_EXCLUDE": ",".join(EXCLUDE),
            "GITBRAG_EXCLUDE_LANGUAGES": ",".join(LEFT_OUT_LANGUAGES),
        }
        result = refresh(work, "--force", env=env)
        assert result.returncode == 0, result.stderr[-3000:]
        assert summary(result) == f"refreshed={4 * len(users)} skipped=0 failed=0"
        data = httpx.get(fake.url + "/_fake/dataset", timeout=60).json()
    yield work / "site", data, users


def now_of(site: Path, login: str) -> datetime:
    report = json.loads((site / login.lower() / "1_year" / "report.json").read_text())
    moment = ts(report["generated_at"])
    assert moment is not None
    return moment


def test_every_report_is_the_dataset_without_the_excluded_work_in_the_users_time_zone(
    published: tuple[Path, dict[str, Any], list[str]],
) -> None:
    site, data, users = published
    checked = 0
    for login in users:
        zone, folder, now = zone_of(login), site / login.lower(), now_of(site, login)
        mine = kept(data, login)
        periods = expected_periods(mine, login, now, configured_periods(now), zone)
        found = sorted(d.name for d in folder.iterdir() if (d / "report.json").is_file())
        assert found == sorted(periods), login
        for period in periods:
            report = json.loads((folder / period / "report.json").read_text())
            span = window(period, now, zone)
            assert (ts(report["since"]), ts(report["until"])) == span, (login, period)
            assert report["timezone"] == zone, (login, period)
            assert report["excluded_by_operator"] == expected_excluded(data, login, *span, now), (
                login,
                period,
            )
            expected = expected_report(mine, login, *span, period, now, zone, LEFT_OUT)
            actual = actual_report(report)
            top = actual.pop("languages_top")
            assert actual.pop("languages") == dict(Counter(expected.pop("languages")).most_common(top))
            assert actual == expected, (login, period)
            checked += 1
    assert checked > 4 * len(users) + 20


def test_the_settings_changed_what_the_reports_say(published: tuple[Path, dict[str, Any], list[str]]) -> None:
    """None of the rules above holds vacuously: each exclusion left work out, the languages were
    in the chart before, a per-user exclusion stays that user's, and the zones moved pull
    requests into other periods and buckets than UTC would have."""
    site, data, users = published

    def report(login: str, period: str) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads((site / login / period / "report.json").read_text())
        return loaded

    assert report("steady-sam", "1_year")["excluded_by_operator"]["pull_requests"] > 0  # star-rocket/*
    assert report("prolific-pat", "all_time")["excluded_by_operator"]["repositories"] >= 1  # */dotfiles
    mona = report("mona-lisa", "all_time")
    assert mona["excluded_by_operator"]["pull_requests"] > 0  # octo-org/brave-lint, hers only
    assert any(r["name"] == "octo-org/neon-cli" for r in mona["repositories"])  # only sam's is excluded
    assert any(r["reviews"] for r in (report(u.lower(), "all_time")["excluded_by_operator"] for u in users))
    with_languages = [
        expected_report(kept(data, u), u, *window("all_time", now_of(site, u)), "all_time")["languages"]
        for u in users
    ]
    assert any(LEFT_OUT & set(found) for found in with_languages)
    moved = 0
    for login in users:
        now, mine = now_of(site, login), kept(data, login)
        for period in expected_periods(mine, login, now, configured_periods(now), zone_of(login)):
            if period[0].isdigit():
                local = expected_report(
                    mine, login, *window(period, now, zone_of(login)), period, now, zone_of(login)
                )
                utc = expected_report(mine, login, *window(period, now), period, now)
                moved += (local["total_prs"], local["timeline"]) != (utc["total_prs"], utc["timeline"])
    assert moved >= 3
    la = ZoneInfo(ZONE)
    pat = [p for p in kept(data, "prolific-pat")["pulls"] if p["author"] == "prolific-pat"]
    assert any(at.astimezone(la).year != at.year for p in pat if (at := ts(p["created_at"])))


def secrets(data: dict[str, Any], users: list[str]) -> list[str]:
    """Names of the repositories excluded for every checked user with work there, and titles
    of their pull requests that no other pull request has."""
    logins = {u.lower() for u in users}
    work: dict[str, set[str]] = {}
    for p in data["pulls"]:
        if p["author"].lower() in logins:
            work.setdefault(p["repo"], set()).add(p["author"].lower())
    for r in data.get("reviews", []):
        if r["reviewer"].lower() in logins:
            work.setdefault(r["repo"], set()).add(r["reviewer"].lower())
    return with_titles(data, {repo for repo, who in work.items() if all(excluded(repo, u) for u in who)})


def with_titles(data: dict[str, Any], hidden: set[str], author: str | None = None) -> list[str]:
    """`hidden`, and the titles of pull requests there that no pull request elsewhere has
    (of `author`'s, when given: the pages of theirs that are searched)."""
    pulls = [p for p in data["pulls"] if author is None or p["author"].lower() == author]
    titles = Counter(p["title"] for p in pulls if p["repo"] not in hidden)
    unique = {p["title"] for p in pulls if p["repo"] in hidden and p["title"] not in titles}
    return sorted(hidden) + sorted(t for t in unique if len(t) > 12)


def search(folder: Path, found: list[str]) -> int:
    """Every file under `folder`, byte for byte (the social images as Latin-1): none holds any of `found`."""
    files = [p for p in folder.rglob("*") if p.is_file()]
    for path in files:
        raw = path.read_bytes()
        text = (raw.decode("latin-1") if path.suffix == ".png" else raw.decode("utf-8")).lower()
        for secret in found:
            assert secret.lower() not in text, f"{secret!r} in {path}"
    return len(files)


def test_no_excluded_repository_name_or_title_is_anywhere_on_the_site(
    published: tuple[Path, dict[str, Any], list[str]],
) -> None:
    site, data, users = published
    found = secrets(data, users)
    names = [s for s in found if "/" in s and " " not in s]
    assert {"star-rocket/rocket", "star-rocket/launchpad", "prolific-pat/dotfiles"} <= set(names)
    assert len(found) > len(names)  # titles too
    assert {".html", ".json", ".xml", ".md", ".svg"} <= {p.suffix for p in site.rglob("*")}
    assert search(site, found) > 100
    # Mona-Lisa's own exclusion: other people's pages may name the repository, hers may not
    # (her titles there are all titles of hers elsewhere too: the name, and so every link, is searched).
    hers = with_titles(data, {"octo-org/brave-lint"}, "mona-lisa")
    assert search(site / "mona-lisa", hers) > 10


def test_pages_say_how_much_was_left_out_and_in_which_time_zone(
    published: tuple[Path, dict[str, Any], list[str]],
) -> None:
    site, _, _ = published
    page = html.unescape(" ".join((site / "steady-sam" / "1_year" / "index.html").read_text().split()))
    left = json.loads((site / "steady-sam" / "1_year" / "report.json").read_text())["excluded_by_operator"]
    n = left["pull_requests"]
    assert f"{n:,} pull request{'s' if n != 1 else ''} left out by the operator's choice." in page
    assert "(Asia/Tokyo)" in page
    brag = (site / "mona-lisa" / "2_years" / "brag.md").read_text()
    assert f"({ZONE})" in brag
