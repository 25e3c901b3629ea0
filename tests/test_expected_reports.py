"""Published reports equal what the fake GitHub's raw dataset implies.

The expectation here is computed from `GET /_fake/dataset` alone, with the report
rules written out again independently of `gitbrag.report` and of the collector:
if either drifts from the rules (a PR dropped, stars counted per PR, a window off
by one kind of date), the numbers stop matching.

The site is produced the way cron does it: a separate `gitbrag-refresh --once`
process against the fake served over HTTP.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from gitbrag.fakegithub.dataset import build_dataset
from gitbrag.fakegithub.server import FakeGitHubServer

PERIODS = ("1_year", "2_years", "5_years", "all_time")

# The language rule, stated again for every file name the dataset uses (GitHub Linguist names).
LANGUAGE_BY_SUFFIX = {
    ".py": "Python", ".ts": "TypeScript", ".go": "Go", ".rs": "Rust", ".java": "Java", ".c": "C",
    ".rb": "Ruby", ".css": "CSS", ".html": "HTML", ".md": "Markdown", ".yml": "YAML", ".json": "JSON",
    "Makefile": "Makefile", "Dockerfile": "Dockerfile", "LICENSE": None,
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


def expected_report(data: dict[str, Any], login: str, since: datetime, until: datetime, period: str) -> dict:
    repos = {r["full_name"]: r for r in data["repos"]}

    def in_window(t: datetime | None) -> bool:
        return t is not None and since <= t <= until

    prs = [
        p
        for p in data["pulls"]
        if p["author"].lower() == login.lower()
        and not (p["state"] == "closed" and not p["merged"])
        and (in_window(ts(p["created_at"])) or in_window(ts(p["merged_at"])))
    ]
    by_repo: dict[str, list[dict]] = defaultdict(list)
    for p in prs:
        by_repo[p["repo"]].append(p)

    def star_increase(name: str) -> int:
        if period == "all_time":
            return int(repos[name]["stargazers_count"])
        return sum(1 for s in repos[name]["starred_at"] if in_window(ts(s)))

    lines: Counter[str] = Counter()
    for p in prs:
        for f in p["files"]:
            lang = language(f["filename"])
            if lang:
                lines[lang] += f["additions"] + f["deletions"]
    sizes = Counter(size(p["additions"] + p["deletions"]) for p in prs)
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
        "total_changed_files": sum(p["changed_files"] for p in prs),
        "total_star_increase": sum(star_increase(name) for name in by_repo),
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
            }
            for name, ps in by_repo.items()
        },
    }


def actual_report(report: dict[str, Any]) -> dict:
    keys = (
        "total_prs", "merged_count", "open_count", "repo_count", "total_additions", "total_deletions",
        "total_changed_files", "total_star_increase", "size_distribution", "roles",
    )  # fmt: skip
    top = len(report["languages"])
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
            }
            for r in report["repositories"]
        },
    }


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, Any], list[str]]]:
    dataset = build_dataset()
    work = tmp_path_factory.mktemp("cron")
    with FakeGitHubServer(dataset) as fake:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GITBRAG_", "GITHUB_"))}
        env |= {
            "GITHUB_TOKEN": "test-token",
            "GITBRAG_GITHUB_API_URL": fake.url,
            "GITBRAG_USERS": ",".join(dataset.demo_users),
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
        assert (
            result.stdout.strip().splitlines()[-1]
            == f"refreshed={4 * len(dataset.demo_users)} skipped=0 failed=0"
        )
        data = httpx.get(fake.url + "/_fake/dataset", timeout=60).json()
    yield work / "site", data, list(dataset.demo_users)


def test_every_demo_user_and_period_matches_the_dataset(published: tuple[Path, dict, list[str]]) -> None:
    site, data, users = published
    checked = 0
    for login in users:
        for period in PERIODS:
            report = json.loads((site / login.lower() / period / "report.json").read_text())
            since, until = ts(report["since"]), ts(report["until"])
            assert since is not None and until is not None
            expected = expected_report(data, login, since, until, period)
            actual = actual_report(report)
            top = actual.pop("languages_top")
            expected_languages = dict(Counter(expected.pop("languages")).most_common(top))
            assert actual.pop("languages") == expected_languages, (login, period)
            assert actual == expected, (login, period)
            checked += 1
    assert checked == 4 * len(users)


def test_prolific_user_gets_every_pr_beyond_the_search_cap(published: tuple[Path, dict, list[str]]) -> None:
    site, data, _ = published
    report = json.loads((site / "prolific-pat" / "1_year" / "report.json").read_text())
    assert report["total_prs"] > 1000
    everything = json.loads((site / "prolific-pat" / "all_time" / "report.json").read_text())
    authored = [p for p in data["pulls"] if p["author"] == "prolific-pat"]
    kept = [p for p in authored if not (p["state"] == "closed" and not p["merged"])]
    assert everything["total_prs"] == len(kept) > 1000


def test_star_increase_counts_each_repository_once(published: tuple[Path, dict, list[str]]) -> None:
    site, _, _ = published
    report = json.loads((site / "steady-sam" / "1_year" / "report.json").read_text())
    rocket = next(r for r in report["repositories"] if r["name"] == "star-rocket/rocket")
    assert rocket["star_increase"] > 1000
    assert len(rocket["prs"]) > 1
    assert report["total_star_increase"] == sum(r["star_increase"] for r in report["repositories"])


def test_user_without_prs_gets_a_report(published: tuple[Path, dict, list[str]]) -> None:
    site, _, _ = published
    report = json.loads((site / "zero-zoe" / "1_year" / "report.json").read_text())
    assert report["total_prs"] == 0 and report["repositories"] == []
    assert (site / "zero-zoe" / "index.html").is_file()
