"""The fake GitHub's synthetic dataset: deterministic, and holding on purpose every case a
contribution report can get wrong (search cap, star surge, no PRs, hostile text, ...)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from gitbrag.fakegithub.dataset import DEMO_SEED, HOSTILE_STRINGS, build_dataset, dataset_to_json
from gitbrag.fakegithub.records import Dataset, FakePull
from gitbrag.fakegithub.server import FakeGitHubServer, shared_dataset

ANCHOR = datetime(2025, 6, 1, tzinfo=UTC)
YEAR = timedelta(days=365)


@pytest.fixture(scope="module")
def ds() -> Dataset:
    return build_dataset(anchor=ANCHOR)


def _size(p: FakePull) -> str:
    lines = p.additions + p.deletions
    for bound, name in ((1, "One Liner"), (100, "Small"), (500, "Medium"), (1500, "Large"), (5000, "Huge")):
        if lines <= bound:
            return name
    return "Massive"


def test_same_seed_and_anchor_give_the_same_dataset(ds: Dataset) -> None:
    assert dataset_to_json(build_dataset(DEMO_SEED, anchor=ANCHOR)) == dataset_to_json(ds)
    assert dataset_to_json(build_dataset(DEMO_SEED + 1, anchor=ANCHOR)) != dataset_to_json(ds)


def test_extra_users_leave_the_demo_users_untouched(ds: Dataset) -> None:
    big = build_dataset(anchor=ANCHOR, extra_users=30)
    assert dataset_to_json(big, ds.demo_users) == dataset_to_json(ds, ds.demo_users)
    assert big.user("user-0001") is not None and big.user("user-0030") is not None
    assert big.user("user-0031") is None
    assert len(big.pulls) > len(ds.pulls)
    assert len({p.id for p in big.pulls}) == len(big.pulls)


def test_demo_users_in_order(ds: Dataset) -> None:
    assert ds.demo_users == ["Mona-Lisa", "prolific-pat", "zero-zoe", "hostile-hank", "steady-sam"]
    assert all(ds.user(login) is not None for login in ds.demo_users)


def test_records_are_consistent(ds: Dataset) -> None:
    assert len({p.id for p in ds.pulls}) == len(ds.pulls)
    assert len({(p.repo.lower(), p.number) for p in ds.pulls}) == len(ds.pulls)
    for p in ds.pulls:
        assert p.created_at <= p.updated_at <= ANCHOR
        assert ds.repo(p.repo) is not None and ds.repo(p.repo).created_at < p.created_at  # type: ignore[union-attr]
        if p.state == "open":
            assert p.closed_at is None and p.merged_at is None
        else:
            assert p.closed_at is not None and p.created_at <= p.closed_at <= p.updated_at
            assert p.merged_at in (None, p.closed_at)
        assert len({f.filename for f in p.files}) == len(p.files) >= 1
    for r in ds.repos.values():
        times = [s.starred_at for s in r.stars]
        assert times == sorted(times) and all(r.created_at <= t < ANCHOR for t in times)
        assert len({s.login for s in r.stars}) == len(r.stars)


def test_mona_lisa_is_a_typical_mixed_case_user(ds: Dataset) -> None:
    pulls = ds.pulls_by("mona-lisa")
    assert ds.user("MONA-LISA").login == "Mona-Lisa"  # type: ignore[union-attr]
    assert 250 <= len(pulls) <= 350
    assert 50 <= len({p.repo for p in pulls}) <= 70
    assert any(p.created_at < ANCHOR - 5 * YEAR for p in pulls)
    assert {"OWNER", "MEMBER", "COLLABORATOR", "CONTRIBUTOR", "FIRST_TIME_CONTRIBUTOR"} <= {
        p.author_association for p in pulls
    }
    states = Counter("merged" if p.merged else p.state for p in pulls)
    assert states["merged"] and states["open"] and states["closed"]
    last_year = [p for p in pulls if p.created_at >= ANCHOR - YEAR]
    assert {_size(p) for p in last_year} == {"One Liner", "Small", "Medium", "Large", "Huge", "Massive"}
    assert max(p.changed_files for p in pulls) > 100  # GitHub pages PR files
    extensions = {f.filename.rsplit(".", 1)[-1] for p in pulls for f in p.files if "." in f.filename}
    assert {"py", "ts", "go", "rs", "md", "yml"} <= extensions
    assert any(f.filename.endswith(("Makefile", "LICENSE")) for p in pulls for f in p.files)


def test_prolific_pat_overflows_the_search_cap_within_a_year(ds: Dataset) -> None:
    pulls = ds.pulls_by("prolific-pat")
    assert sum(p.created_at >= ANCHOR - YEAR for p in pulls) > 1000
    assert len(pulls) > sum(p.created_at >= ANCHOR - YEAR for p in pulls)


def test_zero_zoe_exists_without_prs(ds: Dataset) -> None:
    assert ds.user("zero-zoe") is not None
    assert ds.pulls_by("zero-zoe") == []


def test_hostile_hank_carries_markup_unicode_and_emoji(ds: Dataset) -> None:
    hank = ds.user("hostile-hank")
    assert hank is not None
    profile = " ".join(str(v) for v in (hank.name, hank.bio, hank.company, hank.location))
    assert all(s in profile for s in HOSTILE_STRINGS)
    assert hank.blog == "javascript:alert(1)"
    assert any("<script>" in s.url for s in hank.social_accounts)
    pulls = ds.pulls_by("hostile-hank")
    assert 15 <= len(pulls) <= 25
    titles = " ".join(p.title for p in pulls)
    assert '<script>alert("x")</script>' in titles and "🚀" in titles and "東京" in titles
    descriptions = " ".join(ds.repos[p.repo.lower()].description or "" for p in pulls)
    assert "<script>" in descriptions and "Zoë" in descriptions


def test_steady_sam_contributes_to_a_repo_with_a_star_surge(ds: Dataset) -> None:
    rocket = ds.repo("star-rocket/rocket")
    assert rocket is not None
    assert sum(s.starred_at >= ANCHOR - YEAR for s in rocket.stars) > 1000
    assert rocket.stargazers_count > 2000
    pulls = ds.pulls_by("steady-sam")
    assert 30 <= len(pulls) <= 50
    into_rocket = [p for p in pulls if p.repo == "star-rocket/rocket"]
    assert any(p.state == "open" for p in into_rocket)
    assert any(p.state == "closed" and not p.merged for p in into_rocket)
    assert any(p.merged for p in into_rocket)


def test_dataset_endpoint_serves_the_raw_records() -> None:
    ds = shared_dataset()
    with FakeGitHubServer(ds) as gh:
        full = httpx.get(f"{gh.url}/_fake/dataset").json()
        assert full == dataset_to_json(ds)
        one = httpx.get(f"{gh.url}/_fake/dataset", params={"users": "ZERO-ZOE,steady-sam"}).json()
    assert {u["login"] for u in one["users"]} == {"zero-zoe", "steady-sam"}
    assert {p["author"] for p in one["pulls"]} == {"steady-sam"}
    rocket = next(r for r in one["repos"] if r["full_name"] == "star-rocket/rocket")
    assert (
        rocket["stargazers_count"]
        == len(rocket["starred_at"])
        == ds.repos["star-rocket/rocket"].stargazers_count
    )
    pull = one["pulls"][0]
    assert pull["additions"] == sum(f["additions"] for f in pull["files"])
    assert pull["changed_files"] == len(pull["files"])
