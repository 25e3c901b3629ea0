"""The GraphQL documents gitbrag sends to GitHub, in one place so their cost is easy to review.

Every query also asks for `rateLimit { cost remaining resetAt }`: GitHub reports the
points a query spent only when asked, and the client logs and counts them.
Values always travel as GraphQL variables, never spliced into the text, so a login or
repository name can never change the meaning of a query.
"""

from __future__ import annotations

RATE_LIMIT = "rateLimit { cost remaining resetAt }"

# GitHub's public limits: at most 100 nodes per connection page, 1,000 results per search.
PAGE_SIZE = 100
SEARCH_CAP = 1000

_PROFILE_FIELDS = f"""
    login name bio company location websiteUrl avatarUrl url
    socialAccounts(first: {PAGE_SIZE}) {{ nodes {{ provider url }} }}
"""

# The profile's fields, for queries built elsewhere (`changes`).
PROFILE_FIELDS = " ".join(_PROFILE_FIELDS.split())

# What a report shows of a repository (also what revalidation re-reads); `isPrivate`
# on every read, so private work is recognised wherever it comes from.
_REPOSITORY_FIELDS = "nameWithOwner url description stargazerCount isPrivate primaryLanguage { name }"

# One page of a user's pull requests with everything a report needs: code stats, the
# first changed files and the repository, so no per-PR or per-repo query follows. The
# page sizes are variables ($pageSize PRs, $filesPageSize files each, 100 and 100 by
# default): GitHub stops a query after 10 s, and a user with huge PRs needs smaller pages.
_SEARCH_PAGE = f"""
  search(query: $query, type: ISSUE, first: $pageSize, after: $after) {{
    issueCount
    pageInfo {{ hasNextPage endCursor }}
    nodes {{
      ... on PullRequest {{
        number title url state createdAt updatedAt closedAt mergedAt
        additions deletions changedFiles authorAssociation
        files(first: $filesPageSize) {{
          nodes {{ path additions deletions }}
          pageInfo {{ hasNextPage endCursor }}
        }}
        repository {{ {_REPOSITORY_FIELDS} }}
      }}
    }}
  }}
"""
_SEARCH_VARIABLES = "$query: String!, $after: String, $pageSize: Int!, $filesPageSize: Int!"

PROFILE = f"""
query Profile($login: String!) {{
  user(login: $login) {{ {_PROFILE_FIELDS} }}
  {RATE_LIMIT}
}}
"""

SEARCH_PULL_REQUESTS = f"""
query SearchPullRequests({_SEARCH_VARIABLES}) {{
  {_SEARCH_PAGE}
  {RATE_LIMIT}
}}
"""

# A collection's first query: the profile rides along with the first search page, which
# saves a round trip per user. (GraphQL search for an unknown author is simply empty;
# `user` comes back null with a NOT_FOUND error.)
PROFILE_AND_PULL_REQUESTS = f"""
query ProfileAndPullRequests($login: String!, {_SEARCH_VARIABLES}) {{
  user(login: $login) {{ {_PROFILE_FIELDS} }}
  {_SEARCH_PAGE}
  {RATE_LIMIT}
}}
"""


# --- reviews ----------------------------------------------------------------------------


# One span (at most a year, GitHub's limit per contributionsCollection; gitbrag asks quarters)
# of the pull requests a user reviewed: GitHub lists each once per span, with their latest
# review in it. Aliased `reviews{i}` with variables `$from{i}`, `$to{i}`, `$after{i}` (the
# next page of that span).
def _review_span(i: int) -> str:
    return f"""reviews{i}: contributionsCollection(from: $from{i}, to: $to{i}) {{
      pullRequestReviewContributions(first: {PAGE_SIZE}, after: $after{i}) {{
        totalCount
        pageInfo {{ hasNextPage endCursor }}
        nodes {{ occurredAt pullRequest {{ number }} repository {{ nameWithOwner isPrivate }} }}
      }}
    }}"""


def _review_params(spans: int) -> str:
    return ", ".join(f"$from{i}: DateTime!, $to{i}: DateTime!, $after{i}: String" for i in range(spans))


def reviews_query(spans: int) -> str:
    """The pull requests a user reviewed in `spans` spans of at most a year, in one query: each
    span costs one connection (a point buys a hundred), so a user's every quarter costs 1 point."""
    spans_text = "\n    ".join(_review_span(i) for i in range(spans))
    return f"""query Reviews($login: String!, {_review_params(spans)}) {{
  user(login: $login) {{
    {spans_text}
  }}
  {RATE_LIMIT}
}}
"""


def profile_pull_requests_and_reviews(spans: int) -> str:
    """`PROFILE_AND_PULL_REQUESTS` with the reviews of `spans` recent spans riding along (an
    incremental refresh's current quarter): one connection more in a query of a hundred, so
    they cost no point and no round trip."""
    spans_text = "\n    ".join(_review_span(i) for i in range(spans))
    params = f"$login: String!, {_SEARCH_VARIABLES}, {_review_params(spans)}"
    return f"""query ProfileAndPullRequestsAndReviews({params}) {{
  user(login: $login) {{
    {_PROFILE_FIELDS}
    {spans_text}
  }}
  {_SEARCH_PAGE}
  {RATE_LIMIT}
}}
"""


def stargazers_query(batch_size: int) -> str:
    """One page of newest-first stargazers for each of `batch_size` repositories.

    Repository i is aliased `r{i}` and takes variables `$owner{i}`, `$name{i}`, `$after{i}`;
    batching saves a round trip per repository, and GitHub charges by nodes, not by query.
    """
    params = ", ".join(f"$owner{i}: String!, $name{i}: String!, $after{i}: String" for i in range(batch_size))
    fields = "\n".join(
        f"""  r{i}: repository(owner: $owner{i}, name: $name{i}) {{
    nameWithOwner stargazerCount
    {_stargazers(str(PAGE_SIZE), f"$after{i}")}
  }}"""
        for i in range(batch_size)
    )
    return f"query Stargazers({params}) {{\n{fields}\n  {RATE_LIMIT}\n}}\n"


def _stargazers(first: str, after: str | None = None) -> str:
    page = f"first: {first}" + (f", after: {after}" if after else "")
    return f"""stargazers({page}, orderBy: {{field: STARRED_AT, direction: DESC}}) {{
      edges {{ cursor starredAt }}
      pageInfo {{ hasNextPage endCursor }}
    }}"""


def repositories_query(plain: int, starred: int) -> str:
    """Fresh metadata of `plain + starred` repositories, and the newest stargazers of `starred`.

    An incremental refresh revalidates every repository of a user with one such query per
    100: `m{i}` (`$mOwner{i}`, `$mName{i}`) brings metadata only, `s{i}` (`$sOwner{i}`,
    `$sName{i}`) also the first `$starPage` stargazers, newest first, to extend a kept star
    history. Only stargazer connections count towards the cost, so up to 100 repositories
    cost 1 point, where conditional REST requests would take a round trip each.
    `$starPage` is declared only when used: GitHub rejects a variable an operation never
    uses (GraphQL's "All Variables Used" rule).
    """
    params = ["$starPage: Int!"] if starred else []
    fields = []
    for prefix, count in (("m", plain), ("s", starred)):
        for i in range(count):
            params.append(f"${prefix}Owner{i}: String!, ${prefix}Name{i}: String!")
            stars = _stargazers("$starPage") if prefix == "s" else ""
            fields.append(
                f"  {prefix}{i}: repository(owner: ${prefix}Owner{i}, name: ${prefix}Name{i}) "
                f"{{ {_REPOSITORY_FIELDS} {stars} }}"
            )
    body = "\n".join(fields)
    return f"query Repositories({', '.join(params)}) {{\n{body}\n  {RATE_LIMIT}\n}}\n"


# --- which names GitHub knows ---------------------------------------------------------------

# Logins checked per query: a `user` field holds no connection, so a hundred of them cost
# what one does (1 point); GitHub answers an unknown one as null with a NOT_FOUND error whose
# `path` is its alias, beside the others' data.
USERS_BATCH = 100


def users_query(count: int) -> str:
    """Whether each of `count` logins is a GitHub user, and its spelling there: `u{i}` is
    `user(login: $login{i}) { login }`."""
    params = ", ".join(f"$login{i}: String!" for i in range(count))
    fields = "\n".join(f"  u{i}: user(login: $login{i}) {{ login }}" for i in range(count))
    return f"query Users({params}) {{\n{fields}\n  {RATE_LIMIT}\n}}\n"
