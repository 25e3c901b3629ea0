"""Command-line doors: `gitbrag-refresh` (cron pass or service) and `gitbrag report`.

Exit codes of `gitbrag-refresh --once`: 0 when everything it attempted succeeded,
1 when some report failed (its old page stays), 2 on bad usage or configuration.
Expected problems (no token, GitHub unreachable, a bad setting) print one line,
never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from gitbrag.cache import make_cache
from gitbrag.github.errors import GitHubError
from gitbrag.logs import configure_logging
from gitbrag.models import PERIODS
from gitbrag.refresh import PassResult, UserOutcome
from gitbrag.runtime import UsageError, demo_github, make_client, open_refresher, preflight, settings_for
from gitbrag.settings import ConfigError, Settings
from gitbrag.shutdown import Interrupted, Shutdown

# --- gitbrag-refresh -------------------------------------------------------------------


def _refresh_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="gitbrag-refresh",
        description="Regenerate stale gitbrag reports and publish them into the site directory.",
    )
    p.add_argument("--once", action="store_true", help="run one pass and exit (for cron)")
    p.add_argument(
        "--user",
        action="append",
        default=[],
        metavar="U",
        help="track this GitHub user and refresh them now (repeatable, or comma-separated)",
    )
    p.add_argument("--force", action="store_true", help="regenerate even reports that are not stale")
    p.add_argument("--demo", action="store_true", help="use the built-in fake GitHub and its demo users")
    p.add_argument("--site-dir", metavar="D", help="where to publish (default: GITBRAG_SITE_DIR or ./site)")
    return p


def refresh_main(argv: list[str] | None = None) -> int:
    args = _refresh_parser().parse_args(argv)
    users = [u.strip() for arg in args.user for u in arg.split(",") if u.strip()]
    try:
        settings = settings_for(args.site_dir)
        configure_logging(settings.log_format, settings.log_level, secrets=settings.secrets())
        if not args.once:
            from gitbrag.service import run_service

            return run_service(settings, users=users, demo=args.demo)
        if args.demo:
            with demo_github(settings) as (demo_settings, demo_users):
                result = asyncio.run(_once(demo_settings, [], users + demo_users, force=True))
        else:
            result = asyncio.run(_once(settings, settings.users, users, force=args.force))
    except (ConfigError, UsageError) as exc:
        print(f"gitbrag-refresh: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gitbrag-refresh: interrupted", file=sys.stderr)
        return 1
    except Interrupted as stopped:  # claims released; what it did not finish is due again
        print(stopped.summary)
        print(f"gitbrag-refresh: {stopped}; unfinished reports are left for the next run", file=sys.stderr)
        return 128 + stopped.signum  # the shell's convention for "ended by this signal"
    print(result.summary())
    return 1 if result.failed else 0


async def _once(settings: Settings, track: list[str], refresh: list[str], *, force: bool) -> PassResult:
    shutdown = Shutdown.on_signals()  # SIGTERM/SIGINT: stop claiming, cut waits on GitHub short
    async with open_refresher(settings, shutdown=shutdown) as refresher:
        with _progress() as (on_start, on_done):
            result = await refresher.run_pass(
                track=track, refresh=refresh, force=force, on_start=on_start, on_done=on_done
            )
    if shutdown.signum is not None:
        raise Interrupted(result.summary(), shutdown.signum)
    return result


@contextmanager
def _progress() -> Iterator[tuple[Callable[[int], None] | None, Callable[[UserOutcome], None] | None]]:
    """A progress bar on a terminal; in cron the structured log lines tell the story."""
    if not sys.stderr.isatty():
        yield None, None
        return
    progress = Progress(
        TextColumn("refreshing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=Console(stderr=True),
        transient=True,
    )
    task = progress.add_task("", total=0)

    def on_start(total: int) -> None:
        progress.update(task, total=total)

    def on_done(outcome: UserOutcome) -> None:
        progress.update(task, advance=1, description=f"{outcome.login}: {outcome.status}")

    with progress:
        yield on_start, on_done


# --- gitbrag report ---------------------------------------------------------------------


def _report_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gitbrag", description="GitHub contribution reports.")
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("report", help="print one user's report to the terminal")
    r.add_argument("username")
    r.add_argument("--period", default="1_year", choices=PERIODS)
    r.add_argument("--json", action="store_true", help="print report.json instead of a table")
    r.add_argument("--demo", action="store_true", help="use the built-in fake GitHub")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _report_parser().parse_args(argv)
    try:
        settings = settings_for(None)
        configure_logging(settings.log_format, "WARNING", secrets=settings.secrets())
        if args.demo:
            with demo_github(settings) as (demo_settings, _):
                return asyncio.run(_report(demo_settings, args.username, args.period, args.json))
        return asyncio.run(_report(settings, args.username, args.period, args.json))
    except (ConfigError, UsageError) as exc:
        print(f"gitbrag: {exc}", file=sys.stderr)
        return 2


async def _report(settings: Settings, username: str, period: str, as_json: bool) -> int:
    from gitbrag.github.collect import collect_user
    from gitbrag.refresh import utcnow
    from gitbrag.report import build_report
    from gitbrag.terminal import print_report

    async with make_client(settings) as client:
        await preflight(settings)
        now = utcnow()
        try:
            collection = await collect_user(
                client, username, now=now, cache=make_cache(), private=settings.private
            )
        except GitHubError as exc:
            print(f"gitbrag: {exc}", file=sys.stderr)
            return 1
        report = build_report(collection, period, until=now, generated_at=now)  # type: ignore[arg-type]
    if as_json:
        print(report.model_dump_json(indent=2))
    else:
        print_report(report, Console())
    return 0
