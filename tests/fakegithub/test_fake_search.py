"""The fake GitHub's search syntax: the qualifiers our collector relies on must match
exactly the PRs GitHub would return, ranges included at both ends."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gitbrag.fakegithub.records import Dataset, FakePull, FakeRepo, FakeUser
from gitbrag.fakegithub.search import SearchQueryError, UnknownSearchTargetError, search_issues

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _user(uid: int, login: str) -> FakeUser:
    return FakeUser(uid, login, None, None, None, None, "", None, T0, T0)


def _repo(rid: int, owner: str, name: str) -> FakeRepo:
    return FakeRepo(rid, owner, name, None, "Python", T0, T0, T0)


def _pull(
    pid: int,
    author: str,
    created: str,
    *,
    repo: str = "Acme/widgets",
    title: str = "Fix things",
    state: str = "closed",
    merged: str | None = None,
    updated: str | None = None,
) -> FakePull:
    created_at = datetime.fromisoformat(created)
    merged_at = datetime.fromisoformat(merged) if merged else None
    return FakePull(
        id=pid,
        repo=repo,
        number=pid,
        title=title,
        body=None,
        author=author,
        author_association="CONTRIBUTOR",
        state=state,
        created_at=created_at,
        updated_at=datetime.fromisoformat(updated) if updated else created_at,
        closed_at=(merged_at or created_at) if state == "closed" else None,
        merged_at=merged_at,
    )


@pytest.fixture
def dataset() -> Dataset:
    ds = Dataset(seed=1, anchor=T0)
    for i, login in enumerate(["MixedCase", "bob", "Acme"]):
        ds.users[login.lower()] = _user(i + 1, login)
    ds.repos["acme/widgets"] = _repo(1, "Acme", "widgets")
    ds.repos["bob/tools"] = _repo(2, "bob", "tools")
    ds.pulls = [
        _pull(1, "MixedCase", "2023-12-31T23:59:59+00:00", merged="2024-01-02T10:00:00+00:00"),
        _pull(2, "MixedCase", "2024-01-01T00:00:00+00:00", state="open", title="Add <script> Widget"),
        _pull(3, "MixedCase", "2024-01-31T23:59:59+00:00", repo="bob/tools"),  # closed, unmerged
        _pull(4, "MixedCase", "2024-02-01T00:00:00+00:00", merged="2024-02-01T00:00:00+00:00"),
        _pull(5, "bob", "2024-01-15T12:00:00+00:00", updated="2024-03-01T00:00:00+00:00", state="open"),
    ]
    return ds


def _ids(ds: Dataset, q: str, **kw: str) -> list[int]:
    return [p.id for p in search_issues(ds, q, **kw).items]


def test_author_is_case_insensitive_and_default_order_is_newest_first(dataset: Dataset) -> None:
    result = search_issues(dataset, "is:pr author:mixedcase")
    assert [p.id for p in result.items] == [4, 3, 2, 1]
    assert result.total_count == 4
    assert result.incomplete_results is False


def test_date_range_includes_both_whole_days(dataset: Dataset) -> None:
    assert _ids(dataset, "is:pr author:MixedCase created:2024-01-01..2024-01-31") == [3, 2]


def test_datetime_range_ends_are_inclusive_instants(dataset: Dataset) -> None:
    q = "author:MixedCase created:2023-12-31T23:59:59Z..2024-02-01T00:00:00Z"
    assert _ids(dataset, q) == [4, 3, 2, 1]
    q = "author:MixedCase created:2023-12-31T23:59:59+00:00..2024-01-31T23:59:58+00:00"
    assert _ids(dataset, q) == [2, 1]


def test_offsets_are_honoured(dataset: Dataset) -> None:
    # 2024-01-01T01:00:00+01:00 is midnight UTC: PR 2 is exactly at the lower bound.
    assert _ids(dataset, "author:MixedCase created:>=2024-01-01T01:00:00+01:00 created:<2024-01-31") == [2]


@pytest.mark.parametrize(
    ("qualifier", "expected"),
    [
        ("created:>=2024-01-01", [4, 3, 2]),
        ("created:>2024-01-01", [4, 3]),  # after the whole day
        ("created:<=2024-01-31", [3, 2, 1]),  # through the end of the day
        ("created:<2024-01-01", [1]),
        ("created:*..2024-01-01", [2, 1]),
        ("created:2024-01-31..*", [4, 3]),
        ("created:2024-01-01", [2]),  # a bare date is that day
        ("created:>2024-01-01T00:00:00Z", [4, 3]),
    ],
)
def test_range_operators(dataset: Dataset, qualifier: str, expected: list[int]) -> None:
    assert _ids(dataset, f"author:MixedCase {qualifier}") == expected


def test_merged_range_skips_unmerged_prs(dataset: Dataset) -> None:
    assert _ids(dataset, "author:MixedCase merged:2024-01-01..2024-12-31") == [4, 1]
    # PR 3 was closed without merging on the day it was opened; PR 4 closed on Feb 1.
    assert _ids(dataset, "author:MixedCase closed:2024-01-01..2024-01-31") == [3, 1]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("is:open", [5, 2]),
        ("is:closed author:MixedCase", [4, 3, 1]),
        ("is:merged", [4, 1]),
        ("is:unmerged", [3]),
        ("is:pr -is:merged author:mixedcase", [3, 2]),
        ("is:issue", []),
        ("type:pr author:BOB", [5]),
        ("repo:BOB/Tools", [3]),
        ("user:acme is:merged", [4, 1]),
        ("org:Acme widget", [2]),  # free text matches titles, case-insensitively
        ('"<script> widget"', [2]),
        ("is:pr frobnicate:yes author:bob", [5]),  # unknown qualifiers are ignored
    ],
)
def test_qualifiers(dataset: Dataset, q: str, expected: list[int]) -> None:
    assert _ids(dataset, q) == expected


def test_sort_qualifier_and_rest_parameters(dataset: Dataset) -> None:
    assert _ids(dataset, "author:MixedCase sort:created-asc") == [1, 2, 3, 4]
    assert _ids(dataset, "is:open sort:updated-desc") == [5, 2]
    assert _ids(dataset, "author:MixedCase", sort="created", order="asc") == [1, 2, 3, 4]
    assert _ids(dataset, "is:open", sort="updated", order="asc") == [2, 5]
    # The qualifier inside q wins over REST's parameters, as on GitHub.
    assert _ids(dataset, "author:MixedCase sort:created-desc", sort="created", order="asc") == [4, 3, 2, 1]


@pytest.mark.parametrize("bad", ["created:2024-13-01", "created:yesterday", "merged:2024-01-01..soon"])
def test_invalid_dates_are_rejected(dataset: Dataset, bad: str) -> None:
    with pytest.raises(SearchQueryError, match="Invalid value"):
        search_issues(dataset, f"is:pr author:bob {bad}")


@pytest.mark.parametrize("q", ["author:ghost", "repo:acme/nope", "user:nobody"])
def test_unknown_users_and_repos_are_rejected_like_github(dataset: Dataset, q: str) -> None:
    with pytest.raises(UnknownSearchTargetError, match="cannot be searched"):
        search_issues(dataset, q)
