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
OPEN_REPOS = 4  # repositories shown open at first: the rest are one line each, opened on demand
LARGEST_SHOWN = 3  # pull requests a repository shows before "Show all N"
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


def authored_lines(repo: ReportRepository) -> int:
    """The lines the person wrote there: generated and vendored files left out."""
    return sum(pr.authored_additions + pr.authored_deletions for pr in repo.prs)


def pr_lines(pr: ReportPR) -> int:
    return pr.authored_additions + pr.authored_deletions


def ordered_repositories(report: Report) -> list[ReportRepository]:
    """The repositories as a page lists them: what the person did first (merged pull
    requests, then authored lines, then pull requests), never what the repository did
    (its stars are a column and a sort the reader may choose, not the order)."""
    return sorted(
        report.repositories,
        key=lambda r: (-r.merged_count, -authored_lines(r), -r.pr_count, r.name.lower()),
    )


def largest(prs: list[ReportPR], n: int = LARGEST_SHOWN) -> list[ReportPR]:
    """The `n` largest pull requests by authored lines (ties: the newest first, as listed)."""
    return sorted(prs, key=pr_lines, reverse=True)[:n]


@dataclass(frozen=True)
class RepoView:
    """A repository as a report page shows it: its newest pull requests (`shown`) and, when
    that is not all of them, `href` (relative to the period's folder): its own pages for a
    card, a "more repositories" page for the rest. `folder` holds its own pages.

    A card leads with its largest few pull requests (`leading`); the others it lists
    (`others`, newest first) are one click away in a `<details>` ("Show all N"), so the page
    reads as a summary first and still holds every pull request it lists. `is_open`: the
    card is open when the page loads (the first few repositories)."""

    repo: ReportRepository
    shown: list[ReportPR]
    folder: str
    href: str
    is_open: bool = False

    @property
    def complete(self) -> bool:
        return len(self.shown) == len(self.repo.prs)

    @property
    def leading(self) -> list[ReportPR]:
        return largest(self.repo.prs)

    @property
    def others(self) -> list[ReportPR]:
        first = set(map(id, self.leading))
        return [pr for pr in self.shown if id(pr) not in first]

    @property
    def lines(self) -> int:
        return authored_lines(self.repo)

    @property
    def authored_additions(self) -> int:
        return sum(pr.authored_additions for pr in self.repo.prs)

    @property
    def authored_deletions(self) -> int:
        return sum(pr.authored_deletions for pr in self.repo.prs)


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
    repositories = ordered_repositories(report)
    carded = repositories[:card_limit]
    cap = row_cap([len(r.prs) for r in carded], row_budget)
    cards = []
    for rank, repo in enumerate(carded):
        folder = repo_folder(repo.name)
        cards.append(RepoView(repo, repo.prs[:cap], folder, folder + "index.html", rank < OPEN_REPOS))
    rest = repositories[card_limit:]
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


# --- beside each headline number: how it compares with the period before --------------------


@dataclass(frozen=True)
class StatChange:
    """A headline number against the previous period's, as the page shows it beside the
    number: a glyph and a percentage for the eye (`arrow`, `shown`), the same in words for a
    screen reader (`words`), and `what` the number is (the element's `data-change`)."""

    what: str  # "merged pull requests"
    direction: str  # "up", "down" or "same"
    shown: str  # "55%", "new", "same"
    words: str  # "up 55% on the year before, which had 38"

    @property
    def arrow(self) -> str:
        return {"up": "▲", "down": "▼"}.get(self.direction, "=")


def _stat_change(what: str, current: int, previous: int, against: str) -> StatChange | None:
    if current == previous == 0:
        return None
    if previous == 0:
        return StatChange(what, "up", "new", f"none in {against}")
    percent = round(100 * (current - previous) / previous)
    if percent == 0:
        return StatChange(what, "same", "same", f"about the same as {against}, which had {previous:,}")
    direction = "up" if percent > 0 else "down"
    return StatChange(
        what,
        direction,
        f"{abs(percent):,}%",
        f"{direction} {abs(percent):,}% on {against}, which had {previous:,}",
    )


def stat_changes(report: Report) -> dict[str, StatChange]:
    """Per headline number (keyed like its `data-stat`), how it compares with the previous
    period; empty when there is none to compare with (the first year of activity, all time)."""
    before = report.previous
    if before is None:
        return {}
    pairs = {
        "total_prs": ("pull requests", report.total_prs, before.total_prs),
        "merged_count": ("merged pull requests", report.merged_count, before.merged_count),
        "repo_count": ("repositories", report.repo_count, before.repo_count),
        "authored_additions": ("lines added", report.authored_additions, before.authored_additions),
        "authored_deletions": ("lines deleted", report.authored_deletions, before.authored_deletions),
    }
    if report.reviews is not None and before.reviews is not None:
        pairs["reviews"] = ("reviews", report.reviews.total, before.reviews)
    found = {key: _stat_change(*pair, before.label) for key, pair in pairs.items()}
    return {key: change for key, change in found.items() if change is not None}
