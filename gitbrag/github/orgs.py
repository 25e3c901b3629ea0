"""An organization's public members, for `org:NAME` members of `GITBRAG_TEAMS` (`gitbrag.report.teams`).

GraphQL `organization(login:) { membersWithRole }`, 100 members a page, following
`pageInfo.endCursor`. GitHub shows a token that is not a member of the organization its
public members only (those who chose to publicize their membership), and that is all a
public brag site may list. To a token of a member, though, `membersWithRole` lists the
concealed members too, and says nothing about who is which: the query asks
`viewerIsAMember` with the first page, and when it is true that page is dropped unused and
the members come from REST's `GET /orgs/{org}/public_members` instead (100 a page, `Link`
pagination), which lists the public members only, whoever asks.

An organization with more than `MAX_MEMBERS` public members is refused after its first
page (its `totalCount` says how many there are; from REST, as soon as the pages read hold
more), not cut: every member is tracked and
refreshed, and a team page of an arbitrary first few hundred would add up to a misleading
total.
"""

from __future__ import annotations

from urllib.parse import quote

from gitbrag.github import queries
from gitbrag.github.client import GitHubClient
from gitbrag.github.errors import GitHubError, NotFound

MAX_MEMBERS = 200  # public members one org team may take: each is a tracked, refreshed user

PUBLIC_MEMBERS = f"""
query OrganizationPublicMembers($login: String!, $after: String, $pageSize: Int!) {{
  organization(login: $login) {{
    login
    viewerIsAMember
    membersWithRole(first: $pageSize, after: $after) {{
      totalCount
      pageInfo {{ hasNextPage endCursor }}
      nodes {{ login }}
    }}
  }}
  {queries.RATE_LIMIT}
}}
"""


class OrgNotFound(NotFound):
    """GitHub knows no organization of that name (or it is a user, not an organization)."""

    def __init__(self, org: str) -> None:
        super().__init__(f"GitHub organization {org!r} does not exist")
        self.org = org


class OrgTooLarge(GitHubError):
    """More public members than an org team may take (`MAX_MEMBERS`)."""

    def __init__(self, org: str, count: int, limit: int, *, at_least: bool = False) -> None:
        many = f"{'at least ' if at_least else ''}{count:,}"
        super().__init__(f"GitHub organization {org!r} has {many} public members, more than {limit:,}")
        self.org, self.count, self.limit = org, count, limit


async def public_members(
    client: GitHubClient, org: str, *, limit: int = MAX_MEMBERS, page_size: int = queries.PAGE_SIZE
) -> list[str]:
    """The logins of `org`'s public members, as GitHub spells them, in GitHub's order.

    Raises `OrgNotFound`, `OrgTooLarge`, or the client's errors (`GitHubUnavailable`,
    `RateLimitError`, `AuthError`, `GitHubError`) when GitHub cannot say."""
    logins: list[str] = []
    after: str | None = None
    while True:
        variables = {"login": org, "after": after, "pageSize": page_size}
        data = await client.graphql(PUBLIC_MEMBERS, variables, allow_not_found=True)
        organization = (data or {}).get("organization")
        if not organization:
            raise OrgNotFound(org)
        if organization.get("viewerIsAMember") is not False:  # a member's token sees concealed members
            return await _public_members_rest(client, org, limit, page_size)
        members = organization.get("membersWithRole") or {}
        total = members.get("totalCount") or 0
        if total > limit:
            raise OrgTooLarge(org, total, limit)
        logins += [node["login"] for node in members.get("nodes") or [] if node and node.get("login")]
        page = members.get("pageInfo") or {}
        if not page.get("hasNextPage") or not page.get("endCursor"):
            break
        if len(logins) > limit:  # members joined while we paged: still too many
            raise OrgTooLarge(org, len(logins), limit)
        after = page["endCursor"]
    return list(dict.fromkeys(logins))


async def _public_members_rest(client: GitHubClient, org: str, limit: int, page_size: int) -> list[str]:
    """REST's public members list, for a token GraphQL would show concealed members to."""
    logins: list[str] = []
    try:
        async for page in client.rest_pages(
            f"/orgs/{quote(org, safe='')}/public_members", {"per_page": page_size}
        ):
            logins += [user["login"] for user in page if isinstance(user, dict) and user.get("login")]
            if len(logins) > limit:
                raise OrgTooLarge(org, len(logins), limit, at_least=True)
    except NotFound:
        raise OrgNotFound(org) from None
    return list(dict.fromkeys(logins))
