"""Teams (`GITBRAG_TEAMS="platform=alice,bob,carol;web=dave,erin"`): one page per team and
period, `site/teams/<team>/index.html` (the past year) and `site/teams/<team>/<period>/`,
adding up its members' published reports. Pure functions: reports in, a `TeamReport` out.

A listed member must be a tracked user: a team adds nobody to the tracked set (that would let
a settings typo spend the rate limit). A member with no published report for the period is
listed as "not yet published" and counts for nothing until their report is there.

A member `org:NAME` stands for the organization's public members (`gitbrag.github.orgs`):
the refresher lists them at the start of every pass, tracks them like listed users, and
publishes the team with them (`resolve_teams`); concealed members are never listed by
GitHub to a non-member, nor by REST's public list to a member, so they never reach a page. When
they cannot be listed, the members the team had are kept (`published_members` reads them
back from its page when the process has not listed them yet).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from gitbrag.models import LanguageShare, Login, Report, TimelinePoint

# A team's name is its folder under site/teams/: lower-case letters, digits, "-" and "_".
TEAM_RE = re.compile(r"^[a-z0-9](?:[a-z0-9_-]{0,38}[a-z0-9])?$")
TOP_LANGUAGES = 10
TOP_REPOSITORIES = 25
ORG_PREFIX = "org:"  # `web=org:octo-org`: the organization's public members
_MEMBER_ATTRIBUTE = re.compile(r'data-member="([^"<>]+)"')


def parse_teams(value: str, is_login: re.Pattern[str]) -> dict[str, list[str]]:
    """`"platform=alice,bob;web=dave"` → `{"platform": ["alice", "bob"], "web": ["dave"]}`.

    Logins are kept as given (the site keys them in lower case). `ValueError` says which
    entry is wrong, never echoing more than the entry's position and the rule it breaks."""
    teams: dict[str, list[str]] = {}
    entries = [e.strip() for e in value.split(";") if e.strip()]
    for number, entry in enumerate(entries, start=1):
        name, sep, members = entry.partition("=")
        name = name.strip()
        if not sep:
            raise ValueError(f"team #{number} needs the form name=login,login")
        if not TEAM_RE.fullmatch(name):
            raise ValueError(f"team #{number}: the name must be lower-case letters, digits, '-' or '_'")
        if name in teams:
            raise ValueError(f"team #{number}: {name!r} is named twice")
        logins = [m.strip() for m in members.split(",") if m.strip()]
        if not logins:
            raise ValueError(f"team #{number} ({name}) has no members")
        for position, login in enumerate(logins, start=1):
            org = org_of(login)
            if org is not None and not is_login.fullmatch(org):
                raise ValueError(
                    f"team #{number} ({name}): member #{position} needs an organization name after org:"
                )
            if org is None and not is_login.fullmatch(login):
                raise ValueError(f"team #{number} ({name}): member #{position} is not a GitHub username")
        logins = [f"{ORG_PREFIX}{org}" if (org := org_of(m)) is not None else m for m in logins]
        teams[name] = _once(logins)
    return teams


def _once(members: Sequence[str]) -> list[str]:
    """Each member once (logins are case-insensitive), the first spelling and place kept."""
    kept: dict[str, str] = {}
    for member in members:
        kept.setdefault(_member_key(member), member)
    return list(kept.values())


def _member_key(member: str) -> str:
    """A member however it is spelt: its Login, or `org:` and the organization's."""
    org = org_of(member)
    return Login(member) if org is None else ORG_PREFIX + Login(org)


def org_of(member: str) -> str | None:
    """`"org:octo-org"` -> `"octo-org"`; None for a login."""
    return member[len(ORG_PREFIX) :].strip() if member[: len(ORG_PREFIX)].lower() == ORG_PREFIX else None


def orgs_in(teams: Mapping[str, Sequence[str]]) -> list[str]:
    """Every organization the teams name, once (names are case-insensitive), in order."""
    found: dict[str, str] = {}
    for members in teams.values():
        for member in members:
            if (org := org_of(member)) is not None:
                found.setdefault(Login(org), org)
    return list(found.values())


def resolve_teams(
    teams: Mapping[str, Sequence[str]],
    members_of: Mapping[str, Sequence[str]],
    shown: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, list[str]]:
    """The teams with each `org:NAME` replaced by the organization's public members
    (`members_of`, keyed by the organization's Login), listed members first, each login once.

    An organization missing from `members_of` (GitHub could not list it, and this process
    never did) contributes nothing, except that a team holding one keeps the members its
    published page shows (`shown`, by team), so a failure never empties a team page."""
    resolved: dict[str, list[str]] = {}
    for name, members in teams.items():
        logins: list[str] = []
        unknown = False
        for member in members:
            org = org_of(member)
            if org is None:
                logins.append(member)
            elif Login(org) in members_of:
                logins += members_of[Login(org)]
            else:
                unknown = True
        if unknown:
            logins += (shown or {}).get(name, ())
        resolved[name] = _once(logins)
    return resolved


def published_members(page: str, is_login: re.Pattern[str]) -> list[str]:
    """The member logins a published team page lists (`data-member`, lower case), in order."""
    return list(dict.fromkeys(m for m in _MEMBER_ATTRIBUTE.findall(page) if is_login.fullmatch(m)))


@dataclass(frozen=True)
class MemberRow:
    login: str
    name: str | None
    avatar_url: str | None
    total_prs: int
    merged_count: int
    repo_count: int
    lines: int


@dataclass(frozen=True)
class TeamRepository:
    name: str
    url: str
    pr_count: int
    merged_count: int
    members: tuple[str, ...]  # logins of the members who contributed there, most PRs first


@dataclass(frozen=True)
class TeamReport:
    """A team's members' reports for one period, added up. `timeline` and `timeline_unit`
    have a report's meaning, so the report page's timeline partial draws it as is."""

    team: str
    period: str
    members: list[MemberRow]  # ranked: most merged pull requests first
    not_published: list[str]  # members with no report for the period yet
    total_prs: int
    merged_count: int
    open_count: int
    repo_count: int  # distinct repositories
    authored_additions: int
    authored_deletions: int
    languages: list[LanguageShare]
    repositories: list[TeamRepository]  # the most pull requests first, at most TOP_REPOSITORIES
    timeline: list[TimelinePoint]
    timeline_unit: str
    generated_at: datetime | None  # the newest member report's
    reviews: None = field(default=None)  # the timeline partial asks; teams have no reviews total


def team_report(team: str, period: str, members: Sequence[str], reports: Mapping[str, Report]) -> TeamReport:
    """Add up `reports` (by Login) of `members` for `period`."""
    found = [reports[Login(m)] for m in members if Login(m) in reports]
    missing = [m for m in members if Login(m) not in reports]
    rows = sorted((_member(r) for r in found), key=lambda m: (-m.merged_count, -m.total_prs, Login(m.login)))
    return TeamReport(
        team=team,
        period=period,
        members=rows,
        not_published=missing,
        total_prs=sum(r.total_prs for r in found),
        merged_count=sum(r.merged_count for r in found),
        open_count=sum(r.open_count for r in found),
        repo_count=len({repo.name for r in found for repo in r.repositories}),
        authored_additions=sum(r.authored_additions for r in found),
        authored_deletions=sum(r.authored_deletions for r in found),
        languages=combined_languages(found),
        repositories=combined_repositories(found),
        timeline=combined_timeline(found),
        timeline_unit=found[0].timeline_unit if found else "month",
        generated_at=max((r.generated_at for r in found), default=None),
    )


def _member(report: Report) -> MemberRow:
    return MemberRow(
        login=report.username,
        name=report.profile.name,
        avatar_url=report.profile.avatar_url,
        total_prs=report.total_prs,
        merged_count=report.merged_count,
        repo_count=report.repo_count,
        lines=report.authored_additions + report.authored_deletions,
    )


def combined_languages(reports: Sequence[Report]) -> list[LanguageShare]:
    """Lines per language summed over the members, shares recomputed over the sum."""
    lines: dict[str, int] = {}
    for report in reports:
        for share in report.languages:
            lines[share.language] = lines.get(share.language, 0) + share.lines
    total = sum(lines.values())
    ranked = sorted(lines.items(), key=lambda item: (-item[1], item[0]))[:TOP_LANGUAGES]
    return [
        LanguageShare(language=lang, lines=n, percentage=round(100 * n / total, 1) if total else 0.0)
        for lang, n in ranked
    ]


def combined_repositories(reports: Sequence[Report]) -> list[TeamRepository]:
    """Each repository once, with every member's pull requests there added up."""
    prs: dict[str, int] = {}
    merged: dict[str, int] = {}
    urls: dict[str, str] = {}
    who: dict[str, list[tuple[int, str]]] = {}
    for report in reports:
        for repo in report.repositories:
            prs[repo.name] = prs.get(repo.name, 0) + repo.pr_count
            merged[repo.name] = merged.get(repo.name, 0) + repo.merged_count
            urls[repo.name] = repo.url
            who.setdefault(repo.name, []).append((repo.pr_count, report.username))
    ranked = sorted(prs, key=lambda name: (-prs[name], name.lower()))[:TOP_REPOSITORIES]
    return [
        TeamRepository(
            name=name, url=urls[name], pr_count=prs[name], merged_count=merged[name],
            members=tuple(login for _, login in sorted(who[name], key=lambda w: (-w[0], Login(w[1])))),
        )
        for name in ranked
    ]  # fmt: skip


def combined_timeline(reports: Sequence[Report]) -> list[TimelinePoint]:
    """The members' timelines summed bucket by bucket (month, or week). Reports generated on
    different days may start a bucket apart: the union of buckets, in order, is kept."""
    opened: dict[tuple[str, str | None], int] = {}
    merged: dict[tuple[str, str | None], int] = {}
    for report in reports:
        for point in report.timeline:
            key = (point.month, point.week)
            opened[key] = opened.get(key, 0) + point.opened
            merged[key] = merged.get(key, 0) + point.merged
    return [
        TimelinePoint(month=month, week=week, opened=opened[(month, week)], merged=merged[(month, week)])
        for month, week in sorted(opened, key=lambda k: (k[0], k[1] or ""))
    ]


def teams_of(login: str, teams: Mapping[str, Sequence[str]]) -> list[str]:
    """The teams `login` is a member of, by name."""
    return sorted(name for name, members in teams.items() if Login(login) in map(Login, members))
