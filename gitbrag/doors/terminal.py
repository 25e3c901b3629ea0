"""`gitbrag report` output: a report as readable tables on a terminal.

rich escapes nothing by itself, so GitHub-controlled text is wrapped in `Text`
(never parsed as markup): a PR titled "[red]x[/red]" prints as typed.

It says what the page says, in the page's words: the window's dates, roles as the page
labels them ("First-time contributor", not FIRST_TIME_CONTRIBUTOR), and repository names
whole (a cut name is a different repository): the other columns wrap or fold instead.
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


def window(report: Report) -> str:
    """The report's window in the page's words: days of the report's time zone, named."""
    zone = report.timezone
    until = format_date(report.until, zone)
    if report.period == "all_time":
        return f"Pull requests created or merged up to {until} ({zone})."
    return f"Pull requests created or merged between {format_date(report.since, zone)} and {until} ({zone})."


def _summary(report: Report) -> Table:
    table = Table(title=Text(f"{report.username} — {PERIOD_LABELS[report.period]}"), show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
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
    for label, value in rows:
        table.add_row(label, "not known" if value is None else f"{value:,}")
    return table


def _repositories(report: Report) -> Table:
    # Rules between header and body only: the borders' columns go to the names.
    table = Table(title="Repositories", box=box.SIMPLE_HEAD)
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
    table.add_column("Repository", no_wrap=True, min_width=_widest(row[0] for row in rows))
    # Roles wrap between words ("First-time / contributor"), never inside one.
    table.add_column("Role", min_width=_widest(word for row in rows for word in row[1].split()))
    for index, column in enumerate(("PRs", "Merged", "Stars", "Stars gained"), start=2):
        widest = _widest([*column.split(), *(row[index] for row in rows)])
        table.add_column(column, justify="right", no_wrap=False, min_width=widest)
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
    table = _repositories(report)
    # Each column's narrowest, plus a space of padding on both sides and the edge's.
    needed = sum(column.min_width or 1 for column in table.columns) + 2 * len(table.columns) + 2
    if needed <= console.width:
        console.print(table)
        return
    console.print(Text("Repositories", style="italic"), justify="center")
    for line in _repository_lines(report):
        console.print(line)


def _languages(report: Report) -> Table:
    table = Table(title="Top languages")
    table.add_column("Language")
    table.add_column("Changed lines", justify="right")
    table.add_column("Share", justify="right")
    for share in report.languages:
        table.add_row(Text(share.language), f"{share.lines:,}", f"{share.percentage:.1f}%")
    return table


def _notes(report: Report) -> list[str]:
    """What the numbers above leave out, in the same words as the report page."""
    lines = (private_work_line, excluded_work_line, hidden_notice, capped_files_note)
    notes = [line(report) for line in lines]
    return [note for note in notes if note]


def print_report(report: Report, console: Console) -> None:
    console.print(_summary(report))
    console.print(Text(window(report)))
    if report.total_prs == 0:
        console.print("No pull requests in this period.")
    for note in _notes(report):
        console.print(Text(note))
    if report.total_prs == 0:
        return
    _print_repositories(report, console)
    console.print(_languages(report))
    sizes = ", ".join(f"{size}: {count}" for size, count in report.size_distribution.items() if count)
    console.print(Text(f"PR sizes: {sizes}"))
    if report.incomplete_results:
        console.print("Note: GitHub reported incomplete search results; some PRs may be missing.")
