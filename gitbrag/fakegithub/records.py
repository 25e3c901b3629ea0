"""The fake GitHub's raw records: the single source of truth behind its REST and
GraphQL endpoints and behind `GET /_fake/dataset`.

They are plain dataclasses, deliberately independent of `gitbrag.models`: the fake
fakes GitHub, not our own code, so tests can compute expected reports from these
records without going through the collector.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


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
class FakeStar:
    login: str  # the stargazer
    starred_at: datetime


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
    stars: list[FakeStar] = field(default_factory=list)  # oldest first
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
    demo_users: list[str] = field(default_factory=list)  # logins `--demo` publishes

    def user(self, login: str) -> FakeUser | None:
        return self.users.get(login.lower())

    def repo(self, full_name: str) -> FakeRepo | None:
        return self.repos.get(full_name.lower())

    # Lookup indices, rebuilt lazily whenever `pulls` was replaced or grew behind our back
    # (tests assign `pulls` directly), so `pulls_by`/`pull` stay O(1) on large datasets.
    _indexed: list[FakePull] | None = field(default=None, init=False, repr=False, compare=False)
    _indexed_len: int = field(default=0, init=False, repr=False, compare=False)
    _by_author: dict[str, list[FakePull]] = field(default_factory=dict, init=False, repr=False, compare=False)
    _by_number: dict[tuple[str, int], FakePull] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

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
