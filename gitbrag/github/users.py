"""Which names GitHub knows, a hundred at a time (`queries.users_query`).

Why: a name GitHub does not know (a typo in `GITBRAG_USERS`, a hook call for a name that
never existed) cost a whole refresh to find out: a search query, its claim and three log
lines. Five thousand of them spent an hour's budget before the real users were reached.
Asked as aliases of one query, a hundred names cost one point and one round trip.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from gitbrag.github import queries
from gitbrag.github.client import GitHubClient
from gitbrag.github.errors import MalformedAnswer
from gitbrag.models import Login, is_login


@dataclass
class Lookup:
    """What GitHub said of each name asked about."""

    known: dict[Login, str] = field(default_factory=dict)  # GitHub's spelling, by Login
    unknown: list[Login] = field(default_factory=list)


async def look_up(client: GitHubClient, logins: Sequence[Login], batch: int = queries.USERS_BATCH) -> Lookup:
    """Ask GitHub about `logins`, `batch` per query. Raises the client's errors (`GitHubError`)
    when GitHub cannot say; what earlier batches found is then lost with it, which costs at
    most a query per hundred names again on the next pass."""
    found = Lookup()
    for start in range(0, len(logins), batch):
        chunk = list(logins[start : start + batch])
        variables: dict[str, Any] = {f"login{i}": login.spelling for i, login in enumerate(chunk)}
        data = await client.graphql(queries.users_query(len(chunk)), variables, allow_not_found=True)
        for i, login in enumerate(chunk):
            node = _answer_for(data, f"u{i}", login)
            if node is None:  # GitHub's null (with a NOT_FOUND error): no such user
                found.unknown.append(login)
            else:
                found.known[login] = str(node["login"])
    return found


def _answer_for(data: dict[str, Any], alias: str, login: Login) -> dict[str, Any] | None:
    """GitHub's node for `login`, or None when GitHub says there is no such user.

    Anything else is a malformed answer, never "unknown": a user GitHub does not know is
    untracked, so an answer missing its alias (a proxy's or a hostile server's) must not
    untrack anyone. GitHub matches logins case-insensitively and answers with its own spelling."""
    if alias not in data:
        raise MalformedAnswer(f"GitHub's answer to the user lookup has no {alias} (for {login.spelling})")
    node = data[alias]
    if node is None:
        return None
    if not isinstance(node, dict) or not _same(str(node.get("login", "")), login):
        raise MalformedAnswer(f"GitHub answered the user lookup for {login.spelling} with another user")
    return node


def _same(answered: str, login: Login) -> bool:
    """GitHub's spelling of `login` (a name it would not accept as a login is not one)."""
    return is_login(answered) and Login(answered) == login
