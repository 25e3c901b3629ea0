"""Time `Publisher.publish_static` (the sweep for dead writers' temporary files) on a big site.

    PYTHONPATH=<tree> .venv/bin/python benchmarks/sweep.py [PEOPLE] [WORK]

Each person gets a folder of ten period folders with two empty files each (index.html and
report.json): 11 folders and 20 files a person, as many entries as a site's folders hold, with
no content to read (the sweep never reads one). Builds the site once in WORK (kept, so a second
run and another tree reuse it), then prints the seconds of one listing of the site's root, of
the first `publish_static` of a process (a code with writer marks sweeps it whole the first
time, and when a writer died), of a second one in the same process, of one by a new process (a
new publisher after a clean one), and of one after a planted dead writer's mark.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import gitbrag
from gitbrag.publish import safepath
from gitbrag.publish.publisher import Publisher

PERIODS = ("1_year", "2_years", "5_years", "all_time", "2026", "2025", "2024", "2023", "2022", "2021")


def build(site: Path, people: int) -> None:
    """The folders and empty files, once (a marker file says the site is whole)."""
    done = site / f"built-{people}.txt"
    if done.exists():
        return
    for n in range(people):
        person = site / f"person-{n:06d}"
        for period in PERIODS:
            folder = person / period
            folder.mkdir(parents=True, exist_ok=True)
            for name in ("index.html", "report.json"):
                os.close(os.open(folder / name, os.O_CREAT | os.O_WRONLY, 0o644))
    done.write_text("built\n")


def timed(what: str, run: object) -> None:
    started = time.perf_counter()
    assert callable(run)
    run()
    print(f"{what}: {time.perf_counter() - started:.3f} s", flush=True)


def main() -> None:
    people = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    work = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(tempfile.gettempdir()) / "gitbrag-sweep-bench"
    site = work / "site"
    started = time.perf_counter()
    build(site, people)
    seconds = time.perf_counter() - started
    print(f"code: {Path(gitbrag.__file__).parent}; {people:,} people; built in {seconds:.0f} s")
    timed("one listing of the root (os.scandir)", lambda: sum(1 for _ in os.scandir(site)))
    publisher = Publisher(site)
    timed("publish_static, first of a process", publisher.publish_static)
    timed("publish_static, again in the same process", publisher.publish_static)
    getattr(publisher, "close", lambda: None)()
    timed("publish_static, a new process after a clean one", Publisher(site).publish_static)
    dead = site / f"{getattr(safepath, 'MARK_PREFIX', '.gitbrag-writer.')}0123456789ab.lock"
    dead.write_bytes(b"gitbrag writer, process 1\n")  # a killed writer's mark
    timed("publish_static, after a killed writer", Publisher(site).publish_static)
    dead.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
