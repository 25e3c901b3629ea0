"""Command-line doors: `gitbrag-refresh` (cron pass or service), `gitbrag report`, and
`gitbrag users` / `gitbrag untrack` (`gitbrag.doors.users`).

Exit codes of `gitbrag-refresh --once`: 0 when everything it attempted succeeded,
1 when some report failed (its old page stays), 2 on bad usage or configuration.
Expected problems (no token, GitHub unreachable, a bad setting) print one line,
never a traceback. A `GITBRAG_*` variable that is no setting (a typo) is warned about,
naming the closest setting; a pass with nobody to track says so.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shlex
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from gitbrag.coordination.cache import make_cache
from gitbrag.doors.runtime import (
    UsageError,
    demo_github,
    make_client,
    open_refresher,
    preflight,
    report_options,
    settings_for,
)
from gitbrag.doors.shutdown import Interrupted, Shutdown, ShuttingDown
from gitbrag.github.errors import GitHubError
from gitbrag.logs import configure_logging, logs_above
from gitbrag.models import PERIODS, InvalidLogin, Login, Report
from gitbrag.periods import PERIOD_SYNTAX, parse_period
from gitbrag.refresh import PassResult, Refresher, UserOutcome
from gitbrag.settings import ConfigError, Settings, unknown_settings

log = logging.getLogger(__name__)

# This project is installed from its repository or its image; PyPI's "gitbrag" is another one.
SOURCE = "self-hosted brag reports; installed from its repository or image, not PyPI's 'gitbrag'"
MORE = (
    "Settings are GITBRAG_* environment variables (or a .env file in the working folder), e.g.\n"
    "GITHUB_TOKEN, GITBRAG_USERS, GITBRAG_SITE_DIR; docs/configuration.md lists them all, and the\n"
    "README says where to start.\n"
)


def _version(prog: str) -> str:
    try:
        number = version("gitbrag")
    except PackageNotFoundError:  # run from a source tree that was never installed
        number = "unknown"
    return f"{prog} {number} ({SOURCE})"


def _warn_unknown_settings() -> None:
    """One warning per `GITBRAG_*` variable that is no setting, with the closest one."""
    for warning in unknown_settings():
        log.warning(warning, extra={"variable": warning.split(" ", 1)[0]})


# --- gitbrag-refresh -------------------------------------------------------------------


def _refresh_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="gitbrag-refresh",
        description="Regenerate stale gitbrag reports and publish them into the site directory.",
        epilog=MORE
        + "Exit status (--once): 0 all attempted reports refreshed, 1 some failed (old pages kept),\n"
        "2 bad usage or configuration, 130/143 stopped by SIGINT/SIGTERM.\n"
        "One user's report on the terminal: gitbrag report USER.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=_version("gitbrag-refresh"))
    p.add_argument("--once", action="store_true", help="run one pass and exit (for cron)")
    p.add_argument(
        "--user",
        action="append",
        default=[],
        metavar="U",
        help="track this GitHub user and refresh them now (repeatable, or comma-separated)",
    )
    p.add_argument("--force", action="store_true", help="regenerate even reports that are not stale")
    p.add_argument(
        "--demo",
        action="store_true",
        help="no token, no network: a built-in fake GitHub serves made-up demo users, published into "
        "their own folder (./demo-site, unless --site-dir or GITBRAG_SITE_DIR) and tracked in their own "
        "state file (demo.sqlite3); like any run, only missing or stale reports are regenerated",
    )
    p.add_argument("--site-dir", metavar="D", help="where to publish (default: GITBRAG_SITE_DIR or ./site)")
    p.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="on a terminal, show every INFO log line above the progress bar (default: warnings only)",
    )
    return p


def refresh_main(argv: list[str] | None = None) -> int:
    args = _refresh_parser().parse_args(argv)
    users = [u.strip() for arg in args.user for u in arg.split(",") if u.strip()]
    try:
        settings = settings_for(args.site_dir)
        # JSON logs are for machines: no bar in their stream, even on a terminal.
        on_terminal = args.once and sys.stderr.isatty() and settings.log_format == "text"
        configure_logging(settings.log_format, settings.log_level, secrets=settings.secrets())
        _warn_unknown_settings()
        if not args.once:
            from gitbrag.doors.service import run_service

            return run_service(settings, users=users, demo=args.demo)
        with _terminal(on_terminal, _terminal_level(settings, args.verbose)) as console:
            if args.demo:
                with demo_github(settings) as (demo_settings, demo_users):
                    settings = demo_settings  # its own site folder: the hint names it
                    _say_what_the_demo_does(demo_settings, demo_users, args.force)
                    result = asyncio.run(
                        _once(demo_settings, demo_users, users, args.force, console, demo=True)
                    )
            else:
                result = asyncio.run(_once(settings, settings.users, users, args.force, console))
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
    print(result.summary())  # the last line of stdout, which scripts parse: keep its form
    if not (result.refreshed or result.skipped or result.failed):
        print(NOBODY_TRACKED, file=sys.stderr)
    elif on_terminal:  # on stderr, after it: a person reads the screen, cron's stdout is unchanged
        print(view_hint(settings.site_dir), file=sys.stderr)
    return 1 if result.failed else 0


NOBODY_TRACKED = (
    "gitbrag-refresh: nobody is tracked, so nothing was refreshed: set GITBRAG_USERS=login,... "
    "(in the environment or .env) or pass --user LOGIN"
)


def _terminal_level(settings: Settings, verbose: bool) -> str:
    """What a person at a terminal sees above the bar: warnings and errors (the configured
    level, if that is higher), or with `-v` the configured level (INFO unless set)."""
    if verbose or settings.log_level == "ERROR":
        return settings.log_level
    return "WARNING"


def _say_what_the_demo_does(settings: Settings, users: list[str], force: bool) -> None:
    """`--demo` changes where the data comes from, not what a run does: one line says so."""
    regenerates = "every report (--force)" if force else "only missing or stale reports (--force: all)"
    log.info(
        f"demo: a built-in fake GitHub with made-up users; regenerates {regenerates}",
        extra={"users": len(users), "state": str(settings.state_path)},
    )


def view_hint(site_dir: Path) -> str:
    """Where the site is and the command that serves it, ready to paste (quoted, and
    relative to the working directory when the site is below it): three short lines, so an
    80-column terminal breaks none of them in the middle of a word (a path is what it is)."""
    site = Path(os.path.abspath(site_dir))
    try:
        shown = str(site.relative_to(Path.cwd()))
    except ValueError:
        shown = str(site)
    return (
        f"site: {site}\n"
        f"view it with: python3 -m http.server --directory {shlex.quote(shown)} 8000\n"
        "then open http://127.0.0.1:8000/"
    )


async def _once(
    settings: Settings,
    track: list[str],
    refresh: list[str],
    force: bool,
    console: Console | None,
    *,
    demo: bool = False,
) -> PassResult:
    shutdown = Shutdown.on_signals()  # SIGTERM/SIGINT: stop claiming, cut waits on GitHub short
    try:
        async with open_refresher(settings, shutdown=shutdown, demo=demo) as refresher:
            with _progress(console, refresher) as (on_start, on_done):
                result = await refresher.run_pass(
                    track=track, refresh=refresh, force=force, on_start=on_start, on_done=on_done
                )
    except ShuttingDown:  # stopped before the pass began (the preflight): nothing was done
        result = PassResult()
    if shutdown.signum is not None:
        raise Interrupted(result.summary(), shutdown.signum)
    return result


@contextmanager
def _terminal(on_terminal: bool, level: str) -> Iterator[Console | None]:
    """On a terminal, one console for the logs at `level` and the progress bar (logs print
    above the bar); in cron, None: the plain structured log lines tell the story."""
    if not on_terminal:
        yield None
        return
    console = Console(stderr=True)
    with logs_above(console, level):
        yield console


ProgressHooks = tuple[Callable[[int], None] | None, Callable[[UserOutcome], None] | None]


@contextmanager
def _progress(console: Console | None, refresher: Refresher) -> Iterator[ProgressHooks]:
    """A live bar counted in reports, the summary's unit (a user's generation makes all
    its periods' reports); it appears once the pass knows how many it will attempt, so it
    never shows 0/0, and not at all when there is nothing to do."""
    if console is None:
        yield None, None
        return
    progress = Progress(
        TextColumn("refreshing reports"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=console,
        transient=True,
    )
    task = progress.add_task("", total=None, start=False)

    def on_start(users: int) -> None:
        if users:
            progress.update(task, total=users * len(PERIODS))
            progress.start_task(task)
            progress.start()

    def on_done(outcome: UserOutcome) -> None:
        # A generation that made more reports than the rolling periods grows the total with them.
        reports = max(len(outcome.periods), len(PERIODS))
        total = (progress.tasks[0].total or 0) + reports - len(PERIODS)
        name = refresher.spelling(outcome.login)
        progress.update(task, total=total, advance=reports, description=f"{name}: {outcome.status}")

    try:
        yield on_start, on_done
    finally:
        progress.stop()


# --- gitbrag report ---------------------------------------------------------------------


def _report_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="gitbrag",
        description="GitHub contribution (brag) reports: `gitbrag report USER` prints one to the terminal;\n"
        "`gitbrag users` lists the tracked users, `gitbrag untrack USER...` stops tracking them.",
        epilog="The site (a report page per user and period, brag.md, the index) is published by\n"
        "gitbrag-refresh: `gitbrag-refresh --once` from cron, `gitbrag-refresh` as a service,\n"
        "`gitbrag-refresh --once --demo` to try it without a token (see gitbrag-refresh --help).\n"
        + MORE
        + "Exit status of report: 0 printed, 1 GitHub failed or does not know the user, 2 bad usage or\n"
        "configuration (users, untrack: see gitbrag users --help, gitbrag untrack --help).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=_version("gitbrag"))
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("report", help="print one user's report to the terminal")
    r.add_argument("username")
    r.add_argument(
        "--period",
        default="1_year",
        type=_period_argument,
        metavar="P",
        help=f"the report's period: {PERIOD_SYNTAX} (default: 1_year)",
    )
    r.add_argument(
        "--format",
        choices=("table", "json", "markdown"),
        default="table",
        help="tables (default), report.json, or the Markdown brag document (brag.md)",
    )
    r.add_argument("--json", action="store_true", help="the same as --format json")
    r.add_argument("--demo", action="store_true", help="use the built-in fake GitHub")
    u = sub.add_parser(
        "users",
        help="list the tracked users: where each came from, when last refreshed, its last error",
        epilog="Exit status: 0 listed, 1 the store cannot be reached, 2 bad configuration.",
    )
    u.add_argument("--json", action="store_true", help="a JSON array, one object per user")
    t = sub.add_parser(
        "untrack",
        help="stop tracking users: removed from the store, and their pages from the site",
        epilog="Exit status: 0 all untracked, 1 some not (not tracked, or listed in GITBRAG_USERS or\n"
        "GITBRAG_TEAMS: remove them there first), 2 bad usage (not a GitHub login) or configuration.",
    )
    t.add_argument("usernames", nargs="+", metavar="USER")
    for command in (u, t):
        command.add_argument("--site-dir", metavar="D", help="the site (default: GITBRAG_SITE_DIR or ./site)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _report_parser().parse_args(argv)
    if args.command in ("users", "untrack"):
        return _users_main(args)
    try:
        login = Login(args.username)  # before any setting, token or request
    except InvalidLogin:
        print(f"gitbrag: {args.username!r} is not a valid GitHub login", file=sys.stderr)
        return 2
    fmt = "json" if args.json else args.format
    try:
        # It reads GitHub and prints: no site or state folder is checked or made, so it runs
        # from any folder, a read-only one included.
        settings = settings_for(None, paths=False)
        configure_logging(settings.log_format, "WARNING", secrets=settings.secrets())
        _warn_unknown_settings()
        with _waiting(f"Collecting {args.username}'s pull requests from GitHub..."):
            if args.demo:
                with demo_github(settings, paths=False) as (demo_settings, _):
                    report = asyncio.run(_report(demo_settings, login, args.period))
            else:
                report = asyncio.run(_report(settings, login, args.period))
    except (ConfigError, UsageError) as exc:
        print(f"gitbrag: {exc}", file=sys.stderr)
        return 2
    except GitHubError as exc:
        print(f"gitbrag: {exc}", file=sys.stderr)
        return 1
    _print(report, fmt)
    return 0


def _users_main(args: argparse.Namespace) -> int:
    """`gitbrag users` and `gitbrag untrack` (`gitbrag.doors.users`): the store and the site only."""
    from gitbrag.doors.users import untrack_command, users_command

    try:
        settings = settings_for(args.site_dir, paths=False)
        configure_logging(settings.log_format, "WARNING", secrets=settings.secrets())
        _warn_unknown_settings()
    except (ConfigError, UsageError) as exc:
        print(f"gitbrag: {exc}", file=sys.stderr)
        return 2
    if args.command == "users":
        return users_command(settings, args.json)
    return untrack_command(settings, args.usernames)


def _waiting(what: str) -> AbstractContextManager[object]:
    """A spinner on stderr while the report is collected (seconds, for a busy user), on a
    terminal only: a pipe or a file gets nothing but the report."""
    if not sys.stderr.isatty():
        return nullcontext()
    return Console(stderr=True).status(what, spinner="dots")


def _print(report: Report, fmt: str) -> None:
    from gitbrag.doors.terminal import print_report
    from gitbrag.publish.markdown import brag_markdown

    if fmt == "json":
        print(report.model_dump_json(indent=2))
    elif fmt == "markdown":
        print(brag_markdown(report), end="")
    else:
        print_report(report, Console())


def _period_argument(name: str) -> str:
    try:
        parse_period(name)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return name


async def _report(settings: Settings, username: Login, period: str) -> Report:
    from gitbrag.clock import utcnow
    from gitbrag.github.collect import collect_user
    from gitbrag.report.build import build_report, star_moments

    async with make_client(settings) as client:
        await preflight(settings)
        now = utcnow()
        zone = report_options(settings).zone_for(username)  # the user's calendar decides
        if parse_period(period, zone).window(now) is None:  # before any GitHub request
            raise UsageError(f"--period {period} has not begun yet")
        options = report_options(settings)
        moments = star_moments(now, zone, options.periods)
        collection = await collect_user(
            client, username, now=now, cache=make_cache(), private=settings.private, moments=moments
        )
        return build_report(collection, period, until=now, generated_at=now, options=options)
