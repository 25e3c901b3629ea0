"""The GitHub Action's steps that are not the pass itself (`action.yml`): the budget, the summary.

`python -m gitbrag.doors.action budget` reads what the token has left (`GET /rate_limit`,
which GitHub does not charge) and writes the pass's point budget to `$GITHUB_OUTPUT`: the
action's `budget` input when given, else what is left minus a reserve (other jobs and a
re-run share the token's hour). `python -m gitbrag.doors.action summary PASS_OUTPUT` reads
the pass's summary line (`refreshed=N skipped=M failed=K deferred=D`) and the token's points
again, and writes the job summary (`$GITHUB_STEP_SUMMARY`) and the action's outputs.

The token comes from the environment (`GITHUB_TOKEN`) and goes to the configured API only;
it is never printed.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import httpx

from gitbrag.models import InvalidLogin, Login

# Points kept back from what the token has left when no budget is given: a re-run of the job
# or another workflow on the same token this hour still has something to work with.
RESERVE_POINTS = 100
SUMMARY_RE = re.compile(r"^refreshed=(\d+) skipped=(\d+) failed=(\d+)(?: deferred=(\d+))?$")


def points_left(api_url: str, token: str) -> int | None:
    """GraphQL points the token has left, from `GET /rate_limit` (free); None when unknown."""
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json"}
    try:
        answer = httpx.get(f"{api_url.rstrip('/')}/rate_limit", headers=headers, timeout=30)
        answer.raise_for_status()
        left = answer.json()["resources"]["graphql"]["remaining"]
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return None
    return left if isinstance(left, int) else None


def budget(given: str, left: int | None) -> int:
    """The pass's budget: the `budget` input, else what is left minus the reserve (at least 1:
    a pass with nothing to spend defers everything rather than spending without a limit)."""
    if given.strip():
        try:
            value = int(given)
        except ValueError:
            raise SystemExit(
                f"gitbrag action: the budget input must be a whole number, not {given!r}"
            ) from None
        if value < 1:
            raise SystemExit("gitbrag action: the budget input must be at least 1")
        return value
    if left is None:  # GitHub did not say: the workflow token's hourly points, less the reserve
        return 1000 - RESERVE_POINTS
    return max(1, left - RESERVE_POINTS)


def parse_summary(text: str) -> dict[str, int]:
    """The counts of the pass's last summary line; zeros when it printed none (it failed to start)."""
    for line in reversed(text.splitlines()):
        if match := SUMMARY_RE.match(line.strip()):
            refreshed, skipped, failed, deferred = (int(g or 0) for g in match.groups())
            return {"refreshed": refreshed, "skipped": skipped, "failed": failed, "deferred": deferred}
    return {"refreshed": 0, "skipped": 0, "failed": 0, "deferred": 0}


def user_lines(site: Path, users: str) -> list[str]:
    """One line per configured user, from their published 1-year report (never a wrong number:
    stars still being walked say so)."""
    lines = []
    for entry in (u.strip() for u in users.replace("\n", ",").split(",")):
        name = entry.split("@", 1)[0]  # `login@Zone`
        if not name:
            continue
        try:
            login = Login(name)
        except InvalidLogin:
            lines.append(f"| {name} | not a GitHub username | | |")
            continue
        report = _read_json(site / str(login) / "1_year" / "report.json")
        if report is None:
            lines.append(f"| {login.spelling} | not published yet | | |")
            continue
        stars = report.get("total_star_increase")
        shown = (
            "stars still being counted"
            if report.get("stars_pending")
            else ("—" if stars is None else f"+{stars:,}")
        )
        lines.append(
            f"| {report.get('username', name)} | {report.get('generated_at', '')}"
            f" | {report.get('total_prs', 0):,} | {shown} |"
        )
    return lines


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def summary_markdown(counts: dict[str, int], spent: int | None, left: int | None, users: list[str]) -> str:
    def shown(value: int | None) -> str:
        return "unknown" if value is None else f"{value:,}"

    lines = [
        "## gitbrag",
        "",
        f"refreshed: {counts['refreshed']} · failed: {counts['failed']} · deferred: {counts['deferred']}"
        f" · skipped: {counts['skipped']} (reports)",
        "",
        f"GraphQL points spent: {shown(spent)} · left: {shown(left)}",
        "",
    ]
    if counts["deferred"]:
        lines += ["Deferred reports are done by the next run, oldest due first.", ""]
    if users:
        lines += [
            "| user | generated | pull requests (1 year) | stars gained (1 year) |",
            "|---|---|---|---|",
            *users,
        ]
    return "\n".join(lines) + "\n"


def _append(path_variable: str, text: str) -> None:
    path = os.environ.get(path_variable)
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(text)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    api_url = os.environ.get("GITBRAG_GITHUB_API_URL") or "https://api.github.com"
    token = os.environ.get("GITHUB_TOKEN", "")
    left = points_left(api_url, token)
    if args[:1] == ["budget"]:
        points = budget(os.environ.get("BUDGET_INPUT", ""), left)
        _append("GITHUB_OUTPUT", f"points={points}\nleft-before={'' if left is None else left}\n")
        print(
            f"gitbrag action: budget {points} points"
            f" (the token has {'unknown' if left is None else left} left)"
        )
        return 0
    if args[:1] == ["summary"] and len(args) == 2:
        counts = parse_summary(Path(args[1]).read_text(encoding="utf-8", errors="replace"))
        before = os.environ.get("LEFT_BEFORE", "")
        spent = int(before) - left if before.isdigit() and left is not None and int(before) >= left else None
        site = os.environ.get("GITBRAG_SITE_DIR", "site")
        users = user_lines(Path(site), os.environ.get("GITBRAG_USERS", ""))
        _append("GITHUB_STEP_SUMMARY", summary_markdown(counts, spent, left, users))
        outputs = [
            f"site-dir={site}",
            *(f"{name}={counts[name]}" for name in ("refreshed", "failed", "deferred")),
        ]
        outputs += [
            f"points-spent={'' if spent is None else spent}",
            f"points-left={'' if left is None else left}",
        ]
        _append("GITHUB_OUTPUT", "\n".join(outputs) + "\n")
        return 0
    print("usage: python -m gitbrag.doors.action budget | summary PASS_OUTPUT", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
