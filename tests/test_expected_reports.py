"""Published reports equal what the fake GitHub's raw dataset implies.

The expectation here is computed from `GET /_fake/dataset` alone, with the report
rules written out again independently of `gitbrag.report.build` and of the collector:
if either drifts from the rules (a PR dropped, stars counted per PR, a window off
by one kind of date), the numbers stop matching.

The site is produced the way cron does it: a separate `gitbrag-refresh --once`
process against the fake served over HTTP, with `GITBRAG_PERIODS`, for the demo users and
two realism users (huge-hugo's vendored files, dormant-dora's years older than the star
histories). Every period on the site is checked: the rolling ones, each calendar year with
activity and each configured period; with authored and generated lines, the timeline, the
previous period and the reviews, each rule stated again here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from gitbrag.fakegithub.dataset import build_dataset
from gitbrag.fakegithub.server import FakeGitHubServer

PERIODS = ("1_year", "2_years", "5_years", "all_time")
ROLLING_DAYS = {"1_year": 365, "2_years": 730, "5_years": 1825}
EPOCH = datetime(2008, 1, 1, tzinfo=UTC)
MICRO = timedelta(microseconds=1)
# The realism users checked beside the demo users (not private-priya: her private and SAML
# pull requests are `test_private_and_hidden`'s).
EXTRA_USERS = ("huge-hugo", "dormant-dora")

# Linguist's generated and vendored paths, stated again (the dataset uses `vendor/`).
GENERATED_NAMES = {
    "package-lock.json", "npm-shrinkwrap.json", "yarn.lock", "pnpm-lock.yaml", "bun.lockb", "poetry.lock",
    "pdm.lock", "pipfile.lock", "uv.lock", "cargo.lock", "go.sum", "gopkg.lock", "glide.lock",
    "composer.lock", "gemfile.lock", "mix.lock", "flake.lock", "podfile.lock", "packages.lock.json",
    "pubspec.lock", ".terraform.lock.hcl",
}  # fmt: skip
GENERATED_ENDINGS = (".min.js", ".min.css", "-min.js", ".js.map", ".css.map", ".pb.go", "_pb2.py",
                     "_pb2_grpc.py", ".pb.cc", ".pb.h", ".designer.cs", ".designer.vb", ".feature.cs",
                     ".g.dart", ".freezed.dart")  # fmt: skip
VENDORED = {"node_modules", "vendor", "vendors", "bower_components", "dist", "third_party", "thirdparty",
            "3rdparty", "Godeps", "Pods", ".idea"}  # fmt: skip


def generated(path: str) -> bool:
    *folders, name = path.split("/")
    return (
        name.lower() in GENERATED_NAMES
        or name.lower().endswith(GENERATED_ENDINGS)
        or bool(VENDORED & set(folders))
    )


# The language rule, stated again for every file name the dataset uses (GitHub Linguist names).
LANGUAGE_BY_SUFFIX = {
    ".py": "Python", ".ts": "TypeScript", ".go": "Go", ".rs": "Rust", ".java": "Java", ".c": "C",
    ".rb": "Ruby", ".css": "CSS", ".html": "HTML", ".md": "Markdown", ".yml": "YAML", ".json": "JSON",
    "Makefile": "Makefile", "Dockerfile": "Dockerfile", "LICENSE": None,
    # the demo's lockfiles and built files (`DEMO_GENERATED_FILES`)
    ".js": "JavaScript", "Cargo.lock": "TOML", "yarn.lock": None, "poetry.lock": None,
}  # fmt: skip


def language(path: str) -> str | None:
    name = path.rsplit("/", 1)[-1]
    if name in LANGUAGE_BY_SUFFIX:
        return LANGUAGE_BY_SUFFIX[name]
    suffix = "." + name.rsplit(".", 1)[-1]
    assert suffix in LANGUAGE_BY_SUFFIX, f"dataset uses {path!r}: state its language in this test"
    return LANGUAGE_BY_SUFFIX[suffix]


def size(lines: int) -> str:
    for limit, label in ((1, "One Liner"), (100, "Small"), (500, "Medium"), (1500, "Large"), (5000, "Huge")):
        if lines <= limit:
            return label
    return "Massive"


def ts(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value.replace("Z", "+00:00"))


def at(value: str) -> datetime:
    moment = ts(value)
    assert moment is not None
    return moment


def reportable(data: dict[str, Any], login: str) -> list[dict[str, Any]]:
    """The user's pull requests a report may count: never closed-unmerged. Work a report must
    not show (private repositories in the default mode, what GitHub hides) is taken out of
    `data` by the caller, as `test_github_realism.without` does."""
    return [
        p for p in data["pulls"]
        if p["author"].lower() == login.lower() and not (p["state"] == "closed" and not p["merged"])
    ]  # fmt: skip


FILES_LISTED = 3000  # GitHub lists no more files of a pull request; its totals count them all


def authored(p: dict[str, Any]) -> tuple[int, int]:
    """Lines outside generated files; those of files GitHub does not list count as authored."""
    made = [f for f in p["files"][:FILES_LISTED] if generated(f["filename"])]
    return (
        max(p["additions"] - sum(f["additions"] for f in made), 0),
        max(p["deletions"] - sum(f["deletions"] for f in made), 0),
    )


def expected_report(
    data: dict[str, Any],
    login: str,
    since: datetime,
    until: datetime,
    period: str,
    now: datetime | None = None,
    zone: str = "UTC",
    left_out: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """The report of `login` for `period` over [since, until], made at `now` (the end of a
    rolling window, when not given), its calendar that of `zone`, without the languages
    `left_out` in its language chart."""
    now = now or until
    repos = {r["full_name"]: r for r in data["repos"]}

    def in_window(t: datetime | None) -> bool:
        return t is not None and since <= t <= until

    everything = reportable(data, login)
    prs = [p for p in everything if in_window(ts(p["created_at"])) or in_window(ts(p["merged_at"]))]
    stars_known = period == "all_time" or since >= now - timedelta(days=1825)
    by_repo: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for p in prs:
        by_repo[p["repo"]].append(p)

    def star_increase(name: str) -> int | None:
        if period == "all_time":
            return int(repos[name]["stargazers_count"])
        if not stars_known:
            return None
        return sum(1 for s in repos[name]["starred_at"] if in_window(ts(s)))

    lines: Counter[str] = Counter()
    for p in prs:
        for f in p["files"][:FILES_LISTED]:
            lang = language(f["filename"])
            if lang and lang not in left_out and not generated(f["filename"]):
                lines[lang] += f["additions"] + f["deletions"]
    sizes = Counter(size(sum(authored(p))) for p in prs)
    mine = authored_totals(prs)
    roles = {
        name: max(ps, key=lambda p: p["created_at"])["author_association"] for name, ps in by_repo.items()
    }
    return {
        "total_prs": len(prs),
        "merged_count": sum(1 for p in prs if p["merged"]),
        "open_count": sum(1 for p in prs if p["state"] == "open"),
        "repo_count": len(by_repo),
        "total_additions": sum(p["additions"] for p in prs),
        "total_deletions": sum(p["deletions"] for p in prs),
        "authored_additions": mine[0],
        "authored_deletions": mine[1],
        "generated_additions": sum(p["additions"] for p in prs) - mine[0],
        "generated_deletions": sum(p["deletions"] for p in prs) - mine[1],
        "total_changed_files": sum(p["changed_files"] for p in prs),
        "total_star_increase": sum(star_increase(n) or 0 for n in by_repo) if stars_known else None,
        "size_distribution": {
            k: sizes.get(k, 0) for k in ("One Liner", "Small", "Medium", "Large", "Huge", "Massive")
        },
        "roles": dict(Counter(roles.values())),
        "languages": dict(lines.most_common()),
        "repositories": {
            name: {
                "pr_numbers": sorted(p["number"] for p in ps),
                "star_increase": star_increase(name),
                "stars": repos[name]["stargazers_count"],
                "role": roles[name],
                "description": repos[name]["description"],
                "first_contribution_at": min(at(p["created_at"]) for p in everything if p["repo"] == name),
                "authored": {p["number"]: authored(p) for p in ps},
            }
            for name, ps in by_repo.items()
        },
        "timeline": expected_timeline(prs, period, since, until, zone),
        "previous": expected_previous(data, login, period, since, now, zone),
        "reviews": expected_reviews(contributions(data, login, now), since, until),
    }


def authored_totals(prs: list[dict[str, Any]]) -> tuple[int, int]:
    pairs = [authored(p) for p in prs]
    return sum(a for a, _ in pairs), sum(d for _, d in pairs)


# --- periods, stated again -------------------------------------------------------------------


def _month(moment: datetime, months: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 + months
    return moment.replace(year=index // 12, month=index % 12 + 1, day=1)


def tz(zone: str) -> ZoneInfo:
    return ZoneInfo(zone)


def local_days(period: str) -> tuple[date, date] | None:
    """The first day of a calendar period and the day after its last; None for a rolling one."""
    if period in ROLLING_DAYS or period == "all_time":
        return None
    if ".." in period:
        first, last = (date.fromisoformat(d) for d in period.split(".."))
        return first, last + timedelta(days=1)
    year, _, part = period.partition("-")
    if not part:
        return date(int(year), 1, 1), date(int(year) + 1, 1, 1)
    months = 6 if part[0] == "H" else 3
    first = date(int(year), (int(part[1]) - 1) * months + 1, 1)
    after = first.month - 1 + months
    return first, date(first.year + after // 12, after % 12 + 1, 1)


def midnight(day: date, zone: str) -> datetime:
    """The UTC instant `day` begins at in `zone`."""
    return datetime(day.year, day.month, day.day, tzinfo=tz(zone)).astimezone(UTC)


def bounds(period: str, zone: str = "UTC") -> tuple[datetime, datetime] | None:
    """[start, end) of a calendar period as UTC instants, its days those of `zone`; None for a
    rolling one."""
    days = local_days(period)
    return None if days is None else (midnight(days[0], zone), midnight(days[1], zone))


def window(period: str, now: datetime, zone: str = "UTC") -> tuple[datetime, datetime]:
    if period == "all_time":
        return EPOCH, now
    if period in ROLLING_DAYS:
        return now - timedelta(days=ROLLING_DAYS[period]), now
    start, end = bounds(period, zone)  # type: ignore[misc]
    return start, min(end - MICRO, now)


def previous_window(
    period: str, since: datetime, now: datetime, zone: str = "UTC"
) -> tuple[datetime, datetime] | None:
    if period == "all_time":
        return None
    if period in ROLLING_DAYS:
        return since - timedelta(days=ROLLING_DAYS[period]), since - MICRO
    first, after = local_days(period)  # type: ignore[misc]
    if ".." in period:
        earlier = first - (after - first)
    elif "-" not in period:
        earlier = first.replace(year=first.year - 1)
    else:
        back = first.month - 1 - (6 if "-H" in period else 3)
        earlier = date(first.year + back // 12, back % 12 + 1, 1)
    before, start, end = midnight(earlier, zone), midnight(first, zone), midnight(after, zone)
    if before < EPOCH:
        return None
    whole = start - MICRO
    return (before, whole) if end <= now else (before, min(before + (now - start), whole))


def weekly(period: str) -> bool:
    found = bounds(period)
    if found is None:
        return False
    start, end = found
    month = _month(start.replace(day=1), 6)
    last_day = (_month(month, 1) - timedelta(days=1)).day
    return end < month.replace(day=min(start.day, last_day))


def expected_timeline(
    prs: list[dict[str, Any]], period: str, since: datetime, until: datetime, zone: str = "UTC"
) -> list[tuple[str, str | None, int, int]]:
    """[(month, week, opened, merged)] from the window's start (all time: the first pull
    request's), one per month, or per ISO week (Mondays) for periods under six months, each
    beginning at midnight in `zone` and named by its calendar there."""
    created = [t for p in prs if (t := ts(p["created_at"])) and since <= t <= until]
    merged = [t for p in prs if (t := ts(p["merged_at"])) and since <= t <= until]
    start = since
    if period == "all_time":
        if not prs:
            return []
        start = min(at(p["created_at"]) for p in prs)
    per_week = weekly(period)
    days = [start.astimezone(tz(zone)).date()]  # the local day each bucket starts on
    starts = [start]
    while True:
        day = days[-1]
        nxt = (
            day + timedelta(days=7 - day.weekday())
            if per_week
            else date(day.year + day.month // 12, day.month % 12 + 1, 1)
        )
        if midnight(nxt, zone) > until:
            break
        days.append(nxt)
        starts.append(midnight(nxt, zone))
    ends = [*starts[1:], until + MICRO]
    rows = []
    for day, begin, end in zip(days, starts, ends, strict=True):
        week = "{}-W{:02d}".format(*day.isocalendar()[:2]) if per_week else None
        opened = sum(1 for t in created if begin <= t < end)
        rows.append((f"{day:%Y-%m}", week, opened, sum(1 for t in merged if begin <= t < end)))
    return rows


def expected_previous(
    data: dict[str, Any], login: str, period: str, since: datetime, now: datetime, zone: str = "UTC"
) -> dict[str, Any] | None:
    """The previous window's headline numbers; None for all time or when it starts before the
    user's first pull request."""
    found = previous_window(period, since, now, zone)
    everything = reportable(data, login)
    first = min((at(p["created_at"]) for p in everything), default=None)
    if found is None or first is None or found[0] < first:
        return None
    begin, end = found
    inside = [
        p
        for p in everything
        if any(t and begin <= t <= end for t in map(ts, (p["created_at"], p["merged_at"])))
    ]
    repos = {r["full_name"]: r for r in data["repos"]}
    names = {p["repo"] for p in inside}
    stars = None
    if begin >= now - timedelta(days=1825):
        stars = sum(1 for n in names for s in repos[n]["starred_at"] if begin <= at(s) <= end)
    mine = authored_totals(inside)
    reviews = expected_reviews(contributions(data, login, now), begin, end)
    return {
        "total_prs": len(inside),
        "merged_count": sum(1 for p in inside if p["merged"]),
        "repo_count": len(names),
        "authored_additions": mine[0],
        "authored_deletions": mine[1],
        "total_star_increase": stars,
        "reviews": reviews["total"],
    }


# --- reviews, as GitHub's contributions data lists them ------------------------------------------


def spans(now: datetime) -> list[tuple[datetime, datetime]]:
    """The spans gitbrag asks GitHub's contributions data for: at most 46, riding along with a
    search page for free; calendar quarters for the most recent years that fit (each year of
    quarters takes 3 spans more than a year), calendar years before them."""
    years = now.year - EPOCH.year + 1
    quarter_years = min(years, (46 - years) // 3)
    found, start = [], EPOCH
    while start <= now:
        end = _month(start, 3 if start.year > now.year - quarter_years else 12)
        found.append((start, min(end - timedelta(seconds=1), now)))
        start = end
    return found


def contributions(data: dict[str, Any], login: str, now: datetime) -> list[tuple[str, int, datetime]]:
    """What gitbrag can read: per span it asks (`spans`), the user's latest review
    of each pull request, in repositories a public report may name (not private, not behind
    SAML, which the test token is not authorised for)."""
    saml = {u["login"].lower() for u in data["users"] if u.get("saml_enforced")}
    private = {r["full_name"] for r in data["repos"] if r["private"]}
    pulls = {(p["repo"], p["number"]) for p in data["pulls"]}
    mine = [
        r for r in data.get("reviews", [])
        if r["reviewer"].lower() == login.lower() and r["repo"] not in private
        and r["repo"].split("/")[0].lower() not in saml and (r["repo"], r["number"]) in pulls
    ]  # fmt: skip
    found = []
    for begin, end in spans(now):
        latest: dict[tuple[str, int], datetime] = {}
        for r in mine:
            t = ts(r["submitted_at"])
            assert t is not None
            if begin <= t <= end and t >= latest.get((r["repo"], r["number"]), t):
                latest[(r["repo"], r["number"])] = t
        found += [(repo, number, t) for (repo, number), t in latest.items()]
    return found


def expected_reviews(
    found: list[tuple[str, int, datetime]], since: datetime, until: datetime
) -> dict[str, Any]:
    reviewed = {(repo, number) for repo, number, t in found if since <= t <= until}
    per_repo = Counter(repo for repo, _ in reviewed)
    return {
        "total": len(reviewed),
        "repositories": sorted(per_repo.items(), key=lambda kv: (-kv[1], kv[0].lower())),
    }


def expected_periods(
    data: dict[str, Any], login: str, now: datetime, configured: list[str], zone: str = "UTC"
) -> list[str]:
    """The rolling periods, every calendar year with activity (newest first, years of `zone`),
    then the configured periods that have begun."""
    moments = [t for p in reportable(data, login) for t in map(ts, (p["created_at"], p["merged_at"])) if t]
    moments += [t for _, _, t in contributions(data, login, now)]
    years = {t.astimezone(tz(zone)).year for t in moments}
    later = [p for p in configured if bounds(p, zone)[0] <= now and not p.isdigit()]  # type: ignore[index]
    extra_years = {int(p) for p in configured if p.isdigit() and bounds(p, zone)[0] <= now}  # type: ignore[index]
    ordered_later = sorted(later, key=lambda p: bounds(p), reverse=True)  # type: ignore[arg-type, return-value]
    return [*PERIODS, *(str(y) for y in sorted(years | extra_years, reverse=True)), *ordered_later]


def actual_report(report: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "total_prs", "merged_count", "open_count", "repo_count", "total_additions", "total_deletions",
        "authored_additions", "authored_deletions", "generated_additions", "generated_deletions",
        "total_changed_files", "total_star_increase", "size_distribution", "roles",
    )  # fmt: skip
    top = len(report["languages"])
    previous = report["previous"]
    return {
        **{k: report[k] for k in keys},
        "languages": {s["language"]: s["lines"] for s in report["languages"]},
        "languages_top": top,
        "repositories": {
            r["name"]: {
                "pr_numbers": sorted(p["number"] for p in r["prs"]),
                "star_increase": r["star_increase"],
                "stars": r["stars"],
                "role": r["role"],
                "description": r["description"],
                "first_contribution_at": ts(r["first_contribution_at"]),
                "authored": {
                    p["number"]: (p["authored_additions"], p["authored_deletions"]) for p in r["prs"]
                },
            }
            for r in report["repositories"]
        },
        "timeline": [(t["month"], t["week"], t["opened"], t["merged"]) for t in report["timeline"]],
        "previous": None if previous is None else {k: v for k, v in previous.items() if k != "label"},
        "reviews": {
            "total": report["reviews"]["total"],
            "repositories": [(r["name"], r["count"]) for r in report["reviews"]["repositories"]],
        },
    }


def configured_periods(now: datetime) -> list[str]:
    """`GITBRAG_PERIODS` for the run: a half, a quarter (running early in a year) and a range."""
    year = now.year
    return [f"{year - 1}-H2", f"{year}-Q1", f"{year - 2}-03-01..{year - 2}-08-31"]


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, Any], list[str]]]:
    dataset = build_dataset()
    work = tmp_path_factory.mktemp("cron")
    users = [*dataset.demo_users, *EXTRA_USERS]
    with FakeGitHubServer(dataset) as fake:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GITBRAG_", "GITHUB_"))}
        env |= {
            "GITHUB_TOKEN": "test-token",
            "GITBRAG_GITHUB_API_URL": fake.url,
            "GITBRAG_USERS": ",".join(users),
            "GITBRAG_PERIODS": ",".join(configured_periods(datetime.now(UTC))),
        }
        result = subprocess.run(
            [str(Path(sys.executable).with_name("gitbrag-refresh")), "--once"],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        # Counted in the reports the store tracks: the four rolling periods of each user.
        assert result.stdout.strip().splitlines()[-1] == f"refreshed={4 * len(users)} skipped=0 failed=0"
        data = httpx.get(fake.url + "/_fake/dataset", timeout=60).json()
    yield work / "site", data, users


def test_every_user_and_period_matches_the_dataset(published: tuple[Path, dict[str, Any], list[str]]) -> None:
    """The rolling periods, every calendar year with activity and every `GITBRAG_PERIODS`
    entry: a page, report.json and brag.md each, with the numbers the dataset implies."""
    site, data, users = published
    checked = 0
    for login in users:
        folder = site / login.lower()
        first = json.loads((folder / "1_year" / "report.json").read_text())
        now = ts(first["generated_at"])
        assert now is not None
        periods = expected_periods(data, login, now, configured_periods(now))
        found = sorted(d.name for d in folder.iterdir() if (d / "report.json").is_file())
        assert found == sorted(periods), login
        for period in periods:
            for name in ("index.html", "report.json", "brag.md"):
                assert (folder / period / name).is_file(), (login, period, name)
            report = json.loads((folder / period / "report.json").read_text())
            assert (ts(report["since"]), ts(report["until"])) == window(period, now), (login, period)
            expected = expected_report(data, login, *window(period, now), period, now)
            actual = actual_report(report)
            top = actual.pop("languages_top")
            expected_languages = dict(Counter(expected.pop("languages")).most_common(top))
            assert actual.pop("languages") == expected_languages, (login, period)
            assert actual == expected, (login, period)
            checked += 1
    assert checked > 4 * len(users) + 20  # the years and configured periods were checked too


def test_the_truth_test_sees_every_new_rule_at_work(
    published: tuple[Path, dict[str, Any], list[str]],
) -> None:
    """The dataset exercises what the rules above restate, so none of them holds vacuously."""
    site, _, _ = published

    def report(login: str, period: str) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads((site / login / period / "report.json").read_text())
        return loaded

    hugo = report("huge-hugo", "all_time")
    assert hugo["generated_additions"] > 3000 and hugo["authored_additions"] < hugo["total_additions"]
    dora = [report("dormant-dora", d.name) for d in (site / "dormant-dora").iterdir() if d.name.isdigit()]
    assert any(r["total_star_increase"] is None and r["total_prs"] for r in dora)
    mona = report("mona-lisa", "1_year")
    assert mona["reviews"]["total"] > 50 and mona["previous"] is not None and mona["timeline"]
    assert report("mona-lisa", "all_time")["previous"] is None
    assert report("zero-zoe", "1_year")["reviews"] == {"total": 0, "repositories": []}
    weekly = report("mona-lisa", configured_periods(ts(mona["generated_at"]))[1])  # type: ignore[arg-type]
    assert weekly["timeline_unit"] == "week" and all(t["week"] for t in weekly["timeline"])


def test_prolific_user_gets_every_pr_beyond_the_search_cap(
    published: tuple[Path, dict[str, Any], list[str]],
) -> None:
    site, data, _ = published
    report = json.loads((site / "prolific-pat" / "1_year" / "report.json").read_text())
    assert report["total_prs"] > 1000
    everything = json.loads((site / "prolific-pat" / "all_time" / "report.json").read_text())
    authored = [p for p in data["pulls"] if p["author"] == "prolific-pat"]
    kept = [p for p in authored if not (p["state"] == "closed" and not p["merged"])]
    assert everything["total_prs"] == len(kept) > 1000


def test_star_increase_counts_each_repository_once(published: tuple[Path, dict[str, Any], list[str]]) -> None:
    site, _, _ = published
    report = json.loads((site / "steady-sam" / "1_year" / "report.json").read_text())
    rocket = next(r for r in report["repositories"] if r["name"] == "star-rocket/rocket")
    assert rocket["star_increase"] > 1000
    assert len(rocket["prs"]) > 1
    assert report["total_star_increase"] == sum(r["star_increase"] for r in report["repositories"])


def test_user_without_prs_gets_a_report(published: tuple[Path, dict[str, Any], list[str]]) -> None:
    site, _, _ = published
    report = json.loads((site / "zero-zoe" / "1_year" / "report.json").read_text())
    assert report["total_prs"] == 0 and report["repositories"] == []
    assert (site / "zero-zoe" / "index.html").is_file()


def test_every_published_report_matches_the_published_schema(
    published: tuple[Path, dict[str, Any], list[str]],
) -> None:
    """docs/report.schema.json holds every report.json this cron run published, each saying
    its format version."""
    from tests.test_docs import check_reports

    site, _, users = published
    assert check_reports(site) >= 4 * len(users)
