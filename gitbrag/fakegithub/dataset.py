"""The fake GitHub's synthetic history: deterministic from a seed and an anchor date.

Everything is generated with `random.Random(seed)` relative to `anchor` (the
synthetic "today"), so the same (seed, anchor) always yields the same records and
every timestamp lies in the past. The demo users are hand-shaped to exercise the
cases a contribution report can get wrong (see `build_dataset`); the optional extra
users are cheap filler for benchmarks and use their own random stream, so adding them
never changes the demo users' data. The realism users (`REALISM_USERS`) come last, also
on their own stream and id range: they carry what real GitHub throws at a client beyond
the demo (a long-dormant account, private and SAML-protected repositories, a pull
request past REST's 3,000-file cap) and are not demo users, so `--demo` is unchanged.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from gitbrag.fakegithub.records import (
    CompactStars,
    Dataset,
    FakeFile,
    FakeMembership,
    FakePull,
    FakeRepo,
    FakeReview,
    FakeSocialAccount,
    FakeStar,
    FakeUser,
)

DEMO_SEED = 20080410  # GitHub's public launch day; `gitbrag-fake-github` and `--demo` serve it
DEMO_USERS = ("Mona-Lisa", "prolific-pat", "zero-zoe", "hostile-hank", "steady-sam")
# The demo's team (GITBRAG_TEAMS when it is unset): a team page, and the members' links to it.
DEMO_TEAMS: dict[str, tuple[str, ...]] = {"platform": ("Mona-Lisa", "prolific-pat", "steady-sam")}
# Generated and vendored files some demo pull requests also change (a lockfile beside a
# dependency change, a vendored package, a built bundle): the lines a report sets apart
# from the authored ones (`gitbrag.report.languages.is_generated`). (path, additions, deletions)
DEMO_GENERATED_FILES = (
    ("package-lock.json", 1840, 912),
    ("Cargo.lock", 412, 388),
    ("vendor/github.com/pkg/errors/errors.go", 288, 0),
    ("yarn.lock", 964, 640),
    ("dist/app.min.js", 2, 2),
    ("poetry.lock", 530, 497),
)
REALISM_USERS = ("dormant-dora", "private-priya", "huge-hugo")
PRIVATE_ORG = "priya-corp"  # owns private repositories only
SAML_ORG = "saml-corp"  # enforces SAML SSO on its (public) repositories
HUGE_PR_FILES = 3400  # past REST's 3,000-file cap
_REALISM_FIRST_ID = 80_000_000  # users and repos; far above the demo's and the extras' ids
_REALISM_FIRST_PULL_ID = 90_000_000
DAY = 86400  # seconds
POPULATIONS = ("default", "real")  # `build_dataset(population=...)`, `gitbrag-fake-github --population`

HOSTILE_STRINGS = (
    '<script>alert("x")</script>',
    "<img src=x onerror=alert(1)>",
    "\"quotes' & ampersands",
    "Zoë Ñandú — 東京",
    "🚀✨",
)

_EXTENSIONS = {
    "Python": ".py",
    "TypeScript": ".ts",
    "Go": ".go",
    "Rust": ".rs",
    "Java": ".java",
    "C": ".c",
    "Ruby": ".rb",
    "CSS": ".css",
    "HTML": ".html",
}
_LANGUAGES = tuple(_EXTENSIONS)
# Files every kind of project has; some have no extension a language can be read from.
_SIDE_FILES = (".md", ".yml", "Makefile", "LICENSE", ".css", ".html", ".json", "Dockerfile")
_DIRS = ("src", "lib", "pkg", "internal", "app", "docs", "scripts", "tests", "cmd", "web")
_STEMS = (
    "main", "utils", "config", "server", "client", "parser", "models", "handlers", "cache", "auth",
    "api", "router", "views", "schema", "worker", "queue", "index", "helpers", "types", "errors",
)  # fmt: skip
_ADJECTIVES = ("fast", "tiny", "open", "bright", "quiet", "swift", "happy", "lazy", "brave", "neon", "calm")
_NOUNS = (
    "parser", "router", "cache", "queue", "lint", "docs", "cli", "sdk", "server", "widget",
    "graph", "vault", "forge", "atlas", "beacon", "kit", "lens", "relay",
)  # fmt: skip
_ORGS = (
    "octo-org", "hubot-labs", "pixel-works", "cloud-forge", "data-river", "open-lantern",
    "rustacean-guild", "gopher-hub", "pyfolk", "webweavers", "kernel-crew", "docs-collective",
)  # fmt: skip
_VERBS = ("Fix", "Add", "Refactor", "Update", "Remove", "Improve", "Document", "Speed up", "Test")
_TOPICS = (
    "pagination", "error handling", "the config loader", "CI workflow", "typos in README",
    "retry logic", "dark mode", "unicode filenames", "memory leak in cache", "flaky test",
)  # fmt: skip

# PR size categories as (weight, n_files range, total changed lines range). The line
# ranges keep clear of the report's category bounds (1/100/500/1500/5000) so rounding
# while spreading lines over files can't push a PR into a neighbouring category.
_SIZES: dict[str, tuple[float, tuple[int, int], tuple[int, int]]] = {
    "one": (0.05, (1, 1), (1, 1)),
    "small": (0.5, (1, 5), (8, 90)),
    "medium": (0.25, (2, 12), (130, 470)),
    "large": (0.12, (3, 25), (540, 1440)),
    "huge": (0.06, (5, 40), (1600, 4800)),
    "massive": (0.02, (8, 60), (5300, 30000)),
}


def build_dataset(
    seed: int = DEMO_SEED,
    *,
    anchor: datetime | None = None,
    extra_users: int = 0,
    population: str = "default",
) -> Dataset:
    """Build the fake's records.

    Demo users (in this order): `Mona-Lisa` (mixed-case login, ~300 PRs in ~60 repos,
    every author association, every size category, one PR with 130 files),
    `prolific-pat` (>1,000 PRs in the last year, so the 1,000-result search cap bites),
    `zero-zoe` (no PRs), `hostile-hank` (HTML/script, Unicode and emoji in every text
    field) and `steady-sam` (PRs into `star-rocket/rocket`, which gained >1,000 stars in
    the last year). `extra_users` adds `user-0001`, ... for benchmarks. Then the
    realism users, which are not demo users: `dormant-dora` (~40 PRs, all 6-9 years
    old), `private-priya` (PRs in public repos, in private repos of `priya-corp` and in
    repos of the SAML-enforcing `saml-corp`) and `huge-hugo` (a PR with 3,400 files).
    `population="real"` then adds a crowd shaped like GitHub (`population.py`), on its own
    random stream and id range, so every record above stays exactly as it is without it.
    """
    if population not in POPULATIONS:
        raise ValueError(f"unknown population {population!r} (expected one of {', '.join(POPULATIONS)})")
    if anchor is None:
        anchor = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    b = _Builder(random.Random(seed), Dataset(seed=seed, anchor=anchor))
    _demo(b)
    b.finish(b.ds.pulls, first_id=1_000_000)
    if extra_users:
        extra = _Builder(random.Random(f"{seed}/extra"), b.ds, next_id=b.next_id)
        start = len(b.ds.pulls)
        _extras(extra, extra_users)
        extra.finish(b.ds.pulls[start:], first_id=50_000_000)
    real = _Builder(random.Random(f"{seed}/realism"), b.ds, next_id=_REALISM_FIRST_ID)
    start = len(b.ds.pulls)
    _realism(real)
    real.finish(b.ds.pulls[start:], first_id=_REALISM_FIRST_PULL_ID)
    _add_reviews(random.Random(f"{seed}/reviews"), b.ds)
    _add_memberships(b.ds)
    if population == "real":
        from gitbrag.fakegithub.population import add_real_population  # it builds on this module

        add_real_population(b.ds)
    return b.ds


class _Builder:
    """Random helpers bound to one dataset and one random stream."""

    def __init__(self, rng: random.Random, ds: Dataset, next_id: int = 1000) -> None:
        self.rng = rng
        self.ds = ds
        self.next_id = next_id
        self.made: list[FakeRepo] = []  # repos this builder created; `finish` fixes their dates

    def ago(self, days: float) -> datetime:
        return self.ds.anchor - timedelta(seconds=int(days * DAY))

    def between(self, newest_days: float, oldest_days: float) -> datetime:
        return self.ago(self.rng.uniform(newest_days, oldest_days))

    def new_id(self) -> int:
        self.next_id += self.rng.randint(1, 97)
        return self.next_id

    def user(self, login: str, *, type: str = "User", age_days: float = 3000, **fields: Any) -> FakeUser:
        created = self.between(age_days * 0.9, age_days)
        defaults: dict[str, Any] = dict(
            name=None, bio=None, company=None, location=None, blog="", twitter_username=None
        )
        defaults.update(fields)
        u = FakeUser(
            id=self.new_id(),
            login=login,
            created_at=created,
            updated_at=self.between(1, 300),
            type=type,
            **defaults,
        )
        self.ds.users[login.lower()] = u
        return u

    def repo(
        self,
        owner: str,
        name: str,
        *,
        age_days: float,
        stars: int,
        recent_stars: int = 0,
        language: str | None = None,
        description: str | None = "",
        private: bool = False,
    ) -> FakeRepo:
        rng = self.rng
        language = language or rng.choice(_LANGUAGES)
        if description == "":
            description = _description(rng, name, language)
        created = self.between(age_days * 0.95, age_days)
        r = FakeRepo(
            id=self.new_id(),
            owner=owner,
            name=name,
            description=description,
            language=language,
            created_at=created,
            updated_at=created,
            pushed_at=created,
            private=private,
        )
        r.stars = self.stars(created, stars - recent_stars, recent_stars)
        self.ds.repos[r.full_name.lower()] = r
        self.made.append(r)
        return r

    def stars(self, created: datetime, older: int, recent: int) -> list[FakeStar]:
        """`older` stars over the repo's life (denser lately), plus `recent` in the last 360 days."""
        rng = self.rng
        life = (self.ds.anchor - created).total_seconds()
        recent_start = min(life, 360 * DAY)
        offsets = [life * (1 - rng.random() ** 0.6) for _ in range(older)]  # seconds after creation
        offsets += [life - rng.uniform(60, recent_start) for _ in range(recent)]
        offsets.sort()
        logins = rng.sample(range(1, 5_000_000), len(offsets))
        return [
            FakeStar(f"stargazer-{k}", created + timedelta(seconds=int(o)))
            for k, o in zip(logins, offsets, strict=True)
        ]

    def pull(
        self,
        repo: FakeRepo,
        author: str,
        created: datetime,
        association: str,
        *,
        title: str | None = None,
        size: str | None = None,
        state: str | None = None,
        files: list[FakeFile] | None = None,
    ) -> FakePull:
        rng = self.rng
        state, closed, merged, updated = _lifecycle(rng, created, self.ds.anchor, state)
        if files is None:
            files = _files(rng, repo.language, size or _pick_size(rng))
        p = FakePull(
            id=0,  # ids and numbers are assigned in `finish`, in creation order
            repo=repo.full_name,
            number=0,
            title=title or f"{rng.choice(_VERBS)} {rng.choice(_TOPICS)}",
            body=rng.choice((None, "", "This PR addresses the issue described in the title.")),
            author=author,
            author_association=association,
            state=state,
            created_at=created,
            updated_at=updated,
            closed_at=closed,
            merged_at=merged,
            files=files,
            draft=state == "open" and rng.random() < 0.15,
        )
        self.ds.pulls.append(p)
        return p

    def set_state(self, p: FakePull, state: str) -> None:
        """Force a PR open, closed (unmerged) or merged, with consistent timestamps."""
        p.state, p.closed_at, p.merged_at, p.updated_at = _lifecycle(
            self.rng, p.created_at, self.ds.anchor, state
        )

    def finish(self, pulls: list[FakePull], first_id: int) -> None:
        """Number pulls per repo in creation order and make repo dates cover their activity."""
        by_repo: dict[str, list[FakePull]] = {}
        for p in sorted(pulls, key=lambda p: p.created_at):
            by_repo.setdefault(p.repo.lower(), []).append(p)
        next_pid = first_id
        for key in sorted(by_repo):
            number = self.rng.randint(1, 40)
            for p in by_repo[key]:
                p.number = number
                number += self.rng.randint(1, 3)  # issues share the numbering
        for p in sorted(pulls, key=lambda p: (p.created_at, p.repo, p.number)):
            next_pid += self.rng.randint(1, 9)
            p.id = next_pid
        for key, repo_pulls in by_repo.items():
            r = self.ds.repos[key]
            first = repo_pulls[0].created_at
            if first <= r.created_at:
                r.created_at = first - timedelta(days=self.rng.randint(1, 200))
        for r in self.made:
            r.pushed_at = max([r.created_at] + [p.updated_at for p in by_repo.get(r.full_name.lower(), [])])
            r.updated_at = max(r.pushed_at, r.stars[-1].starred_at if r.stars else r.created_at)
        self.ds._ensure_index()


def _description(rng: random.Random, name: str, language: str) -> str | None:
    if rng.random() < 0.1:
        return None
    return rng.choice(
        (
            f"A {rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)} written in {language}.",
            f"{name}: {rng.choice(_ADJECTIVES)} tooling for {language} projects",
            f"Yet another {rng.choice(_NOUNS)}, but {rng.choice(_ADJECTIVES)}.",
        )
    )


def _pick_size(rng: random.Random) -> str:
    r = rng.random()
    for size, (weight, _, _) in _SIZES.items():
        r -= weight
        if r < 0:
            return size
    return "small"


def _files(rng: random.Random, language: str | None, size: str, n_files: int | None = None) -> list[FakeFile]:
    _, (lo_n, hi_n), (lo_lines, hi_lines) = _SIZES[size]
    n = n_files or rng.randint(lo_n, hi_n)
    total = rng.randint(lo_lines, hi_lines)
    if size == "one":
        return [FakeFile(_path(rng, language, set()), 1, 0)]
    weights = [rng.random() + 0.05 for _ in range(n)]
    scale = max(total - n, 0) / sum(weights)  # every file changes at least one line
    used: set[str] = set()
    files = []
    for w in weights:
        lines = 1 + int(w * scale)
        status = rng.choices(("modified", "added", "removed"), (0.8, 0.15, 0.05))[0]
        deletions = {"added": 0, "removed": lines}.get(status, int(lines * rng.random() * 0.5))
        files.append(FakeFile(_path(rng, language, used), lines - deletions, deletions, status))
    return files


def _path(rng: random.Random, language: str | None, used: set[str]) -> str:
    ext = _EXTENSIONS.get(language or "", ".md") if rng.random() < 0.8 else rng.choice(_SIDE_FILES)
    stem = rng.choice(_STEMS)
    if ext in ("Makefile", "LICENSE", "Dockerfile"):
        path = ext if rng.random() < 0.5 else f"{rng.choice(_DIRS)}/{ext}"
    elif ext == ".yml":
        path = f".github/workflows/{stem}.yml"
    else:
        path = f"{rng.choice(_DIRS)}/{stem}{ext}"
    base, i = path, 2
    while path in used:  # same name, another module: `pkg2/main.go`, `mod3/Makefile`
        folder, slash, leaf = base.rpartition("/")
        path = f"{folder or 'mod'}{i}/{leaf}"
        i += 1
    used.add(path)
    return path


def _lifecycle(
    rng: random.Random, created: datetime, anchor: datetime, state: str | None
) -> tuple[str, datetime | None, datetime | None, datetime]:
    """Pick (state, closed_at, merged_at, updated_at); `state` may force open/closed/merged."""
    age = (anchor - created).total_seconds()
    if state is None:
        p_open = 0.25 if age < 45 * DAY else 0.03
        r = rng.random()
        state = "open" if r < p_open else "closed" if r < p_open + 0.15 else "merged"
    if state == "open":
        return "open", None, None, created + timedelta(seconds=int(age * rng.random()))
    to_close = min(rng.expovariate(1 / (3 * DAY)) + 600, age / 2)
    closed = created + timedelta(seconds=int(to_close))
    updated = closed + timedelta(seconds=int(min(rng.random() * DAY, (anchor - closed).total_seconds() / 2)))
    return "closed", closed, closed if state == "merged" else None, updated


def _spread(b: _Builder, n: int, newest_days: float, oldest_days: float) -> list[datetime]:
    """`n` creation times, denser towards the recent end, newest first."""
    span = oldest_days - newest_days
    return sorted((b.ago(newest_days + span * b.rng.random() ** 1.3) for _ in range(n)), reverse=True)


def _repo_names(b: _Builder, n: int) -> Iterable[str]:
    combos = [f"{a}-{n_}" for a in _ADJECTIVES for n_ in _NOUNS]
    return b.rng.sample(combos, n)


# --- the demo users -----------------------------------------------------------------


def _demo(b: _Builder) -> None:
    b.ds.demo_users = list(DEMO_USERS)
    for org in (*_ORGS, "star-rocket", "pat-bots"):
        b.user(org, type="Organization", age_days=4000, name=org.replace("-", " ").title())
    _mona(b)
    _pat(b)
    _zoe(b)
    _hank(b)
    _sam(b)
    _generated_files(b, "Mona-Lisa", every=5)
    _generated_files(b, "prolific-pat", every=40)


def _generated_files(b: _Builder, login: str, *, every: int) -> None:
    """Add a generated or vendored file (`DEMO_GENERATED_FILES`, in turn) to every `every`-th
    of the user's merged pull requests of the past year, newest first. Uses no randomness,
    so every other record of the dataset stays exactly as it was."""
    year_ago = b.ago(365)
    mine = [p for p in b.ds.pulls if p.author == login and p.merged_at and p.created_at > year_ago]
    mine = [p for p in sorted(mine, key=lambda p: p.created_at, reverse=True) if len(p.files) < 90]
    for n, pull in enumerate(mine[::every]):
        path, additions, deletions = DEMO_GENERATED_FILES[n % len(DEMO_GENERATED_FILES)]
        if all(f.filename != path for f in pull.files):
            pull.files = [*pull.files, FakeFile(path, additions, deletions)]


def _contribute(
    b: _Builder, author: str, plan: list[tuple[FakeRepo, str]], times: list[datetime], **kw: Any
) -> list[FakePull]:
    """Spread `times` over the planned (repo, role) pairs; a CONTRIBUTOR's first PR in a repo
    is FIRST_TIME_CONTRIBUTOR, as GitHub reports it."""
    weights = [3.0 if role in ("OWNER", "MEMBER") else 1.0 for _, role in plan]
    chosen = [plan[i] for i in range(len(plan))] + b.rng.choices(plan, weights, k=len(times) - len(plan))
    b.rng.shuffle(chosen)
    pulls = []
    seen: set[str] = set()
    for created, (repo, role) in sorted(zip(times, chosen, strict=True), key=lambda t: t[0]):
        assoc = role
        if role == "CONTRIBUTOR" and repo.full_name not in seen:
            assoc = "FIRST_TIME_CONTRIBUTOR"
        seen.add(repo.full_name)
        pulls.append(b.pull(repo, author, created, assoc, **kw))
    return pulls


def _mona(b: _Builder) -> None:
    login = "Mona-Lisa"
    b.user(
        login,
        age_days=4200,
        name="Mona Lisa Octocat",
        bio="Painting pixels and shipping pull requests.",
        company="@octo-org",
        location="San Francisco, CA",
        blog="https://mona.example.com",
        twitter_username="monalisa",
        social_accounts=[
            FakeSocialAccount("twitter", "https://twitter.com/monalisa"),
            FakeSocialAccount("mastodon", "https://mastodon.social/@mona"),
            FakeSocialAccount("linkedin", "https://www.linkedin.com/in/mona-lisa-octocat"),
        ],
    )
    names = list(_repo_names(b, 60))
    plan: list[tuple[FakeRepo, str]] = []
    for i, name in enumerate(names):
        if i < 8:
            owner, role, stars = login, "OWNER", b.rng.randint(0, 80)
        elif i < 18:
            owner, role, stars = "octo-org", "MEMBER", b.rng.randint(50, 2000)
        elif i < 24:
            owner, role, stars = "hubot-labs", "COLLABORATOR", b.rng.randint(10, 600)
        else:
            owner, role, stars = b.rng.choice(_ORGS[2:]), "CONTRIBUTOR", b.rng.randint(0, 1500)
        recent = b.rng.randint(0, stars // 3)
        plan.append(
            (b.repo(owner, name, age_days=b.rng.uniform(2900, 3000), stars=stars, recent_stars=recent), role)
        )
    recent_times = _spread(b, 270, 0.5, 1820)
    old_times = _spread(b, 30, 1830, 2700)
    pulls = _contribute(b, login, plan, recent_times + old_times)
    # Make sure every size category (and GitHub's files pagination) shows up in the last year.
    newest = sorted(pulls, key=lambda p: p.created_at, reverse=True)
    forced = ("one", "small", "medium", "large", "huge", "massive")
    for p, size in zip(newest, forced, strict=False):
        p.files = _files(b.rng, b.ds.repos[p.repo.lower()].language, size)
        b.set_state(p, "merged")
    newest[len(forced)].files = _files(b.rng, "TypeScript", "large", n_files=130)


def _pat(b: _Builder) -> None:
    login = "prolific-pat"
    b.user(
        login,
        age_days=2500,
        name="Pat Prolific",
        bio="I automate dependency bumps. So many bumps.",
        company="Pat Bots Inc.",
        location="Berlin",
        blog="pat.example.org",
        social_accounts=[FakeSocialAccount("generic", "https://pat.example.org/about")],
    )
    plan = [
        (b.repo(login, n, age_days=2000, stars=b.rng.randint(0, 30)), "OWNER")
        for n in ("bumpbot", "dotfiles")
    ]
    plan += [
        (b.repo("pat-bots", n, age_days=1900, stars=b.rng.randint(20, 400)), "MEMBER")
        for n in ("deps", "infra")
    ]
    plan += [
        (b.repo(b.rng.choice(_ORGS), f"pat-{n}", age_days=2200, stars=b.rng.randint(5, 900)), "CONTRIBUTOR")
        for n in ("bumps", "lockfiles", "renovate-config", "ci-images", "yaml-lint", "mirrors")
    ]
    libs = ("lodash", "requests", "serde", "tokio", "react", "django", "express", "numpy")
    times = _spread(b, 1250, 0.2, 358) + _spread(b, 350, 368, 1400)
    for p in _contribute(b, login, plan, times):
        lib = b.rng.choice(libs)
        major = b.rng.randint(1, 9)
        p.title = f"Bump {lib} from {major}.{b.rng.randint(0, 20)}.0 to {major}.{b.rng.randint(21, 40)}.1"


def _zoe(b: _Builder) -> None:
    b.user(
        "zero-zoe",
        age_days=900,
        name="Zoe Zero",
        bio="Just getting started.",
        location="Lisbon",
    )
    b.repo("zero-zoe", "hello-world", age_days=800, stars=1, language="Python")


def _hank(b: _Builder) -> None:
    login = "hostile-hank"
    script, img, quotes, unicode, emoji = HOSTILE_STRINGS
    b.user(
        login,
        age_days=1500,
        name=f"{script} {unicode} {emoji}",
        bio=f"{img} {quotes} {emoji}",
        company=f'<b>Evil & Co</b> {quotes} <a href="javascript:alert(2)">',
        location=f"{unicode} ✨ <iframe src=javascript:alert(3)>",
        blog="javascript:alert(1)",
        twitter_username="hostile_hank",
        social_accounts=[
            FakeSocialAccount("generic", "javascript:alert('social')"),
            FakeSocialAccount("mastodon", 'https://evil.example/@hank"><script>alert(4)</script>'),
            FakeSocialAccount("linkedin", "https://www.linkedin.com/in/hank-🚀?x=<b>&y='\""),
        ],
    )
    plan = [
        (
            b.repo(login, "xss-playground", age_days=1400, stars=12, description=f"{script} & {quotes}"),
            "OWNER",
        ),
        (b.repo(login, "unicode-zoo", age_days=1300, stars=7, description=f"{unicode} {emoji}"), "OWNER"),
        (
            b.repo("webweavers", "sanitizer", age_days=2500, stars=640, description=f"Strips {img} safely"),
            "CONTRIBUTOR",
        ),
    ]
    titles = [
        f"Fix {script} in titles",
        f"Render {img} as text",
        f"Handle {quotes}",
        f"Support {unicode} {emoji}",
        "</title><script>document.location='https://evil.example'</script>",
        "{{ 7*7 }} ${7*7} <%= 7*7 %>",
        "Emoji only 🚀✨🔥",
    ]
    for i, p in enumerate(_contribute(b, login, plan, _spread(b, 20, 1, 900))):
        p.title = titles[i % len(titles)]
        p.body = f"{script}\n{img}\n{quotes}"


def _sam(b: _Builder) -> None:
    login = "steady-sam"
    b.user(
        login,
        age_days=2200,
        name="Sam Steady",
        bio="Slow and steady ships the rocket.",
        company="Star Rocket",
        location="Toronto, Canada",
        blog="https://sam.example.net",
        social_accounts=[FakeSocialAccount("twitter", "https://twitter.com/steadysam")],
    )
    rocket = b.repo(
        "star-rocket",
        "rocket",
        age_days=2100,
        stars=3000,
        recent_stars=1400,
        language="Rust",
        description="🚀 A blazing fast launch pipeline.",
    )
    launchpad = b.repo("star-rocket", "launchpad", age_days=1500, stars=220, language="Go")
    plan = [(launchpad, "COLLABORATOR")]
    plan += [
        (b.repo(login, n, age_days=1800, stars=b.rng.randint(0, 40)), "OWNER") for n in ("notes", "sam-cli")
    ]
    plan += [
        (b.repo(b.rng.choice(_ORGS), f"sam-{n}", age_days=2400, stars=300), "CONTRIBUTOR") for n in ("a", "b")
    ]
    _contribute(b, login, plan, _spread(b, 28, 2, 1500))
    rocket_times = _spread(b, 12, 3, 330)  # newest first
    pulls = [
        b.pull(rocket, login, t, "FIRST_TIME_CONTRIBUTOR" if t == rocket_times[-1] else "CONTRIBUTOR")
        for t in rocket_times
    ]
    b.set_state(pulls[0], "open")
    b.set_state(pulls[1], "closed")


# --- benchmark filler ------------------------------------------------------------------


def _extras(b: _Builder, n: int) -> None:
    """Cheap users: shared file lists and a shared repo pool keep 1,000 users to a few seconds."""
    rng = b.rng
    repos = [
        b.repo(
            f"bench-org-{i % 25:02d}",
            f"project-{i:04d}",
            age_days=rng.uniform(400, 2900),
            stars=int(600 * rng.random() ** 3),
        )
        for i in range(max(20, min(400, n // 2)))
    ]
    file_pool = [_files(rng, rng.choice(_LANGUAGES), _pick_size(rng)) for _ in range(400)]
    anchor = b.ds.anchor
    for i in range(1, n + 1):
        login = f"user-{i:04d}"
        b.user(
            login,
            age_days=rng.uniform(400, 3000),
            name=f"User {i}",
            bio="Benchmark filler.",
            location="Earth",
        )
        for _ in range(int(300 * rng.random() ** 2.5)):
            repo = rng.choice(repos)
            life = (anchor - repo.created_at).total_seconds()
            created = anchor - timedelta(seconds=int(life * rng.random() ** 1.5) + 60)
            b.pull(repo, login, created, "CONTRIBUTOR", title=f"Change #{i}", files=rng.choice(file_pool))


# --- realism: what real GitHub does that the demo users don't show -------------------


def _realism(b: _Builder) -> None:
    _dora(b)
    _priya(b)
    _hugo(b)


def _dora(b: _Builder) -> None:
    """Busy 6-9 years ago, silent since: every recent period is empty, all-time is not."""
    login = "dormant-dora"
    b.user(login, age_days=3800, name="Dora Dormant", bio="Gone fishing.", location="Reykjavik")
    plan = [
        (b.repo(login, n, age_days=3500, stars=b.rng.randint(0, 25)), "OWNER") for n in ("dotvim", "notes")
    ]
    plan += [
        (b.repo(b.rng.choice(_ORGS), f"dora-{n}", age_days=3600, stars=b.rng.randint(30, 700)), "CONTRIBUTOR")
        for n in ("parser", "cli", "docs", "sdk")
    ]
    for p in _contribute(b, login, plan, _spread(b, 40, 6 * 365 + 5, 9 * 365 - 5)):
        b.set_state(p, b.rng.choice(("merged", "merged", "merged", "closed")))


def _priya(b: _Builder) -> None:
    """Public work, secret work in private repos, and work behind SAML SSO, all recent."""
    login = "private-priya"
    b.user(login, age_days=1600, name="Priya Private", company=f"@{PRIVATE_ORG}", location="Pune")
    b.user(PRIVATE_ORG, type="Organization", age_days=2000, name="Priya Corp")
    b.user(SAML_ORG, type="Organization", age_days=2500, name="SAML Corp", saml_enforced=True)
    public = [(b.repo(login, "priya-dotfiles", age_days=1500, stars=3), "OWNER")]
    public += [
        (
            b.repo(b.rng.choice(_ORGS), f"priya-{n}", age_days=2000, stars=b.rng.randint(20, 400)),
            "CONTRIBUTOR",
        )
        for n in ("lint", "cache", "router")
    ]
    _contribute(b, login, public, _spread(b, 30, 3, 330))
    secret = [
        (
            b.repo(PRIVATE_ORG, n, age_days=1200, stars=2, private=True, description=f"Confidential: {n}"),
            "MEMBER",
        )
        for n in ("secret-ledger", "secret-payroll", "secret-roadmap")
    ]
    for p in _contribute(b, login, secret, _spread(b, 14, 2, 300)):
        p.title = f"Confidential: {p.title.lower()}"
        p.body = "Internal only: do not publish."
    saml = [
        (b.repo(SAML_ORG, n, age_days=1800, stars=b.rng.randint(50, 300)), "CONTRIBUTOR")
        for n in ("sso-kit", "audit-log")
    ]
    _contribute(b, login, saml, _spread(b, 6, 5, 320))


def _hugo(b: _Builder) -> None:
    """A handful of PRs, one of which (merged this year) touches HUGE_PR_FILES files."""
    login = "huge-hugo"
    b.user(login, age_days=2000, name="Hugo Huge", bio="Monorepo migrations.")
    mono = b.repo(login, "monorepo", age_days=1500, stars=40, language="Go")
    plan = [
        (mono, "OWNER"),
        (b.repo(b.rng.choice(_ORGS), "hugo-tools", age_days=1800, stars=90), "CONTRIBUTOR"),
    ]
    _contribute(b, login, plan, _spread(b, 5, 20, 700))
    files = [
        FakeFile(f"vendor/mod{i // 100:02d}/file{i:04d}.go", 1 + i % 7, i % 3) for i in range(HUGE_PR_FILES)
    ]
    created = b.ago(b.rng.uniform(30, 200))
    b.pull(mono, login, created, "OWNER", title="Vendor every dependency", state="merged", files=files)


# --- organization memberships ----------------------------------------------------------

# Organization -> (login, public, role), in joining order. Concealed (private) memberships are
# there on purpose: GitHub never lists them to a token that is not a member of the
# organization (the fake's viewer is a member of none), so no report or team page may show them.
# Fixed data, no random draw: every other record stays exactly as it was before memberships.
ORG_MEMBERS: dict[str, tuple[tuple[str, bool, str], ...]] = {
    "octo-org": (
        ("Mona-Lisa", True, "ADMIN"),
        ("steady-sam", True, "MEMBER"),
        ("hostile-hank", False, "MEMBER"),
        ("prolific-pat", True, "MEMBER"),
        ("dormant-dora", False, "MEMBER"),
    ),
    "hubot-labs": (
        ("prolific-pat", True, "ADMIN"),
        ("zero-zoe", True, "MEMBER"),
        ("huge-hugo", False, "MEMBER"),
    ),
    "star-rocket": (("steady-sam", True, "ADMIN"),),
    PRIVATE_ORG: (("private-priya", False, "ADMIN"),),
    SAML_ORG: (("private-priya", False, "MEMBER"),),
}


def _add_memberships(ds: Dataset) -> None:
    for org, members in ORG_MEMBERS.items():
        for login, public, role in members:
            add_member(ds, org, login, public=public, role=role)


def add_member(
    ds: Dataset, org: str, login: str, *, public: bool = True, role: str = "MEMBER"
) -> FakeMembership:
    """Make `login` a member of `org` (public, or concealed), or change an existing membership's
    visibility and role, as a member publicizing or concealing it would."""
    o, u = ds.user(org), ds.user(login)
    if o is None or o.type != "Organization":
        raise KeyError(org)
    if u is None or u.type == "Organization":
        raise KeyError(login)
    members = ds.org_members.setdefault(org.lower(), [])
    for m in members:
        if m.login.lower() == login.lower():
            m.public, m.role = public, role
            return m
    membership = FakeMembership(u.login, public, role)
    members.append(membership)
    return membership


def remove_member(ds: Dataset, org: str, login: str) -> None:
    """`login` leaves `org` (or is removed from it)."""
    members = ds.org_members.get(org.lower(), [])
    kept = [m for m in members if m.login.lower() != login.lower()]
    if len(kept) == len(members):
        raise KeyError(f"{login} in {org}")
    ds.org_members[org.lower()] = kept


# --- reviews: pull requests the demo and realism users reviewed ---------------------------------

# Reviewer -> how many pull requests they review (zero-zoe reviews none: her pages stay empty).
REVIEWERS = {
    "Mona-Lisa": 160,
    "prolific-pat": 40,
    "steady-sam": 24,
    "hostile-hank": 9,
    "dormant-dora": 12,
    "private-priya": 10,
}
_REVIEW_STATES = ("APPROVED", "APPROVED", "COMMENTED", "CHANGES_REQUESTED")
_FIRST_REVIEW_ID = 95_000_000


def _add_reviews(rng: random.Random, ds: Dataset) -> None:
    """Reviews of the demo and realism users' pull requests (never their own), on their own
    random stream after every other record, so they change nothing else; only those users'
    pull requests are reviewed, so extra users and the `real` population leave them alone.

    Some pull requests get a second review, some of those in the next calendar year (GitHub's
    contributions then list the pull request in both years); some are in private repositories
    and behind SAML (priya-corp, saml-corp), which a public report must not count."""
    named = {u.lower() for u in (*DEMO_USERS, *REALISM_USERS)}
    pulls = sorted(
        (p for p in ds.pulls if p.author.lower() in named), key=lambda p: (p.created_at, p.repo, p.number)
    )
    next_id = _FIRST_REVIEW_ID
    reviews: list[FakeReview] = []
    for login, n in REVIEWERS.items():
        candidates = [p for p in pulls if p.author.lower() != login.lower()]
        if login == "dormant-dora":  # busy 6-9 years ago, silent since
            candidates = [p for p in candidates if p.created_at < ds.anchor - timedelta(days=6 * 365)]
        picked = rng.sample(candidates, min(n, len(candidates)))
        if login == "Mona-Lisa":  # the cases a public report must not count
            hidden = [p for p in candidates if p.repo.split("/")[0] in (PRIVATE_ORG, SAML_ORG)]
            picked += [p for p in rng.sample(hidden, min(4, len(hidden))) if p not in picked]
        for pull in picked:
            for moment in _review_times(rng, pull, ds.anchor):
                next_id += rng.randint(1, 9)
                state = rng.choice(_REVIEW_STATES)
                reviews.append(FakeReview(next_id, pull.repo, pull.number, login, state, moment))
        if login == "Mona-Lisa":
            reviews += _across_new_year(rng, candidates, login, ds.anchor, next_id)
            next_id += 10
    ds.reviews = sorted(reviews, key=lambda r: (r.submitted_at, r.id))


def _across_new_year(
    rng: random.Random, candidates: list[FakePull], login: str, anchor: datetime, next_id: int
) -> list[FakeReview]:
    """Two reviews of one pull request, on either side of a New Year: GitHub's contributions
    list it in both years, and a report over both must count it once."""
    for pull in sorted(candidates, key=lambda p: (p.created_at, p.repo, p.number), reverse=True):
        end = min(pull.closed_at or anchor, anchor)
        new_year = datetime(pull.created_at.year + 1, 1, 1, tzinfo=UTC)
        if pull.created_at < new_year - timedelta(days=3) and new_year + timedelta(days=3) < end:
            before = new_year - timedelta(hours=rng.randint(2, 48))
            after = new_year + timedelta(hours=rng.randint(2, 48))
            return [
                FakeReview(next_id + 1, pull.repo, pull.number, login, "COMMENTED", before),
                FakeReview(next_id + 2, pull.repo, pull.number, login, "APPROVED", after),
            ]
    return []


def _review_times(rng: random.Random, pull: FakePull, anchor: datetime) -> list[datetime]:
    """One review while the pull request was open, sometimes a second one later."""
    end = min(pull.closed_at or anchor, anchor)
    span = max(int((end - pull.created_at).total_seconds()), 2)
    first = pull.created_at + timedelta(seconds=rng.randint(1, max(span // 2, 1)))
    if rng.random() < 0.2:
        second = first + timedelta(seconds=rng.randint(1, max(int((end - first).total_seconds()), 1)))
        return [first, min(second, end)]
    return [first]


# --- mutation and export ----------------------------------------------------------------


def add_pull(
    ds: Dataset,
    repo: str,
    author: str,
    *,
    title: str = "New pull request",
    created_at: datetime | None = None,
    state: str = "open",
    merged: bool = False,
    files: list[FakeFile] | None = None,
    author_association: str = "CONTRIBUTOR",
) -> FakePull:
    """Open (or record) a new PR, as later tests need: it gets the repo's next number."""
    r = ds.repo(repo)
    if r is None:
        raise KeyError(repo)
    user = ds.user(author)
    created = created_at or datetime.now(UTC).replace(microsecond=0)
    closed = created if state == "closed" else None
    numbers = [p.number for p in ds.pulls if p.repo.lower() == r.full_name.lower()]
    pull = FakePull(
        id=max((p.id for p in ds.pulls), default=1_000_000) + 1,
        repo=r.full_name,
        number=max(numbers, default=0) + 1,
        title=title,
        body=None,
        author=user.login if user else author,
        author_association=author_association,
        state=state,
        created_at=created,
        updated_at=created,
        closed_at=closed,
        merged_at=closed if merged else None,
        files=files if files is not None else [FakeFile("README.md", 1, 0)],
    )
    ds.add_pull(pull)
    r.updated_at = r.pushed_at = max(r.updated_at, created)
    return pull


def add_star(ds: Dataset, repo: str, login: str, starred_at: datetime | None = None) -> FakeStar:
    """Star a repository now (or at `starred_at`), keeping its stars oldest first."""
    r = ds.repo(repo)
    if r is None:
        raise KeyError(repo)
    star = FakeStar(login, starred_at or datetime.now(UTC).replace(microsecond=0))
    if isinstance(r.stars, CompactStars):
        r.stars.add([(int(star.starred_at.timestamp()), login)])
    else:
        r.stars.append(star)
        r.stars.sort(key=lambda s: s.starred_at)
    r.updated_at = max(r.updated_at, star.starred_at)
    return star


def remove_user(ds: Dataset, login: str) -> None:
    """Delete an account, as GitHub does: the user is gone (404 / NOT_FOUND, and search
    refuses `author:` it); their pull requests stay in other people's repositories."""
    if ds.users.pop(login.lower(), None) is None:
        raise KeyError(login)


def remove_repo(ds: Dataset, full_name: str) -> None:
    """Delete a repository, as GitHub does: it and its pull requests vanish from every
    lookup and search."""
    if ds.repos.pop(full_name.lower(), None) is None:
        raise KeyError(full_name)
    key = full_name.lower()
    ds.pulls = [p for p in ds.pulls if p.repo.lower() != key]  # a new list: the index rebuilds


def iso(t: datetime | None) -> str | None:
    """GitHub's timestamp format: `2024-01-02T03:04:05Z`."""
    if t is None:
        return None
    if t.tzinfo is not UTC:
        t = t.astimezone(UTC)
    return t.replace(tzinfo=None).isoformat(timespec="seconds") + "Z"  # 10x faster than strftime


def dataset_to_json(ds: Dataset, users: Iterable[str] | None = None) -> dict[str, Any]:
    """The raw records, as `GET /_fake/dataset` serves them.

    Shape (timestamps are `YYYY-MM-DDTHH:MM:SSZ` strings or null):
    `{"seed", "anchor", "demo_users": [login],
      "users": [{id, login, type, name, bio, company, location, blog, twitter_username,
                 created_at, updated_at, social_accounts: [{provider, url}],
                 saml_enforced (organizations only)}],
      "repos": [{id, full_name, owner, name, description, language, fork, private, created_at,
                 updated_at, pushed_at, stargazers_count, starred_at: [timestamp, oldest first]}],
      "pulls": [{id, repo, number, title, body, author, author_association, state ("open" |
                 "closed"), merged, draft, created_at, updated_at, closed_at, merged_at,
                 additions, deletions, changed_files,
                 files: [{filename, status, additions, deletions, changes}]}],
      "reviews": [{id, repo, number, reviewer, state ("APPROVED" | "CHANGES_REQUESTED" |
                   "COMMENTED"), submitted_at}, oldest first],
      "memberships": [{org, login, public, role ("ADMIN" | "MEMBER")}]}` (concealed ones too:
    these are the raw records, not what a token is shown).
    With `users`, only those users' pulls (and the users and repos they involve) are included.
    """
    head, records = _dataset_parts(ds, users)
    return {**head, **{key: list(items) for key, items in records.items()}}


def dataset_json_chunks(ds: Dataset, users: Iterable[str] | None = None) -> Iterator[bytes]:
    """`dataset_to_json` as compact UTF-8 JSON, the same bytes as dumping it whole, produced
    record by record: for the `real` population the whole document as Python objects would
    take gigabytes, while one giant's `starred_at` list at a time is a few tens of megabytes."""
    head, records = _dataset_parts(ds, users)
    buffer = bytearray(_json_bytes(head)[:-1])  # without its closing brace: the records follow
    for key, items in records.items():
        buffer += f',"{key}":['.encode()
        for i, item in enumerate(items):
            buffer += b"," if i else b""
            buffer += _json_bytes(item)
            if len(buffer) >= 1 << 18:
                yield bytes(buffer)
                buffer.clear()
        buffer += b"]"
    yield bytes(buffer + b"}")


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _dataset_parts(
    ds: Dataset, users: Iterable[str] | None
) -> tuple[dict[str, Any], dict[str, Iterator[dict[str, Any]]]]:
    """The dataset's small head and its record lists, lazily (snapshots of the lists, so
    a mutation while a dump streams cannot break the iteration)."""
    wanted = None if users is None else {u.lower() for u in users}
    pulls = list(ds.pulls) if wanted is None else [p for u in wanted for p in ds.pulls_by(u)]
    repo_keys = None if wanted is None else {p.repo.lower() for p in pulls}
    head: dict[str, Any] = {"seed": ds.seed, "anchor": iso(ds.anchor), "demo_users": list(ds.demo_users)}
    user_list = [u for k, u in ds.users.items() if wanted is None or k in wanted]
    repo_list = [r for k, r in ds.repos.items() if repo_keys is None or k in repo_keys]
    reviews = [r for r in ds.reviews if wanted is None or r.reviewer.lower() in wanted]
    records: dict[str, Iterator[dict[str, Any]]] = {
        "users": (_user_json(u) for u in user_list),
        "repos": (_repo_json(r) for r in repo_list),
        "pulls": (_pull_json(p) for p in pulls),
        "reviews": (_review_json(r) for r in reviews),
        "memberships": (
            {"org": ds.users[org].login if org in ds.users else org, "login": m.login, "public": m.public,
             "role": m.role}
            for org, members in list(ds.org_members.items())
            for m in list(members)
            if wanted is None or m.login.lower() in wanted
        ),
    }  # fmt: skip
    return head, records


def _review_json(r: FakeReview) -> dict[str, Any]:
    return {
        "id": r.id,
        "repo": r.repo,
        "number": r.number,
        "reviewer": r.reviewer,
        "state": r.state,
        "submitted_at": iso(r.submitted_at),
    }


def _user_json(u: FakeUser) -> dict[str, Any]:
    return {
        "id": u.id,
        "login": u.login,
        "type": u.type,
        "name": u.name,
        "bio": u.bio,
        "company": u.company,
        "location": u.location,
        "blog": u.blog,
        "twitter_username": u.twitter_username,
        "created_at": iso(u.created_at),
        "updated_at": iso(u.updated_at),
        "social_accounts": [{"provider": s.provider, "url": s.url} for s in u.social_accounts],
        **({"saml_enforced": u.saml_enforced} if u.type == "Organization" else {}),
    }


def _repo_json(r: FakeRepo) -> dict[str, Any]:
    return {
        "id": r.id,
        "full_name": r.full_name,
        "owner": r.owner,
        "name": r.name,
        "description": r.description,
        "language": r.language,
        "fork": r.fork,
        "private": r.private,
        "created_at": iso(r.created_at),
        "updated_at": iso(r.updated_at),
        "pushed_at": iso(r.pushed_at),
        "stargazers_count": r.stargazers_count,
        "starred_at": _starred_at(r),
    }


def _starred_at(r: FakeRepo) -> Sequence[str | None]:
    if isinstance(r.stars, CompactStars):
        return r.stars.iso_times()
    return [iso(s.starred_at) for s in r.stars]


def _pull_json(p: FakePull) -> dict[str, Any]:
    return {
        "id": p.id,
        "repo": p.repo,
        "number": p.number,
        "title": p.title,
        "body": p.body,
        "author": p.author,
        "author_association": p.author_association,
        "state": p.state,
        "merged": p.merged,
        "draft": p.draft,
        "created_at": iso(p.created_at),
        "updated_at": iso(p.updated_at),
        "closed_at": iso(p.closed_at),
        "merged_at": iso(p.merged_at),
        "additions": p.additions,
        "deletions": p.deletions,
        "changed_files": p.changed_files,
        "files": [
            {"filename": f.filename, "status": f.status, "additions": f.additions, "deletions": f.deletions,
             "changes": f.changes}
            for f in p.files
        ],
    }  # fmt: skip


@dataclass(frozen=True)
class DatasetSummary:
    """Counts the CLI prints at start-up."""

    users: int
    repos: int
    pulls: int

    @classmethod
    def of(cls, ds: Dataset) -> DatasetSummary:
        return cls(len(ds.users), len(ds.repos), len(ds.pulls))
