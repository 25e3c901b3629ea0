"""`gitbrag report` output: a report as readable tables on a terminal.

rich escapes nothing by itself, so GitHub-controlled text is wrapped in `Text`
(never parsed as markup): a PR titled "[red]x[/red]" prints as typed.

It says what the page says, in the page's words: the window's dates, roles as the page
labels them ("First-time contributor", not FIRST_TIME_CONTRIBUTOR), and repository names
whole (a cut name is a different repository): the other columns wrap or fold instead.
Every table has the same look (a rule under the header, no frame: the columns' room goes to
the text), numbers never wrap, and it shows what the page shows beside the repositories:
the reviews given and how the period compares with the one before.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from gitbrag.models import PERIOD_LABELS, Report
from gitbrag.publish.filters import count, format_date, role_label
from gitbrag.publish.pages import capped_files_note, excluded_work_line, hidden_notice, private_work_line
from gitbrag.report.timeline import Change, changes


def _table(title: str | Text, *, show_header: bool = True) -> Table:
    """Every table's one look: a rule under the header, no frame and no outer padding (the
    columns' room goes to the text; an 80-column terminal fits whole repository names)."""
    return Table(title=title, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, show_header=show_header)


def _width(widths: Iterable[int]) -> int:
    """What a `_table` with columns this wide takes: a space of padding on both sides of each
    column but the outer ones, and a one-character rule between columns."""
    found = list(widths)
    return sum(found) + 3 * len(found) - 3


def window(report: Report) -> str:
    """The report's window in the page's words: days of the report's time zone, named."""
    zone = report.timezone
    until = format_date(report.until, zone)
    if report.period == "all_time":
        return f"Pull requests created or merged up to {until} ({zone})."
    return f"Pull requests created or merged between {format_date(report.since, zone)} and {until} ({zone})."


def _summary(report: Report) -> Table:
    title = Text(f"{report.username}: {PERIOD_LABELS[report.period]}", style="bold")
    table = _table(title, show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right", no_wrap=True)
    rows = [
        ("Pull requests", report.total_prs),
        ("Merged", report.merged_count),
        ("Open", report.open_count),
        ("Repositories", report.repo_count),
        ("Lines added", report.authored_additions),
        ("Lines deleted", report.authored_deletions),
        ("Lines in generated files", report.generated_additions + report.generated_deletions),
        ("Files changed", report.total_changed_files),
        ("Repository stars gained", report.total_star_increase),
    ]
    if report.reviews is not None:
        rows.append(("Pull requests reviewed", report.reviews.total))
    for label, value in rows:
        table.add_row(label, "not known" if value is None else f"{value:,}")
    return table


def _repositories(report: Report, width: int) -> Table:
    # Rules between header and body only: the borders' columns go to the names.
    table = _table("Repositories")
    # Never cut a name: its column is as wide as the longest; the others give way (wrap).
    rows = [
        (
            repo.name,
            role_label(repo.role),
            str(repo.pr_count),
            str(repo.merged_count),
            f"{repo.stars:,}",
            "—" if repo.star_increase is None else f"{repo.star_increase:,}",
        )
        for repo in report.repositories
    ]
    name = _widest(row[0] for row in rows)
    table.add_column("Repository", no_wrap=True, width=name)
    # Numbers and their headers never wrap ("Stars / gained"): the role gives way instead,
    # wrapping between words ("First-time / contributor"), never inside one.
    numbers = [
        (column, _widest([column, *(row[index] for row in rows)]))
        for index, column in enumerate(("PRs", "Merged", "Stars", "Stars gained"), start=2)
    ]
    word = _widest(word for row in rows for word in row[1].split())
    room = width - _width([name, 0, *(w for _, w in numbers)])
    role = max(word, min(room, _widest(["Role", *(row[1] for row in rows)])))
    table.add_column("Role", width=role, min_width=word)
    for column, widest in numbers:
        table.add_column(column, justify="right", no_wrap=True, width=widest)
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))
    return table


def _widest(texts: Iterable[str]) -> int:
    return max((len(text) for text in texts), default=1)


def _gained(stars: int | None) -> str:
    """`, +12 in the period`, or nothing when the period's stars are not known."""
    return "" if stars is None else f", +{stars:,} in the period"


def _repository_lines(report: Report) -> list[Text]:
    """The repositories one per line, for a terminal too narrow for the table's whole names."""
    return [
        Text(
            f"{repo.name} · {role_label(repo.role)} · {count(repo.pr_count, 'PR')},"
            f" {repo.merged_count:,} merged · {count(repo.stars, 'star')}{_gained(repo.star_increase)}"
        )
        for repo in report.repositories
    ]


def _print_repositories(report: Report, console: Console) -> None:
    table = _repositories(report, console.width)
    needed = _width(column.min_width or column.width or 1 for column in table.columns)
    if needed <= console.width:
        console.print(table)
        return
    console.print(Text("Repositories", style="italic"), justify="center")
    for line in _repository_lines(report):
        console.print(line)


def _languages(report: Report) -> Table:
    table = _table("Top languages")
    table.add_column("Language")
    table.add_column("Changed lines", justify="right", no_wrap=True)
    table.add_column("Share", justify="right", no_wrap=True)
    for share in report.languages:
        table.add_row(Text(share.language), f"{share.lines:,}", f"{share.percentage:.1f}%")
    return table


def _print_reviews(report: Report, console: Console) -> None:
    """The repositories where the user reviewed most, as the page's "Reviews given" card: a
    table, or one line each on a terminal too narrow for whole names beside the counts."""
    if report.reviews is None or not report.reviews.repositories:
        return
    shown = report.reviews.repositories[:REVIEWED_REPOSITORIES]
    rows = [(repo.name, f"{repo.count:,}") for repo in shown]
    name, number = _widest(r[0] for r in rows), _widest([REVIEWED, *(r[1] for r in rows)])
    console.print()
    if _width([name, number]) > console.width:
        console.print(Text("Reviews given", style="italic"), justify="center")
        for repo, reviewed in rows:
            console.print(Text(f"{repo} · {reviewed} reviewed"))
        return
    table = _table("Reviews given")
    table.add_column("Repository", no_wrap=True, width=name)
    table.add_column(REVIEWED, justify="right", no_wrap=True, width=number)
    for repo, reviewed in rows:
        table.add_row(Text(repo), reviewed)
    console.print(table)


REVIEWED = "Reviewed"  # pull requests reviewed there
REVIEWED_REPOSITORIES = 8  # as many as the page's card lists


def _compared(report: Report) -> Table | None:
    """How the period compares with the one before (the page's activity card): per headline
    number, now, then and the change; None when there is nothing to compare with."""
    found = changes(report)
    if report.previous is None or not found:
        return None
    table = _table(f"Against {report.previous.label}")
    table.add_column("")
    for column in ("Now", "Before", "Change"):
        table.add_column(column, justify="right", no_wrap=True)
    for change in found:
        table.add_row(
            change.what.capitalize(), f"{change.current:,}", f"{change.previous:,}", _percent(change)
        )
    return table


def _percent(change: Change) -> str:
    if change.previous == 0:
        return "new"
    percent = round(100 * (change.current - change.previous) / change.previous)
    return f"{percent:+,}%" if percent else "same"


def _notes(report: Report) -> list[str]:
    """What the numbers above leave out, in the same words as the report page."""
    lines = (private_work_line, excluded_work_line, hidden_notice, capped_files_note)
    notes = [line(report) for line in lines]
    return [note for note in notes if note]


def print_report(report: Report, console: Console) -> None:
    """The report in the page's order, a blank line between its parts: the numbers and the
    window, the comparison with the period before, notes, then (with pull requests) the
    repositories, languages and sizes, and the reviews given."""
    console.print(_summary(report))
    console.print(Text(window(report)))
    if report.total_prs == 0:
        console.print("No pull requests in this period.")
    for note in _notes(report):
        console.print(Text(note))
    if (compared := _compared(report)) is not None:
        console.print()
        console.print(compared)
    if report.total_prs:
        console.print()
        _print_repositories(report, console)
        console.print()
        console.print(_languages(report))
        sizes = ", ".join(f"{size}: {count}" for size, count in report.size_distribution.items() if count)
        console.print(Text(f"PR sizes: {sizes}"))
    _print_reviews(report, console)
    if report.incomplete_results:
        console.print("Note: GitHub reported incomplete search results; some PRs may be missing.")
