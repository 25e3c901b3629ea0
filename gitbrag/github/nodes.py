"""GraphQL answers -> gitbrag's models: the one place that knows GitHub's field names.

Full and incremental collection read the same query fragments (`queries.py`), so they
convert them with the same functions and can never disagree about what a field means.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from gitbrag.github.errors import UserNotFound
from gitbrag.models import ChangedFile, Profile, PullRequest, Repository, SocialAccount

Node = dict[str, Any]
ONE_SECOND = timedelta(seconds=1)


def profile(user: Node | None, login: str) -> Profile:
    """The profile from a `user { ... }` node; a null user means there is no such user."""
    if not user:
        raise UserNotFound(login)
    accounts = (user.get("socialAccounts") or {}).get("nodes") or []
    return Profile(
        login=user["login"],
        name=user.get("name") or None,
        avatar_url=user.get("avatarUrl"),
        html_url=user.get("url"),
        bio=user.get("bio") or None,
        company=user.get("company") or None,
        location=user.get("location") or None,
        blog=user.get("websiteUrl") or None,
        # GraphQL spells providers as enum values (TWITTER); REST and our pages use "twitter".
        social_accounts=[SocialAccount(provider=a["provider"].lower(), url=a["url"]) for a in accounts if a],
    )


def changed_files(node: Node) -> list[ChangedFile]:
    """A pull request node's changed files as `ChangedFile` tuples. Idempotent, so a search
    compacts each node as its page arrives: kept as GitHub sends them (a dict per file), a
    20,000-PR user's 150,000 files held 45 MB until the last page was read."""
    files = (node.get("files") or {}).get("nodes") or []
    return [
        f if isinstance(f, ChangedFile) else ChangedFile(f["path"], f["additions"], f["deletions"])
        for f in files
    ]


def pull_request(node: Node) -> PullRequest:
    return PullRequest(
        repo=node["repository"]["nameWithOwner"],
        number=node["number"],
        title=node["title"],
        url=node["url"],
        state=node["state"],
        created_at=parse_time(node["createdAt"]),
        updated_at=parse_time(node["updatedAt"]),
        closed_at=maybe_time(node.get("closedAt")),
        merged_at=maybe_time(node.get("mergedAt")),
        additions=node["additions"],
        deletions=node["deletions"],
        changed_files=node["changedFiles"],
        author_association=node["authorAssociation"],
        files=changed_files(node),
    )


def pull_key(repo: str, number: int) -> tuple[str, int]:
    """How pull requests are told apart: repository names are case-insensitive on GitHub."""
    return repo.lower(), number


def repository(node: Node) -> Repository:
    language = node.get("primaryLanguage") or {}
    return Repository(
        name_with_owner=node["nameWithOwner"],
        url=node["url"],
        description=node.get("description"),
        stargazer_count=node["stargazerCount"],
        primary_language=language.get("name"),
        private=bool(node.get("isPrivate")),
    )


def whole_second(t: datetime) -> datetime:
    return t.astimezone(UTC).replace(microsecond=0)


def iso(t: datetime) -> str:
    """GitHub's search syntax for an instant."""
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


def maybe_time(value: str | None) -> datetime | None:
    return parse_time(value) if value else None
