"""The fake GitHub's raw records: the single source of truth behind its REST and
GraphQL endpoints and behind `GET /_fake/dataset`.

They are plain dataclasses, deliberately independent of `gitbrag.models`: the fake
fakes GitHub, not our own code, so tests can compute expected reports from these
records without going through the collector.
"""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import overload


@dataclass
class FakeSocialAccount:
    provider: str  # GitHub's values: "twitter", "linkedin", "mastodon", "generic", ...
    url: str


@dataclass
class FakeUser:
    id: int
    login: str  # case preserved; lookups are case-insensitive
    name: str | None
    bio: str | None
    company: str | None
    location: str | None
    blog: str
    twitter_username: str | None
    created_at: datetime
    updated_at: datetime
    social_accounts: list[FakeSocialAccount] = field(default_factory=list)
    type: str = "User"
    # Organizations only: tokens not authorised for the org's SAML SSO get FORBIDDEN / 403 on its repos.
    saml_enforced: bool = False


@dataclass
class FakeMembership:
    """A user's membership of an organization. Only `public` ones are listed to a token that is
    not a member of the organization (GitHub's "public members"); the fake's viewer is a member
    of none, so a concealed membership is never served, by REST or GraphQL."""

    login: str
    public: bool = True
    role: str = "MEMBER"  # GraphQL's OrganizationMemberRole: ADMIN | MEMBER


@dataclass
class FakeStar:
    login: str  # the stargazer
    starred_at: datetime


class CompactStars(Sequence[FakeStar]):
    """A big repository's stars, oldest first, as flat arrays instead of a `FakeStar` per star.

    Why: the `real` population holds millions of stars; a Python object per star would cost
    hundreds of megabytes and seconds of start-up. It reads like `list[FakeStar]` (index,
    slice, iterate, `len`), building each `FakeStar` on demand. `times` holds epoch seconds,
    sorted. A star's stargazer comes from its serial, the star's index when the history was
    generated (`serials` stays None, meaning "the index", until the first mutation): serial
    `s` is `stargazer-K` with `K = (s * _MULT + salt) % _MOD + 1`, a permutation of `_MOD`
    logins, so a repository never has a stargazer twice while repositories share stargazers.
    Logins that do not follow that pattern (`add_star(repo, "alice")`) live in `names`, with
    negative serials `-1 - i`.
    """

    _MOD = 9_999_991  # prime: every multiplier is invertible, so logins decode back to serials
    _MULT = 7_368_787

    def __init__(self, times: Iterable[int], salt: int) -> None:
        self.times = array("l", times)
        self.salt = salt % self._MOD
        self.serials: array[int] | None = None
        self.next_serial = len(self.times)
        self.names: list[str] = []

    def __len__(self) -> int:
        return len(self.times)

    @overload
    def __getitem__(self, i: int) -> FakeStar: ...
    @overload
    def __getitem__(self, i: slice) -> list[FakeStar]: ...
    def __getitem__(self, i: int | slice) -> FakeStar | list[FakeStar]:
        if isinstance(i, slice):
            return [self._star(k) for k in range(*i.indices(len(self.times)))]
        if i < 0:
            i += len(self.times)
        if not 0 <= i < len(self.times):
            raise IndexError("star index out of range")
        return self._star(i)

    def __iter__(self) -> Iterator[FakeStar]:
        return (self._star(k) for k in range(len(self.times)))

    def _star(self, k: int) -> FakeStar:
        serial = k if self.serials is None else self.serials[k]
        return FakeStar(self.login(serial), datetime.fromtimestamp(self.times[k], UTC))

    def login(self, serial: int) -> str:
        if serial < 0:
            return self.names[-1 - serial]
        return f"stargazer-{(serial * self._MULT + self.salt) % self._MOD + 1}"

    def count_since(self, epoch: int) -> int:
        """Stars at or after `epoch`: a bisection, not a scan."""
        return len(self.times) - bisect.bisect_left(self.times, epoch)

    def iso_times(self) -> list[str]:
        """Every `starred_at` as GitHub's `YYYY-MM-DDTHH:MM:SSZ`, ~5x faster than formatting datetimes
        (`/_fake/dataset` writes hundreds of thousands per giant)."""
        days: dict[int, str] = {}
        out = []
        for t in self.times:
            d, s = divmod(t, 86400)
            day = days.get(d)
            if day is None:
                day = days[d] = datetime.fromtimestamp(d * 86400, UTC).strftime("%Y-%m-%d")
            h, rest = divmod(s, 3600)
            out.append(f"{day}T{h:02d}:{rest // 60:02d}:{rest % 60:02d}Z")
        return out

    def add(self, starred: Iterable[tuple[int, str | None]]) -> None:
        """Add stars given as (epoch seconds, login or None for the next derived stargazer),
        merged into time order (only the tail after the earliest new star is rewritten)."""
        serials = self._own_serials()
        new: list[tuple[int, int]] = []
        for t, login in starred:
            if login is None:
                new.append((t, self.next_serial))
                self.next_serial += 1
            else:
                self.names.append(login)
                new.append((t, -len(self.names)))
        if not new:
            return
        new.sort()
        cut = bisect.bisect_right(self.times, new[0][0])
        tail = sorted([*zip(self.times[cut:], serials[cut:], strict=True), *new])
        del self.times[cut:], serials[cut:]
        self.times.extend(t for t, _ in tail)
        serials.extend(s for _, s in tail)

    def remove_at(self, indices: Iterable[int]) -> None:
        serials = self._own_serials()
        for k in sorted(set(indices), reverse=True):
            del self.times[k], serials[k]

    def remove_login(self, login: str) -> None:
        """Unstar: drop every star of `login` (derived or named)."""
        wanted = {-1 - i for i, name in enumerate(self.names) if name == login}
        prefix, _, number = login.partition("-")
        if prefix == "stargazer" and number.isdigit() and 0 < int(number) <= self._MOD:
            serial = (int(number) - 1 - self.salt) * pow(self._MULT, -1, self._MOD) % self._MOD
            if serial < self.next_serial:
                wanted.add(serial)
        serials = self._own_serials()
        self.remove_at(k for k, s in enumerate(serials) if s in wanted)

    def _own_serials(self) -> array[int]:
        if self.serials is None:
            self.serials = array("l", range(len(self.times)))
        return self.serials


@dataclass
class FakeRepo:
    id: int
    owner: str  # login of the owner
    name: str
    description: str | None
    language: str | None  # primary language
    created_at: datetime
    updated_at: datetime
    pushed_at: datetime
    stars: list[FakeStar] | CompactStars = field(default_factory=list)  # oldest first
    fork: bool = False
    private: bool = False  # seen only by authenticated tokens with private access (see `access.py`)

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    @property
    def stargazers_count(self) -> int:
        return len(self.stars)


@dataclass
class FakeFile:
    filename: str
    additions: int
    deletions: int
    status: str = "modified"  # added, removed, modified, renamed

    @property
    def changes(self) -> int:
        return self.additions + self.deletions


@dataclass
class FakePull:
    id: int
    repo: str  # full_name of the base repository
    number: int
    title: str
    body: str | None
    author: str  # login of the author
    author_association: str  # OWNER, MEMBER, COLLABORATOR, CONTRIBUTOR, FIRST_TIME_CONTRIBUTOR, NONE
    state: str  # "open" | "closed" (REST); merged PRs are closed with merged_at set
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    merged_at: datetime | None
    files: list[FakeFile] = field(default_factory=list)
    draft: bool = False

    @property
    def additions(self) -> int:
        return sum(f.additions for f in self.files)

    @property
    def deletions(self) -> int:
        return sum(f.deletions for f in self.files)

    @property
    def changed_files(self) -> int:
        return len(self.files)

    @property
    def merged(self) -> bool:
        return self.merged_at is not None


@dataclass
class FakeReview:
    """A review someone submitted on a pull request (GitHub's PullRequestReview); the
    contributions data lists, per pull request and time span, the reviewer's latest one."""

    id: int
    repo: str  # full_name of the reviewed pull request's repository
    number: int  # the reviewed pull request
    reviewer: str  # login of the reviewer (never the pull request's author)
    state: str  # APPROVED | CHANGES_REQUESTED | COMMENTED
    submitted_at: datetime


@dataclass
class ChurnMemo:
    """What `churn.py` learnt from the history at its first call: each repository's stars a day and
    each author's PRs a day over the year before the anchor, and where those PRs went.

    Why memoised: later churns add stars and PRs inside that year; re-learning would let the
    rates compound call after call instead of staying each repository's and author's own.
    """

    star_rates: dict[str, float]  # repository key -> stars a day
    pull_rates: dict[str, float]  # author key -> pull requests a day
    pull_repos: dict[str, list[tuple[str, int, str]]]  # author key -> [(repository key, PRs, association)]
    calls: int = 0  # churns so far: each call draws from its own random stream


@dataclass
class Dataset:
    """All records of one fake GitHub, indexed the way the endpoints look them up.

    Keys of `users` and `repos` are lowercased (GitHub logins and repository names are
    case-insensitive); the records keep their original spelling.
    """

    seed: int
    anchor: datetime  # "today" of the synthetic history; timestamps lie before it
    users: dict[str, FakeUser] = field(default_factory=dict)
    repos: dict[str, FakeRepo] = field(default_factory=dict)
    pulls: list[FakePull] = field(default_factory=list)
    reviews: list[FakeReview] = field(default_factory=list)  # oldest first
    demo_users: list[str] = field(default_factory=list)  # logins `--demo` publishes
    # Lowercased organization login -> its members, in the order they joined (GitHub lists them so).
    org_members: dict[str, list[FakeMembership]] = field(default_factory=dict)
    churn: ChurnMemo | None = field(default=None, repr=False, compare=False)  # set by the first churn
    # The last moment (the fake's clock) any API request was answered: churn dates nothing at
    # or before it, since on GitHub a change is dated when it happens, after what was read.
    read_until: datetime | None = field(default=None, repr=False, compare=False)
    # Each changed pull request as it was before its latest change, by id: what a lagging
    # search index still shows (`FaultConfig.search_lag_seconds`).
    index_before: dict[int, FakePull] = field(default_factory=dict, repr=False, compare=False)

    def remember_before_change(self, pull: FakePull) -> None:
        """Keep `pull` as it is now, for a search index that has not caught up with the change."""
        self.index_before[pull.id] = replace(pull)

    def user(self, login: str) -> FakeUser | None:
        return self.users.get(login.lower())

    def repo(self, full_name: str) -> FakeRepo | None:
        return self.repos.get(full_name.lower())

    def public_members(self, org: str, *, concealed: bool = False) -> list[FakeMembership]:
        """The organization's public members (what a non-member sees), in joining order, or with
        `concealed` every member (what a member sees); members whose account is gone are not
        listed, as on GitHub."""
        members = self.org_members.get(org.lower(), ())
        return [m for m in members if (m.public or concealed) and m.login.lower() in self.users]

    # Lookup indices, rebuilt lazily whenever `pulls` was replaced or grew behind our back
    # (tests assign `pulls` directly), so `pulls_by`/`pull` stay O(1) on large datasets.
    _indexed: list[FakePull] | None = field(default=None, init=False, repr=False, compare=False)
    _indexed_len: int = field(default=0, init=False, repr=False, compare=False)
    _by_author: dict[str, list[FakePull]] = field(default_factory=dict, init=False, repr=False, compare=False)
    _by_number: dict[tuple[str, int], FakePull] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def reviews_by(self, login: str) -> list[FakeReview]:
        """The reviews `login` submitted, oldest first (a scan: reviews are few next to pulls)."""
        key = login.lower()
        return [r for r in self.reviews if r.reviewer.lower() == key]

    def pulls_by(self, login: str) -> list[FakePull]:
        self._ensure_index()
        return list(self._by_author.get(login.lower(), ()))

    def pull(self, full_name: str, number: int) -> FakePull | None:
        self._ensure_index()
        return self._by_number.get((full_name.lower(), number))

    def add_pull(self, pull: FakePull) -> None:
        """Append a pull and index it (cheaper than a full re-index)."""
        self._ensure_index()
        self.pulls.append(pull)
        self._index(pull)
        self._indexed_len = len(self.pulls)

    def _ensure_index(self) -> None:
        if self._indexed is self.pulls and self._indexed_len == len(self.pulls):
            return
        self._by_author = {}
        self._by_number = {}
        for p in self.pulls:
            self._index(p)
        self._indexed, self._indexed_len = self.pulls, len(self.pulls)

    def _index(self, p: FakePull) -> None:
        self._by_author.setdefault(p.author.lower(), []).append(p)
        self._by_number[(p.repo.lower(), p.number)] = p
