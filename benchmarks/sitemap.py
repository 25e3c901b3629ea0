"""Time `Publisher.publish_index` with a base URL (the sitemap included) over synthetic rows.

    PYTHONPATH=<tree> .venv/bin/python benchmarks/sitemap.py [PEOPLE] [WORK]

Each person gets the folders of nine periods (an empty report.json and index.html each), as the
sitemap of the code before the split stat-ed them. Rows carry their periods when `IndexEntry`
has the field (what generated.json keeps). Prints the seconds of a first publish, of one again
unchanged (a new publisher: a new process), of one with one person's row changed, and the
sitemap files' count and largest size.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import gitbrag
from gitbrag.publish.publisher import IndexEntry, Publisher

PERIODS = ("1_year", "2_years", "5_years", "all_time", "2026", "2025", "2024", "2023", "2022")
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def entry(n: int, fields: set[str], at: datetime = NOW) -> IndexEntry:
    counts = tuple((n * 7 + m) % 23 for m in range(13))
    extra: dict[str, Any] = {"periods": PERIODS} if "periods" in fields else {}
    return IndexEntry(
        login=f"person-{n:06d}", name=f"Person Number {n}",
        avatar_url=f"https://avatars.githubusercontent.com/u/{10_000_000 + n}?v=4",
        total_prs=sum(counts), merged_count=sum(counts) // 2, generated_at=at,
        first_month="2025-12", per_month=counts, authored_lines=100 * n, **extra,
    )  # fmt: skip


def timed(site: Path, entries: list[IndexEntry]) -> float:
    started = time.perf_counter()
    Publisher(site, base_url="https://brag.example.org/").publish_index(entries)
    return round(time.perf_counter() - started, 3)


def main(people: int, work: Path) -> dict[str, object]:
    fields = {f.name for f in dataclasses.fields(IndexEntry)}
    with tempfile.TemporaryDirectory(dir=work) as folder:
        site = Path(folder)
        for n in range(people):
            for period in PERIODS:
                page = site / f"person-{n:06d}" / period
                page.mkdir(parents=True)
                (page / "report.json").touch()
                (page / "index.html").touch()
        entries = [entry(n, fields) for n in range(people)]
        first = timed(site, entries)
        again = timed(site, entries)
        entries[people // 2] = entry(people // 2, fields, NOW.replace(day=2))
        one = timed(site, entries)
        maps = sorted(site.glob("sitemap*.xml"))
        return {
            "gitbrag": gitbrag.__file__, "people": people, "first": first, "again": again,
            "one_changed": one, "sitemap_files": len(maps),
            "largest_bytes": max(p.stat().st_size for p in maps),
        }  # fmt: skip


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    print(json.dumps(main(count, Path(sys.argv[2]) if len(sys.argv) > 2 else Path(tempfile.gettempdir()))))
