"""Team pages benchmark (issue 29, part 2): what a one-user refresh's team publishing costs with
T teams of M members (`GITBRAG_TEAMS`), ours against the old full rebuild in the same run.

Seeds a site of T x M users, each in one team, as publishes leave it: every rolling period's
report.json (from a few template users of 1 to 150 pull requests over up to four years, built
by the real report builder, their login put in), the team-summary.json and generated.json our
publisher writes beside them. Then each measured step is a fresh process (as a cron run is),
its package first on `PYTHONPATH`:

* ours, every team: `publish_teams()` renders every team from the members' summaries (what a
  settings change costs; it also leaves `teams/rendered.json` as the previous pass would);
* ours, one user: `publish_user` of one member's newer reports, then `publish_teams(refreshed=())`
  as `Refresher.publish_site` calls it: that member's team only;
* baseline, one user: the same with the baseline revision's code (`--baseline-rev`, default
  0296f15, main before this change), whose `publish_teams()` reads every member's reports.

Per step: the seconds `publish_teams` took and the process's peak resident size while it ran
(VmHWM reset through /proc/self/clear_refs just before it, read just after: the user's own
publish before it does not count), and the RSS before it. The process's whole peak is printed
too. `measure()` is what `benchmarks/scale.py` calls; this file's `main` prints one size.

Run (from a frozen copy: `git archive HEAD | tar -x -C /tmp/st-bench`):
    cd /tmp/st-bench && PYTHONPATH=/tmp/st-bench /work/main/.venv/bin/python \\
        benchmarks/scale_teams.py --repo /work/main --teams 400 --members 50
400 teams of 50 (20,000 users): the seed takes about a minute and ~2 GB of disk, the
baseline step several minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gitbrag.models import PERIODS, ChangedFile, Collection, Profile, PullRequest, Repository
from gitbrag.publish.freshness import Freshness
from gitbrag.publish.published import SUMMARY_FILE
from gitbrag.report.build import build_reports
from gitbrag.report.teams import MemberSummaries, member_summary

ROOT = Path(__file__).resolve().parent.parent
BASELINE_REV = "0296f15"  # main when this work began: every team rebuilt from every report
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
TEMPLATE_PRS = (1, 3, 6, 10, 15, 25, 40, 60, 90, 150)  # a template user's pull requests (mean 40)
PLACEHOLDER = "tmpl-placeholder-login"
LANGUAGES = ("py", "ts", "go", "rs", "md")

# One measured step, in its own process: publish one user (unless no reports are given), then
# the team pages, timed, with the peak resident size reset just before.
CHILD = """
import json, sys, time
from pathlib import Path
import gitbrag
from gitbrag.models import Report
from gitbrag.publish.publisher import Publisher

def status(key):
    with open("/proc/self/status") as f:
        return int(next(line for line in f if line.startswith(key + ":")).split()[1]) // 1024

site, teams_file, reports_dir, mode, out = sys.argv[1:6]
publisher = Publisher(Path(site), teams=json.loads(Path(teams_file).read_text()))
if reports_dir != "-":
    files = sorted(Path(reports_dir).glob("*.json"))
    publisher.publish_user({p.stem: Report.model_validate_json(p.read_bytes()) for p in files})
rss = status("VmRSS")
try:
    Path("/proc/self/clear_refs").write_text("5")  # the peak from here on (Linux)
    reset = True
except OSError:
    reset = False
started = time.perf_counter()
written = publisher.publish_teams(refreshed=()) if mode == "one" else publisher.publish_teams()
seconds = time.perf_counter() - started
Path(out).write_text(json.dumps({"seconds": seconds, "peak_mib": status("VmHWM"), "rss_before_mib": rss,
                                 "reset": reset, "pages": len(written), "code": gitbrag.__file__}))
"""


@dataclass(frozen=True)
class Step:
    """One measured step: `publish_teams` in a fresh process."""

    name: str
    seconds: float  # publish_teams alone
    peak_mib: int  # the process's peak resident size while publish_teams ran (or ever, if not `reset`)
    rss_before_mib: int  # its resident size just before
    pages: int  # team pages written or found unchanged
    reset: bool  # whether the peak could be reset before publish_teams
    code: str  # the package that ran (`gitbrag.__file__`)


def template_collection(index: int, prs: int) -> Collection:
    """A template user: `prs` pull requests over a few repositories and up to four years."""
    repos = [f"bench-org-{(index + r) % 9}/service-{(index * 7 + r) % 40}" for r in range(1 + prs // 8)]
    pulls = []
    for n in range(prs):
        repo = repos[n % len(repos)]
        created = NOW - timedelta(days=(n * 1461) // max(prs, 1) + index, hours=5)
        merged = n % 4 != 0
        merged_at = created + timedelta(hours=3) if merged else None
        pulls.append(PullRequest(
            repo=repo, number=n + 1, title=f"Change {n} of {repo}",
            url=f"https://github.com/{repo}/pull/{n + 1}", state="MERGED" if merged else "OPEN",
            created_at=created, updated_at=created, merged_at=merged_at,
            additions=5 + n % 300, deletions=n % 70, changed_files=1 + n % 5, author_association="MEMBER",
            files=[ChangedFile(path=f"src/m{n % 6}.{LANGUAGES[n % len(LANGUAGES)]}", additions=5 + n % 300,
                               deletions=n % 70)],
        ))  # fmt: skip
    repositories = {
        name: Repository(name_with_owner=name, url=f"https://github.com/{name}", stargazer_count=10 + i)
        for i, name in enumerate(repos)
    }
    profile = Profile(login=PLACEHOLDER, name=f"Template {index}")
    return Collection(
        login=PLACEHOLDER, profile=profile, pull_requests=pulls, repositories=repositories, stars={},
        collected_at=NOW,
    )  # fmt: skip


def template_files(generation: int) -> list[dict[str, bytes]]:
    """Per template, the bytes of its files below `site/<login>/`, the login a placeholder."""
    templates = []
    for index, prs in enumerate(TEMPLATE_PRS):
        reports = build_reports(template_collection(index, prs), until=NOW, generated_at=NOW)
        rolling = {p: reports[p].model_copy(update={"generation": generation}) for p in PERIODS}
        files = {f"{p}/report.json": r.model_dump_json(indent=2).encode() + b"\n" for p, r in rolling.items()}
        # As a whole publish leaves them: generated.json records each period's pages with the key
        # the summary has (any key: the benchmark renders no user page from it).
        keys = {p: f"seeded-{index}-{p}" for p in PERIODS}
        summaries = MemberSummaries(inputs=keys, periods={p: member_summary(r) for p, r in rolling.items()})
        files[SUMMARY_FILE] = summaries.model_dump_json().encode() + b"\n"
        pages = {p: f"{key}:seeded" for p, key in keys.items()}
        checked = {p: NOW for p in PERIODS}
        files["generated.json"] = Freshness(checked, generation=generation, pages=pages).to_json().encode()
        templates.append(files)
    return templates


def seed(site: Path, teams: int, members: int) -> dict[str, list[str]]:
    """The site of `teams` x `members` published users; returns GITBRAG_TEAMS as a mapping."""
    templates = template_files(generation=1)
    setting: dict[str, list[str]] = {}
    for t in range(teams):
        logins = [f"member-{t:04d}-{m:04d}" for m in range(members)]
        setting[f"team-{t:04d}"] = logins
        for m, login in enumerate(logins):
            for relative, data in templates[(t + m) % len(templates)].items():
                path = site / login / relative
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data.replace(PLACEHOLDER.encode(), login.encode()))
    return setting


def newer_reports(folder: Path, login: str, generation: int) -> Path:
    """One member's newer reports (more pull requests), as files for a child to publish."""
    reports = build_reports(template_collection(3, 70), until=NOW, generated_at=NOW + timedelta(hours=1))
    folder.mkdir(parents=True, exist_ok=True)
    for period, report in reports.items():
        data = report.model_copy(update={"generation": generation}).model_dump_json()
        (folder / f"{period}.json").write_text(data.replace(PLACEHOLDER, login))
    return folder


def run_step(name: str, code: Path, site: Path, teams_file: Path, reports: Path | None, mode: str) -> Step:
    out = teams_file.parent / f"{name.replace(' ', '-').replace(',', '')}.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITBRAG_")} | {"PYTHONPATH": str(code)}
    command = [sys.executable, "-c", CHILD, str(site), str(teams_file), str(reports or "-"), mode, str(out)]
    subprocess.run(command, env=env, check=True, cwd=code)
    return Step(name=name, **json.loads(out.read_text()))


def baseline_code(work: Path, repo: Path, rev: str) -> Path:
    """The baseline revision's tree (`git archive`), to put first on PYTHONPATH."""
    target = work / f"baseline-{rev}"
    if not (target / "gitbrag").is_dir():
        target.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "-C", str(repo), "archive", rev], check=True, capture_output=True)
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return target


def measure(teams: int, members: int, work: Path, *, baseline: Path | None, ours: Path = ROOT) -> list[Step]:
    """Seed `teams` x `members` users into `work/site`, then measure the three steps (the
    baseline's only when `baseline`, a tree of the old code, is given). Each step's team
    publishing in its own process, ours first (the baseline's full rebuild prunes our record)."""
    site = work / "site"
    started = time.perf_counter()
    setting = seed(site, teams, members)
    print(f"seeded {teams * members:,} users in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    teams_file = work / "teams.json"
    teams_file.write_text(json.dumps(setting))
    login = setting[next(iter(setting))][0]
    steps = [run_step("ours, every team", ours, site, teams_file, None, "all")]
    steps.append(
        run_step("ours, one user", ours, site, teams_file, newer_reports(work / "r2", login, 2), "one")
    )
    if baseline is not None:
        reports = newer_reports(work / "r3", login, 3)
        steps.append(run_step("baseline, one user", baseline, site, teams_file, reports, "all"))
    return steps


def table(teams: int, members: int, steps: list[Step]) -> str:
    lines = [f"{teams} teams of {members} ({teams * members:,} users)",
             f"{'step':<22}{'seconds':>10}{'peak MiB':>10}{'RSS before':>12}{'pages':>8}"]  # fmt: skip
    lines += [
        f"{s.name:<22}{s.seconds:>10.2f}{s.peak_mib:>10}{s.rss_before_mib:>12}{s.pages:>8}" for s in steps
    ]
    base = next((s for s in steps if s.name.startswith("baseline")), None)
    one = next(s for s in steps if s.name == "ours, one user")
    if base is not None:
        lines.append(
            f"one user, ours/baseline: time {one.seconds / base.seconds:.4f},"
            f" peak {one.peak_mib / base.peak_mib:.3f}"
        )
    lines += [f"{s.name}: {s.code}" for s in steps]
    if not all(s.reset for s in steps):
        lines.append("(the peak could not be reset: peaks are the whole process's)")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--teams", type=int, default=400)
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--repo", type=Path, default=ROOT, help="the git repository the baseline comes from")
    parser.add_argument("--baseline-rev", default=BASELINE_REV)
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--work", type=Path, help="keep the seeded site here (default: a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="scale-teams-") as tmp:
        work = args.work or Path(tmp)
        baseline = None if args.skip_baseline else baseline_code(work, args.repo, args.baseline_rev)
        steps = measure(args.teams, args.members, work, baseline=baseline)
    print(table(args.teams, args.members, steps))
    print(json.dumps([asdict(s) for s in steps]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
