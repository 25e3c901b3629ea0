"""The `real` population: a deterministic crowd shaped like GitHub, beside the demo users.

Why: the demo users are edge cases on repositories of at most a few thousand stars, and a
client that is fast and correct there can still fall over on GitHub, where a handful of
repositories have hundreds of thousands of stars, most people have a few pull requests and
a few maintainers have tens of thousands. `build_dataset(population="real")` (CLI:
`gitbrag-fake-github --population real`) adds, on its own random stream and id range so
that no other record changes:

- `GIANTS`: six repositories of 156k-412k stars, created 8-12 years ago, now gaining 28-55
  stars a day; `MID_SIZE` repositories of 5k-40k stars; `TAIL` repositories with a
  power-law few (most have none or a handful);
- `typical-tina` (~300 PRs in 60 repositories, two of them giants), `maintainer-max`
  (~20,000 PRs over 12 years in 400 repositories, some with hundreds of files) and
  `ORDINARY` users `real-0001`...: dormant (nothing for 5 years), occasional (a handful of
  PRs) and regular contributors with power-law PR counts, who pick repositories by
  popularity, so every giant has hundreds of contributors.

Stars are `CompactStars` (sorted epoch seconds, stargazers derived from the index), made
straight from random numbers: building the ~2.3 million stars takes about a second.
"""

from __future__ import annotations

import itertools
import math
import random
from datetime import datetime

from gitbrag.fakegithub.dataset import (
    _LANGUAGES,
    DAY,
    _Builder,
    _contribute,
    _description,
    _files,
    _pick_size,
    _spread,
)
from gitbrag.fakegithub.records import CompactStars, Dataset, FakeFile, FakePull, FakeRepo

# (owner, name, stars, stars a day over the last year, age in years)
GIANTS: tuple[tuple[str, str, int, int, float], ...] = (
    ("colossus", "colossus", 412_000, 55, 11.8),
    ("titan-labs", "titan", 331_000, 48, 11.1),
    ("megaframe", "megaframe", 263_000, 42, 10.4),
    ("orbit-dev", "orbit", 214_000, 38, 9.6),
    ("quasar-oss", "quasar", 187_000, 33, 8.9),
    ("nebula-foundation", "nebula", 156_000, 28, 8.2),
)
POPULAR = 5000  # stars: giants and mid-size repositories, whose creation dates `_assign` protects
MID_SIZE = 36  # 5k-40k stars, log-uniform
TAIL = 1600  # log(stars) exponential: median ~2, 4% over 100, under 1% over 1,000
ORDINARY = 1000  # real-0001 ... real-1000
TINA, MAX = "typical-tina", "maintainer-max"
MAX_ORG = "max-collective"
MAX_PULLS, MAX_BIG_PULLS = 20_000, 60  # the big ones touch 100-900 files each
_FIRST_ID = 100_000_000  # users and repos: above every other builder's ids
_FIRST_PULL_ID = 110_000_000
_MID_ORGS = tuple(f"{w}-works" for w in ("amber", "birch", "cobalt", "delta", "ember", "fjord", "garnet",
                                          "harbor", "indigo", "juniper", "krypton", "lumen"))  # fmt: skip
_TAIL_ORGS = tuple(f"crew-{i:02d}" for i in range(80))
_WORDS = ("ray", "mill", "loom", "fern", "kite", "node", "pike", "reef", "silo", "tide", "vane", "yarn")

FilePool = dict[str, list[list[FakeFile]]]  # language -> ready-made file lists, shared between PRs


def add_real_population(ds: Dataset) -> None:
    """Add the population to `ds` (built by `build_dataset`, whose anchor and seed it reuses)."""
    b = _Builder(random.Random(f"{ds.seed}/real"), ds, next_id=_FIRST_ID)
    start = len(ds.pulls)
    for org in (*(g[0] for g in GIANTS), *_MID_ORGS, *_TAIL_ORGS, MAX_ORG):
        b.user(
            org, type="Organization", age_days=b.rng.uniform(3000, 4500), name=org.replace("-", " ").title()
        )
    giants, mids, tail = _shared_repos(b)
    pool = _file_pool(b.rng)
    _tina(b, giants, mids, tail)
    _max(b, giants, mids, tail, pool)
    _ordinary(b, [*giants, *mids, *tail], pool)
    b.finish(ds.pulls[start:], first_id=_FIRST_PULL_ID)


def _shared_repos(b: _Builder) -> tuple[list[FakeRepo], list[FakeRepo], list[FakeRepo]]:
    """The repositories everyone contributes to: giants, mid-size ones and the long tail."""
    rng = b.rng
    giants = [_repo(b, o, n, age_days=years * 365, stars=s, per_day=d) for o, n, s, d, years in GIANTS]
    mids = []
    for i in range(MID_SIZE):
        stars = int(5000 * 8 ** rng.random())
        owner, name = _MID_ORGS[i % len(_MID_ORGS)], f"{rng.choice(_WORDS)}-{i:02d}"
        age, per_day = rng.uniform(1100, 3600), stars * rng.uniform(0.06, 0.25) / 365
        mids.append(_repo(b, owner, name, age_days=age, stars=stars, per_day=per_day))
    tail = [
        _small_repo(b, _TAIL_ORGS[i % len(_TAIL_ORGS)], f"{rng.choice(_WORDS)}-{rng.choice(_WORDS)}-{i:04d}",
                    age_days=rng.uniform(60, 4000))
        for i in range(TAIL)
    ]  # fmt: skip
    return giants, mids, tail


def _small_repo(b: _Builder, owner: str, name: str, *, age_days: float) -> FakeRepo:
    stars = min(4999, int(math.exp(b.rng.expovariate(0.7))) - 1)
    return _repo(b, owner, name, age_days=age_days, stars=stars, per_day=stars * b.rng.uniform(0, 0.3) / 365)


def _repo(b: _Builder, owner: str, name: str, *, age_days: float, stars: int, per_day: float) -> FakeRepo:
    rng = b.rng
    language = rng.choice(_LANGUAGES)
    created = b.between(age_days * 0.97, age_days)
    r = FakeRepo(
        b.new_id(), owner, name, _description(rng, name, language), language, created, created, created
    )
    r.stars = CompactStars(_star_times(rng, created, b.ds.anchor, stars, per_day), salt=r.id)
    key = r.full_name.lower()
    if key in b.ds.repos:
        raise ValueError(f"duplicate repository {r.full_name}")
    b.ds.repos[key] = r
    b.made.append(r)
    return r


def _star_times(
    rng: random.Random, created: datetime, anchor: datetime, total: int, per_day: float
) -> list[int]:
    """`total` sorted epoch seconds: `per_day` a day over the last year, the rest over the years
    before, denser towards the end (popular repositories keep getting more popular)."""
    end, start = int(anchor.timestamp()), int(created.timestamp())
    recent_span = min(365 * DAY, end - start)
    recent = min(total, int(per_day * recent_span / DAY))
    older_span = end - recent_span - start
    r = rng.random
    times = [int(start + older_span * (1 - r() ** 0.6)) for _ in range(total - recent)]
    times += [int(end - 60 - (recent_span - 60) * r()) for _ in range(recent)]
    times.sort()
    return times


def _file_pool(rng: random.Random) -> FilePool:
    """Ready-made file lists per language: tens of thousands of PRs share them, as in `_extras`."""
    return {lang: [_files(rng, lang, _pick_size(rng)) for _ in range(40)] for lang in _LANGUAGES}


def _tina(b: _Builder, giants: list[FakeRepo], mids: list[FakeRepo], tail: list[FakeRepo]) -> None:
    """A typical active developer: ~300 PRs in 60 repositories over six years, two of them giants."""
    b.user(TINA, age_days=2600, name="Tina Typical", bio="Fixing things I use.", location="Leeds")
    own = [_small_repo(b, TINA, f"tina-{w}", age_days=b.rng.uniform(300, 2400)) for w in _WORDS[:6]]
    plan = [(r, "OWNER") for r in own] + [(g, "CONTRIBUTOR") for g in giants[1:3]]
    plan += [(r, "CONTRIBUTOR") for r in b.rng.sample(mids, 10) + b.rng.sample(tail, 42)]
    _contribute(b, TINA, plan, _spread(b, 300, 0.5, 2300))


def _max(
    b: _Builder, giants: list[FakeRepo], mids: list[FakeRepo], tail: list[FakeRepo], pool: FilePool
) -> None:
    """A maintainer: 20,000 PRs over 12 years in 400 repositories, most in their own and their org's."""
    rng = b.rng
    b.user(
        MAX, age_days=4600, name="Max Maintainer", bio="I review more than I sleep.", company=f"@{MAX_ORG}"
    )
    own = [_small_repo(b, MAX, f"max-{i:02d}", age_days=rng.uniform(1000, 4300)) for i in range(25)]
    org = [_small_repo(b, MAX_ORG, f"{rng.choice(_WORDS)}-{i:02d}", age_days=rng.uniform(800, 4300))
           for i in range(60)]  # fmt: skip
    plan = [(giants[3], "MEMBER")] + [(r, "MEMBER") for r in org] + [(r, "OWNER") for r in own]
    plan += [(r, "CONTRIBUTOR") for r in rng.sample(mids, 5) + rng.sample(tail, 309)]
    pulls = _assign(b, MAX, plan, _spread(b, MAX_PULLS, 0.05, 12 * 365), pool, exponent=1.1)
    for p in rng.sample(pulls, MAX_BIG_PULLS):
        p.files = _files(rng, b.ds.repos[p.repo.lower()].language, "massive", n_files=rng.randint(100, 900))


def _ordinary(b: _Builder, shared: list[FakeRepo], pool: FilePool) -> None:
    """`real-0001`...: who contributes where follows popularity (stars ** 0.6), how much a power law."""
    rng = b.rng
    cum = list(itertools.accumulate((len(r.stars) + 1) ** 0.6 for r in shared))
    indices = range(len(shared))
    for i in range(1, ORDINARY + 1):
        login = f"real-{i:04d}"
        kind = rng.choices(("dormant", "occasional", "regular", "silent"), (0.12, 0.35, 0.5, 0.03))[0]
        age = rng.uniform(2200, 4400) if kind == "dormant" else rng.uniform(200, 4300)
        b.user(login, age_days=age, name=f"Real User {i}", location=rng.choice((None, "Earth", "Remote")))
        n = {"dormant": 3 + int(40 * rng.random() ** 3), "occasional": rng.randint(1, 6),
             "regular": min(3000, int(8 / (1 - rng.random()) ** 0.9)), "silent": 0}[kind]  # fmt: skip
        if n == 0:
            continue
        newest = 5 * 365 + 5 if kind == "dormant" else rng.choice((0.2, 0.2, 0.2, rng.uniform(1, 1400)))
        oldest = max(age * 0.88, newest + 30)
        wanted = 1 + int(n**0.55)
        picks = [shared[k] for k in dict.fromkeys(rng.choices(indices, cum_weights=cum, k=2 * wanted))][
            :wanted
        ]
        own_count = rng.choices((0, 1, 2, 3), (0.4, 0.3, 0.2, 0.1))[0]
        own = [_small_repo(b, login, f"{rng.choice(_WORDS)}-{k}", age_days=oldest) for k in range(own_count)]
        plan = [(r, "CONTRIBUTOR") for r in picks] + [(r, "OWNER") for r in own]
        rng.shuffle(plan)
        _assign(b, login, plan, _spread(b, n, newest, oldest), pool, exponent=1.0)


def _assign(
    b: _Builder,
    author: str,
    plan: list[tuple[FakeRepo, str]],
    times: list[datetime],
    pool: FilePool,
    exponent: float,
) -> list[FakePull]:
    """Like `_contribute`, but with Zipf weights over `plan` (real people concentrate on a few
    repositories) and pooled files (so 20,000 PRs build in well under a second). A PR that would
    predate a popular repository goes to the author's oldest one instead, so giants keep their age."""
    rng = b.rng
    oldest = min(range(len(plan)), key=lambda k: plan[k][0].created_at)
    weights = [1 / (k + 1) ** exponent for k in range(len(plan))]
    chosen = list(range(min(len(plan), len(times))))
    chosen += rng.choices(range(len(plan)), weights, k=len(times) - len(chosen))
    rng.shuffle(chosen)
    seen: set[int] = set()
    pulls = []
    for created, k in zip(sorted(times), chosen, strict=True):
        if plan[k][0].created_at >= created and len(plan[k][0].stars) >= POPULAR:
            k = oldest  # `finish` would move the popular repository's creation back to this PR: keep it
        repo, role = plan[k]
        assoc = "FIRST_TIME_CONTRIBUTOR" if role == "CONTRIBUTOR" and k not in seen else role
        seen.add(k)
        files = rng.choice(pool[repo.language or _LANGUAGES[0]])
        pulls.append(b.pull(repo, author, created, assoc, files=files))
    return pulls
