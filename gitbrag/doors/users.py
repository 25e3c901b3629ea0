"""`gitbrag users` and `gitbrag untrack`: the tracked users, listed and removed (issue 27).

A typo (`--user no-such-user-xyz`) must not stay tracked for good, nor a user one no longer
wants: `gitbrag users` lists every tracked user with where it came from, when its report was
last refreshed and its last error; `gitbrag untrack` forgets users in the store and removes
their pages from the site, the index and the team pages. Neither asks GitHub anything.

Exit statuses: 0 done; 1 a named user was not untracked (not tracked, or still listed in
GITBRAG_USERS or GITBRAG_TEAMS, so the next pass would track it again), or the store cannot
be reached; 2 bad usage (a name that is not a GitHub login) or configuration.
"""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import asdict, dataclass
from datetime import datetime

from gitbrag.coordination import open_store
from gitbrag.coordination.base import Store, TrackedUser
from gitbrag.coordination.errors import StoreError, StoreUnavailable
from gitbrag.doors.runtime import make_publisher
from gitbrag.models import LOGIN_RE, InvalidLogin, Login
from gitbrag.publish.publisher import Publisher
from gitbrag.publish.safepath import SiteRoot
from gitbrag.report import teams
from gitbrag.settings import Settings


@dataclass(frozen=True)
class UserRow:
    """One line of `gitbrag users` (and one object of its `--json`)."""

    login: str  # GitHub's spelling, as last seen
    source: str  # settings, cli, hook, team, site, or unknown (tracked before sources were kept)
    status: str  # ok, failing, missing (GitHub no longer knows it: not refreshed until untracked), new
    last_refreshed: str | None  # ISO 8601, UTC
    last_error: str | None
    next_due: str | None


def _iso(at: datetime | None) -> str | None:
    return at.isoformat(timespec="seconds") if at is not None else None


def configured_source(login: Login, settings: Settings) -> str | None:
    """Where the settings list `login`: GITBRAG_USERS, or a team of GITBRAG_TEAMS by name."""
    if login in map(Login, settings.users):
        return "settings"
    if any(teams.org_of(m) is None and Login(m) == login for ms in settings.teams.values() for m in ms):
        return "team"
    return None


async def user_rows(store: Store, settings: Settings) -> list[UserRow]:
    rows = []
    for user in await store.tracked():
        metas = list((await store.report_meta(user.login)).values())
        refreshed = max((m.generated_at for m in metas if m.generated_at), default=None)
        errors = [m.last_error for m in metas if m.last_error]
        due = min((m.next_due_at for m in metas), default=None)
        rows.append(
            UserRow(
                login=user.display,
                source=user.source or configured_source(user.login, settings) or "unknown",
                status=_status(user, refreshed, bool(errors)),
                last_refreshed=_iso(refreshed),
                last_error=errors[0] if errors else None,
                next_due=None if user.missing else _iso(due),
            )
        )
    return rows


def _status(user: TrackedUser, refreshed: datetime | None, failing: bool) -> str:
    if user.missing:
        return "missing"
    if failing:
        return "failing"
    return "ok" if refreshed is not None else "new"


def print_rows(rows: list[UserRow], as_json: bool) -> None:
    if as_json:
        print(json.dumps([asdict(r) for r in rows], indent=2))
        return
    if not rows:
        print("gitbrag: nobody is tracked", file=sys.stderr)
        return
    table = [("USER", "SOURCE", "STATUS", "LAST REFRESHED", "LAST ERROR")]
    table += [(r.login, r.source, r.status, r.last_refreshed or "never", r.last_error or "-") for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(4)]
    for line in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=False)) + line[4])


def _no_state(settings: Settings) -> bool:
    """No state file yet (SQLite): nobody was ever tracked here, and nothing is created."""
    return settings.redis_url is None and not settings.state_path.exists()


async def list_users(settings: Settings) -> list[UserRow]:
    if _no_state(settings):
        return []
    store = open_store(settings)
    try:
        return await user_rows(store, settings)
    finally:
        await store.close()


@dataclass
class Untracked:
    done: list[Login]
    refused: list[str]  # one line each: why a name was not untracked


async def untrack(settings: Settings, logins: list[Login]) -> Untracked:
    """Forget `logins` in the store, then write the index and team pages without them, then
    delete their folders: each file is replaced atomically, and no page written links to a
    removed one."""
    result = Untracked([], [])
    if _no_state(settings):
        result.refused += [f"{login.spelling} is not tracked" for login in logins]
        return result
    store = open_store(settings)
    try:
        publisher = make_publisher(settings)
        tracked = {u.login: u for u in await store.tracked()}
        published = set(await asyncio.to_thread(publisher.published_logins))
        for login in logins:
            if (source := configured_source(login, settings)) is not None:
                variable = "GITBRAG_USERS" if source == "settings" else "GITBRAG_TEAMS"
                result.refused.append(
                    f"{login.spelling} is listed in {variable}: remove it there first, "
                    "or the next pass tracks it again"
                )
            elif login not in tracked and login not in published:
                result.refused.append(f"{login.spelling} is not tracked")
            else:
                await store.untrack(login)
                result.done.append(login)
        if result.done:
            remaining = [u.login for u in await store.tracked()]
            spellings = {login: [tracked[login].display] if login in tracked else [] for login in result.done}
            await asyncio.to_thread(_unpublish, publisher, settings, result.done, remaining, spellings)
        publisher.close()
    finally:
        await store.close()
    return result


def _unpublish(
    publisher: Publisher,
    settings: Settings,
    gone: list[Login],
    remaining: list[Login],
    spellings: dict[Login, list[str]],
) -> None:
    """The index and team pages without `gone`, then `gone`'s folders. A team of an
    organization keeps the members its page shows (no GitHub request here), but the gone."""
    shown: dict[str, list[str]] = {}
    site = SiteRoot(publisher.site_dir)
    for name in settings.teams:
        try:
            page = site.read_bytes(f"teams/{name}/index.html").decode("utf-8", "replace")
        except OSError:
            continue
        shown[name] = teams.published_members(page, LOGIN_RE)
    resolved = teams.resolve_teams(settings.teams, {}, shown)
    publisher.teams = {name: [m for m in ms if Login(m) not in gone] for name, ms in resolved.items()}
    if publisher.site_dir.is_dir():
        publisher.publish_index(publisher.index_entries([n for n in remaining if n not in gone]))
        publisher.publish_teams(refreshed=())  # the teams `gone` leaves: their members changed
    for login in gone:
        publisher.remove_user(login, spellings.get(login, []))


def parse_logins(names: list[str]) -> tuple[list[Login], str | None]:
    """Every name parsed before anything is touched; the first that is not a login, if any."""
    logins = []
    for name in dict.fromkeys(names):
        try:
            logins.append(Login(name))
        except InvalidLogin:
            return [], name
    return logins, None


def users_command(settings: Settings, as_json: bool) -> int:
    try:
        rows = asyncio.run(list_users(settings))
    except StoreUnavailable as exc:
        print(f"gitbrag: the store cannot be reached: {exc.headline}", file=sys.stderr)
        return 1
    except StoreError as exc:
        print(f"gitbrag: cannot use the state store: {exc}", file=sys.stderr)
        return 2
    print_rows(rows, as_json)
    return 0


def untrack_command(settings: Settings, names: list[str]) -> int:
    logins, bad = parse_logins(names)
    if bad is not None:
        print(f"gitbrag: {bad!r} is not a valid GitHub login; nothing untracked", file=sys.stderr)
        return 2
    try:
        result = asyncio.run(untrack(settings, logins))
    except StoreUnavailable as exc:
        print(f"gitbrag: the store cannot be reached: {exc.headline}; nothing untracked", file=sys.stderr)
        return 1
    except StoreError as exc:
        print(f"gitbrag: cannot use the state store: {exc}", file=sys.stderr)
        return 2
    for login in result.done:
        print(f"untracked {login.spelling}: its pages are removed from the site")
    for line in result.refused:
        print(f"gitbrag: {line}", file=sys.stderr)
    return 1 if result.refused else 0
