"""What can go wrong when talking to GitHub, as exceptions callers can tell apart.

The refresh stage turns these into one-line messages and exit codes, so each message
is written for an operator: it says what failed and why, and never holds a token.
"""

from __future__ import annotations


class GitHubError(Exception):
    """GitHub answered, but not with what we asked for (the message says what it said)."""


class NotFound(GitHubError):
    """The user, repository or pull request does not exist (or is not visible to us)."""


class UserNotFound(NotFound):
    """The GitHub user being collected does not exist."""

    def __init__(self, login: str) -> None:
        super().__init__(f"GitHub user {login!r} does not exist")
        self.login = login


class AuthError(GitHubError):
    """GitHub rejected the token: waiting or retrying cannot help."""


class RateLimitError(GitHubError):
    """A rate limit that waiting could not get us past (e.g. it persisted after many waits)."""


class GitHubUnavailable(GitHubError):
    """GitHub could not be reached or kept failing transiently after every retry."""


class QueryTimeout(GitHubError):
    """GitHub gave up on a query as too heavy (it stops queries after 10 seconds): a 502 or
    504, a 200 with `data: null` and "…may be the result of a timeout…", or partial data
    with RESOURCE_LIMITS_EXCEEDED. Resending the same query would fail the same way and
    cost points again; a smaller one (fewer nodes per page) usually succeeds."""


class MalformedAnswer(GitHubError):
    """GitHub answered 200 with something that is not the answer asked for (no JSON object,
    JSON nested past any real answer's depth, a field the query asks for missing). The
    message names what was wrong, on one line; it is not retried once the client gave up."""


class AnswerTooLarge(GitHubError):
    """An answer grew past `GITBRAG_GITHUB_MAX_RESPONSE_BYTES` as it was decoded (a gzip bomb,
    a runaway proxy): reading stopped there, so memory stays bounded. Asking again would get
    the same answer, so it is not retried."""


class ForeignOrigin(GitHubError):
    """GitHub pointed the client (a `Link: rel="next"` page, a redirect's `Location`) away from
    the configured API origin. The token only ever goes to that origin, so the request fails."""


class DeadlineExceeded(GitHubUnavailable):
    """An answer did not arrive whole within `GITBRAG_GITHUB_REQUEST_DEADLINE_SECONDS` (a
    trickle of bytes, a stalled proxy). GitHub itself stops work after 10 seconds, so such an
    answer is not waited for again: the request fails at once, and the refresh with it."""
