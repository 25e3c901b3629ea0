"""`gitbrag report` output: a report as readable tables on a terminal.

rich escapes nothing by itself, so GitHub-controlled text is wrapped in `Text`
(never parsed as markup): a PR titled "[red]x[/red]" prints as typed.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from gitbrag.models import PERIOD_LABELS, Report
from gitbrag.pages import capped_files_note, hidden_notice, private_work_line


def _summary(report: Report) -> Table:
    table = Table(title=Text(f"{report.username} — {PERIOD_LABELS[report.period]}"), show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    rows = [
        ("Pull requests", report.total_prs),
        ("Merged", report.merged_count),
        ("Open", report.open_count),
        ("Repositories", report.repo_count),
        ("Lines added", report.total_additions),
        ("Lines deleted", report.total_deletions),
        ("Files changed", report.total_changed_files),
        ("Stars gained", report.total_star_increase),
    ]
    for label, value in rows:
        table.add_row(label, f"{value:,}")
    return table


def _repositories(report: Report) -> Table:
    table = Table(title="Repositories")
    for column in ("Repository", "Role", "PRs", "Merged", "Stars", "Stars gained"):
        table.add_column(column, justify="left" if column in ("Repository", "Role") else "right")
    for repo in report.repositories:
        table.add_row(
            Text(repo.name),
            Text(repo.role),
            str(repo.pr_count),
            str(repo.merged_count),
            f"{repo.stars:,}",
            f"{repo.star_increase:,}",
        )
    return table


def _languages(report: Report) -> Table:
    table = Table(title="Top languages")
    table.add_column("Language")
    table.add_column("Share", justify="right")
    for share in report.languages:
        table.add_row(Text(share.language), f"{share.percentage:.1f}%")
    return table


def _notes(report: Report) -> list[str]:
    """What the numbers above leave out, in the same words as the report page."""
    notes = [private_work_line(report), hidden_notice(report), capped_files_note(report)]
    return [note for note in notes if note]


def print_report(report: Report, console: Console) -> None:
    console.print(_summary(report))
    if report.total_prs == 0:
        console.print("No pull requests in this period.")
    for note in _notes(report):
        console.print(Text(note))
    if report.total_prs == 0:
        return
    console.print(_repositories(report))
    console.print(_languages(report))
    sizes = ", ".join(f"{size}: {count}" for size, count in report.size_distribution.items() if count)
    console.print(Text(f"PR sizes: {sizes}"))
    if report.incomplete_results:
        console.print("Note: GitHub reported incomplete search results; some PRs may be missing.")
