"""Teams (`GITBRAG_TEAMS="platform=alice,bob,carol;web=dave,erin"`): one page per team and
period, `site/teams/<team>/index.html` (the past year) and `site/teams/<team>/<period>/`,
adding up its members' published reports. Pure functions: reports in, a `TeamReport` out.

A team page reads of each member only a `MemberSummary` (the report without its pull
requests, kept small beside the reports on the site), added up one member at a time
(`TeamTotals`): a team costs its members' summaries, never their whole reports.

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
from typing import Literal

from pydantic import BaseModel, ConfigDict

from gitbrag.models import LanguageShare, Login, Report, TimelinePoint

# A team's name is its folder under site/teams/: lower-case letters, digits, "-" and "_".
TEAM_RE = re.compile(r"^[a-z0-9](?:[a-z0-9_-]{0,38}[a-z0-9])?$")
TOP_LANGUAGES = 10
TOP_REPOSITORIES = 25
ORG_PREFIX = "org:"  # `web=org:octo-org`: the organization's public members
SUMMARY_VERSION = 1  # `MemberSummaries.version`: raised when a summary's meaning changes
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


class MemberRepository(BaseModel):
    """A member's repository as a team page adds it up (a report's `ReportRepository`, lean)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    url: str
    pr_count: int
    merged_count: int


class MemberSummary(BaseModel):
    """What a team page shows of one member's report for one period, and adds up into its
    totals: the report without its pull requests (a prolific member's report.json is
    megabytes; this is a few kilobytes). Every repository is kept, as the team's repository
    count and its top repositories are over the members' repositories added up."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    username: str
    name: str | None
    avatar_url: str | None
    generated_at: datetime
    total_prs: int
    merged_count: int
    open_count: int
    repo_count: int
    authored_additions: int
    authored_deletions: int
    languages: list[tuple[str, int]]  # (language, lines)
    repositories: list[MemberRepository]
    timeline: list[TimelinePoint]
    timeline_unit: Literal["month", "week"]


class MemberSummaries(BaseModel):
    """One member's summaries, by rolling period (`<login>/team-summary.json` on the site)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = SUMMARY_VERSION
    periods: dict[str, MemberSummary]
    # Per period, the key of the pages generated.json records once the publish that wrote this
    # file is whole (`Publisher._page_inputs`: it covers the report.json's bytes). The summaries
    # are written before the report.json files: a period whose key generated.json does not have
    # (a publish cut short, one by another version) is read from its report.json instead.
    inputs: dict[str, str]


def member_summary(report: Report) -> MemberSummary:
    """The part of `report` a team page reads (`MemberSummary`)."""
    return MemberSummary(
        username=report.username,
        name=report.profile.name,
        avatar_url=report.profile.avatar_url,
        generated_at=report.generated_at,
        total_prs=report.total_prs,
        merged_count=report.merged_count,
        open_count=report.open_count,
        repo_count=report.repo_count,
        authored_additions=report.authored_additions,
        authored_deletions=report.authored_deletions,
        languages=[(share.language, share.lines) for share in report.languages],
        repositories=[
            MemberRepository(name=r.name, url=r.url, pr_count=r.pr_count, merged_count=r.merged_count)
            for r in report.repositories
        ],
        timeline=list(report.timeline),
        timeline_unit=report.timeline_unit,
    )


def _summaries(found: Sequence[Report | MemberSummary]) -> list[MemberSummary]:
    return [f if isinstance(f, MemberSummary) else member_summary(f) for f in found]


class TeamTotals:
    """A team's period added up one member at a time, in the team's order of members: memory
    holds the totals (the members' rows, each repository once), never every member's report
    at once, so a team of thousands costs its distinct repositories, not its members' reports."""

    def __init__(self, team: str, period: str) -> None:
        self.team, self.period = team, period
        self.rows: list[MemberRow] = []
        self.not_published: list[str] = []
        self.total_prs = self.merged_count = self.open_count = 0
        self.authored_additions = self.authored_deletions = 0
        self.repo_names: set[str] = set()
        self.language_lines: dict[str, int] = {}
        self.repo_prs: dict[str, int] = {}
        self.repo_merged: dict[str, int] = {}
        self.repo_urls: dict[str, str] = {}
        self.repo_who: dict[str, list[tuple[int, str]]] = {}
        self.opened: dict[tuple[str, str | None], int] = {}
        self.merged: dict[tuple[str, str | None], int] = {}
        self.timeline_unit: str | None = None
        self.generated_at: datetime | None = None

    def add(self, member: str, summary: MemberSummary | None) -> None:
        """Count `member` (as listed in the team) with its summary; None: not yet published."""
        if summary is None:
            self.not_published.append(member)
            return
        self.rows.append(_row(summary))
        self.total_prs += summary.total_prs
        self.merged_count += summary.merged_count
        self.open_count += summary.open_count
        self.authored_additions += summary.authored_additions
        self.authored_deletions += summary.authored_deletions
        for language, lines in summary.languages:
            self.language_lines[language] = self.language_lines.get(language, 0) + lines
        for repo in summary.repositories:
            self.repo_names.add(repo.name)
            self.repo_prs[repo.name] = self.repo_prs.get(repo.name, 0) + repo.pr_count
            self.repo_merged[repo.name] = self.repo_merged.get(repo.name, 0) + repo.merged_count
            self.repo_urls[repo.name] = repo.url
            self.repo_who.setdefault(repo.name, []).append((repo.pr_count, summary.username))
        for point in summary.timeline:
            bucket = (point.month, point.week)
            self.opened[bucket] = self.opened.get(bucket, 0) + point.opened
            self.merged[bucket] = self.merged.get(bucket, 0) + point.merged
        if self.timeline_unit is None:
            self.timeline_unit = summary.timeline_unit
        if self.generated_at is None or summary.generated_at > self.generated_at:
            self.generated_at = summary.generated_at

    def report(self) -> TeamReport:
        return TeamReport(
            team=self.team,
            period=self.period,
            members=sorted(self.rows, key=lambda m: (-m.merged_count, -m.total_prs, Login(m.login))),
            not_published=list(self.not_published),
            total_prs=self.total_prs,
            merged_count=self.merged_count,
            open_count=self.open_count,
            repo_count=len(self.repo_names),
            authored_additions=self.authored_additions,
            authored_deletions=self.authored_deletions,
            languages=_languages(self.language_lines),
            repositories=self._repositories(),
            timeline=self._timeline(),
            timeline_unit=self.timeline_unit or "month",
            generated_at=self.generated_at,
        )

    def _timeline(self) -> list[TimelinePoint]:
        """The members' timelines summed bucket by bucket (month, or week). Reports generated
        on different days may start a bucket apart: the union of buckets, in order, is kept."""
        buckets = sorted(self.opened, key=lambda k: (k[0], k[1] or ""))
        return [
            TimelinePoint(
                month=month, week=week, opened=self.opened[(month, week)], merged=self.merged[(month, week)]
            )
            for month, week in buckets
        ]

    def _repositories(self) -> list[TeamRepository]:
        """Each repository once, every member's pull requests there added up; the most first."""
        prs = self.repo_prs
        ranked = sorted(prs, key=lambda name: (-prs[name], name.lower()))[:TOP_REPOSITORIES]
        return [
            TeamRepository(
                name=name, url=self.repo_urls[name], pr_count=prs[name], merged_count=self.repo_merged[name],
                members=tuple(who for _, who in sorted(self.repo_who[name], key=_most_prs_first)),
            )
            for name in ranked
        ]  # fmt: skip


def _most_prs_first(who: tuple[int, str]) -> tuple[int, str]:
    return -who[0], Login(who[1])


def team_report(
    team: str, period: str, members: Sequence[str], reports: Mapping[str, Report | MemberSummary]
) -> TeamReport:
    """Add up `reports` (by Login: reports, or their summaries) of `members` for `period`."""
    totals = TeamTotals(team, period)
    for member in members:
        found = reports.get(Login(member))
        totals.add(member, None if found is None else _summaries([found])[0])
    return totals.report()


def _row(summary: MemberSummary) -> MemberRow:
    return MemberRow(
        login=summary.username,
        name=summary.name,
        avatar_url=summary.avatar_url,
        total_prs=summary.total_prs,
        merged_count=summary.merged_count,
        repo_count=summary.repo_count,
        lines=summary.authored_additions + summary.authored_deletions,
    )


def _languages(lines: Mapping[str, int]) -> list[LanguageShare]:
    total = sum(lines.values())
    ranked = sorted(lines.items(), key=lambda item: (-item[1], item[0]))[:TOP_LANGUAGES]
    return [
        LanguageShare(language=lang, lines=n, percentage=round(100 * n / total, 1) if total else 0.0)
        for lang, n in ranked
    ]


def combined_languages(reports: Sequence[Report | MemberSummary]) -> list[LanguageShare]:
    """Lines per language summed over the members, shares recomputed over the sum."""
    lines: dict[str, int] = {}
    for summary in _summaries(reports):
        for language, n in summary.languages:
            lines[language] = lines.get(language, 0) + n
    return _languages(lines)


def teams_of(login: str, teams: Mapping[str, Sequence[str]]) -> list[str]:
    """The teams `login` is a member of, by name."""
    return sorted(name for name, members in teams.items() if Login(login) in map(Login, members))
