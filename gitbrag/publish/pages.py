"""Page planning: how a report's pull requests are spread over pages so that every page
stays light (see `gitbrag.publish.publisher` for the layout). Pure functions over a `Report`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from gitbrag.models import Report, ReportPR, ReportRepository
from gitbrag.periods import parse_period
from gitbrag.publish.filters import count

REPORT_ROW_BUDGET = 250
REPO_CARD_LIMIT = 40
REPO_PAGE_ROWS = 400
GROUP_COST = 3  # a repository heading on a "more repositories" page weighs about 3 rows

# GitHub's characters for owner and repository names: safe as folder names as they are.
_REPO_PART_RE = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


def repo_folder(name: str) -> str:
    """Where a repository's own pages live, relative to its period folder: "repos/<owner>/<name>/".

    A name that is not GitHub's shape gets a digest instead, so it can never climb out."""
    owner, _, repo = name.partition("/")
    if all(_REPO_PART_RE.fullmatch(p) and p not in (".", "..") for p in (owner, repo)):
        return f"repos/{owner.lower()}/{repo.lower()}/"
    return f"repos/_/{hashlib.sha256(name.encode()).hexdigest()[:16]}/"


def row_cap(counts: list[int], budget: int) -> int:
    """The largest per-repository row cap under which the repositories together show at most
    `budget` rows: small repositories show everything, big ones share what is left fairly.
    At least 1, so every card shows its newest pull request."""
    low, high = 1, max(counts, default=1)
    while low < high:
        mid = (low + high + 1) // 2
        if sum(min(c, mid) for c in counts) <= budget:
            low = mid
        else:
            high = mid - 1
    return low


@dataclass(frozen=True)
class RepoView:
    """A repository as a report page shows it: its newest pull requests (`shown`) and, when
    that is not all of them, `href` (relative to the period's folder): its own pages for a
    card, a "more repositories" page for the rest. `folder` holds its own pages."""

    repo: ReportRepository
    shown: list[ReportPR]
    folder: str
    href: str

    @property
    def complete(self) -> bool:
        return len(self.shown) == len(self.repo.prs)


@dataclass(frozen=True)
class RepoGroup:
    """Consecutive rows of one repository on a "more repositories" page."""

    repo: ReportRepository
    prs: list[ReportPR]
    anchor: str
    continued: bool  # the repository's list began on the previous page


@dataclass(frozen=True)
class PagePlan:
    """What one report page shows (repository cards, then a compact table of the rest), and
    the pages it links to: a card's full list on the card's own pages, and the remaining
    repositories' pull requests on "more repositories" pages (`more_pages`, in order)."""

    cards: list[RepoView]
    more: list[RepoView]
    more_pages: list[list[RepoGroup]]

    @property
    def own_pages(self) -> list[RepoView]:
        """Cards whose full list lives on their own pages."""
        return [v for v in self.cards if not v.complete]


def plan_page(
    report: Report, *, row_budget: int = REPORT_ROW_BUDGET, card_limit: int = REPO_CARD_LIMIT
) -> PagePlan:
    carded = report.repositories[:card_limit]
    cap = row_cap([len(r.prs) for r in carded], row_budget)
    cards = []
    for repo in carded:
        folder = repo_folder(repo.name)
        cards.append(RepoView(repo, repo.prs[:cap], folder, folder + "index.html"))
    rest = report.repositories[card_limit:]
    anchors = [f"r{i}" for i in range(card_limit + 1, card_limit + 1 + len(rest))]
    more_pages = paginate_groups(rest, anchors)
    first_page = {g.anchor: n for n, page in enumerate(more_pages, 1) for g in page if not g.continued}
    more = [
        RepoView(repo, [], repo_folder(repo.name), f"more/{page_file(first_page[a])}#{a}")
        for repo, a in zip(rest, anchors, strict=True)
    ]
    return PagePlan(cards, more, more_pages)


def paginate_groups(repos: list[ReportRepository], anchors: list[str]) -> list[list[RepoGroup]]:
    """Lay the repositories' pull requests out on pages of at most `REPO_PAGE_ROWS` rows,
    a repository heading counting as `GROUP_COST` rows; long lists continue on the next page."""
    pages: list[list[RepoGroup]] = []
    page: list[RepoGroup] = []
    used = 0
    for repo, anchor in zip(repos, anchors, strict=True):
        start = 0
        while True:
            room = REPO_PAGE_ROWS - used - GROUP_COST
            if room < 1 and page:
                pages.append(page)
                page, used = [], 0
                continue
            rows = repo.prs[start : start + max(room, 1)]
            page.append(RepoGroup(repo, rows, anchor, continued=start > 0))
            used += GROUP_COST + len(rows)
            start += len(rows)
            if start >= len(repo.prs):
                break
    return [*pages, page] if page else pages


def chunks(prs: list[ReportPR], size: int = REPO_PAGE_ROWS) -> list[list[ReportPR]]:
    return [prs[i : i + size] for i in range(0, len(prs), size)] or [[]]


def page_file(number: int) -> str:
    """File name of the `number`-th page of a list (1-based)."""
    return "index.html" if number == 1 else f"page-{number}.html"


def summary_sentence(report: Report) -> str:
    """One line about a report, for search results and link previews."""
    phrase = parse_period(report.period).phrase
    if report.total_prs == 0:
        return f"No open or merged pull requests {phrase}."
    return (
        f"{count(report.total_prs, 'pull request')} ({report.merged_count:,} merged, "
        f"{report.open_count:,} open) to {count(report.repo_count, 'repository', 'repositories')} "
        f"{phrase}: +{report.total_additions:,} −{report.total_deletions:,} lines."
    )


# --- what a report says about the pull requests it does not list ---------------------------

# GitHub's REST listing of a pull request's files stops here; GraphQL's changedFiles does not.
GITHUB_FILES_LISTED = 3000
_SAML_PLACE = (
    "in an organisation that enforces SAML single sign-on",
    "in organisations that enforce SAML single sign-on",
)
_SAML_WHY = ", which the token used is not authorised for"


def hidden_counts(report: Report) -> dict[str, int]:
    """Hidden pull requests per reason, SAML first (a collection may list a reason twice)."""
    counts = {"saml": 0, "forbidden": 0}
    for hidden in report.hidden_by_github:
        counts[hidden.reason] = counts.get(hidden.reason, 0) + hidden.count
    return {reason: n for reason, n in counts.items() if n > 0}


def hidden_notice(report: Report) -> str | None:
    """Why the report lacks pull requests GitHub would not show, a sentence per reason; None
    when it lacks none. Told on every period: GitHub does not say when they were made."""
    counts = hidden_counts(report)
    if not counts:
        return None
    opening = f"GitHub hid {count(sum(counts.values()), 'pull request')} from this report"
    if len(counts) == 1:
        ((reason, n),) = counts.items()
        subject = "it is" if n == 1 else "they are"
        if reason == "saml":
            return f"{opening}: {subject} {_SAML_PLACE[n > 1]}{_SAML_WHY}."
        return f"{opening}: GitHub did not let the token see {'it' if n == 1 else 'them'}."
    saml, forbidden = counts["saml"], counts["forbidden"]
    verb = "is" if saml == 1 else "are"
    return (
        f"{opening}. {saml:,} {verb} {_SAML_PLACE[saml > 1]}{_SAML_WHY}. "
        f"GitHub did not let the token see the other {forbidden:,}."
    )


def private_work_line(report: Report) -> str | None:
    """The one thing a public page says about private work: how much, never what or where."""
    work = report.private_work
    if work is None or work.total_prs == 0:
        return None
    return (
        f"Also {count(work.total_prs, 'pull request')} ({work.merged_count:,} merged) "
        f"in {count(work.repo_count, 'private repository', 'private repositories')}."
    )


def excluded_work_line(report: Report) -> str | None:
    """What a page says of the work in repositories the operator excluded (`GITBRAG_EXCLUDE`):
    how much, never what or where."""
    work = report.excluded_by_operator
    if work is None or work.pull_requests == 0:
        return None
    return f"{count(work.pull_requests, 'pull request')} left out by the operator's choice."


def capped_files_note(report: Report) -> str | None:
    """Languages of pull requests beyond GitHub's file listing are a lower bound: say so."""
    n = report.prs_with_capped_files
    if n == 0:
        return None
    whose = "its" if n == 1 else "their"
    return (
        f"Languages of {count(n, 'pull request')} come from {whose} first {GITHUB_FILES_LISTED:,} "
        "changed files (GitHub lists no more)."
    )
