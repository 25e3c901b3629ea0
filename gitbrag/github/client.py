"""An async GitHub client that follows GitHub's documented rules for well-behaved integrations.

Why it is more than `httpx.AsyncClient`: a refresh pass makes thousands of requests, and
GitHub punishes clients that ignore its limits. So every request goes through:

* a token pool: several tokens (of different accounts) each have their own budget per
  resource (`core`, `search`, `graphql`); each request takes the token with the most budget
  left, a spent token rests until its `x-ratelimit-reset`, and when every token is spent
  the client waits for the earliest reset instead of failing; a token GitHub rejects
  (401) while others still work is dropped for the client's life, not fatal to the pass;
* rate-limit handling: a primary limit (403/429 with `x-ratelimit-remaining: 0`, or GraphQL's
  200 with `RATE_LIMIT`/`RATE_LIMITED`) waits until the reset; a secondary limit (403, 429,
  or a 200 whose error says so) honours `Retry-After`, else waits at least a minute and
  backs off exponentially;
* transient-failure retries (502/503/504, connection errors, timeouts, malformed JSON) with
  exponential backoff and jitter, a bounded number of times, then `GitHubUnavailable`;
* at most `max_in_flight` requests open at once per token (GitHub asks clients to avoid
  concurrent requests and caps them at 100 per account; 10 is octokit's choice), shared by
  every refresh using the client;
* a deadline for the whole of each request (`deadline`: sent, answered and read whole, however
  the bytes trickle) and a cap on each answer's decoded size (`max_response_bytes`, counted
  as it is decoded, so a gzip bomb stops there), both settings; a deadline overrun is not
  resent (GitHub itself gives up after 10 s); on a stop request (`interrupt`) an answer in
  flight gets `STOP_GRACE` seconds, then the request is dropped;
* the token only ever goes to the configured origins (scheme, host, port): a `Link` next
  page or a redirect elsewhere fails the request; GitHub's redirects for moved repositories
  (301 and friends) on that origin are followed, never read as an answer;
* GraphQL timeouts (GitHub stops a query after 10 s) are not resent as they were: callers
  that can ask for less (`can_shrink`) get `QueryTimeout` and retry with smaller pages;
* partial answers: nodes GitHub hides (FORBIDDEN, e.g. SAML enforcement) come back as
  `GraphQLAnswer.hidden` beside the data instead of failing the whole query;
* per-minute pacing per token (`pacing.Pacing`): 30 REST searches, 2,000 GraphQL queries
  and 900 other REST requests a minute, GitHub's secondary limits, kept rather than hit.
  The search window can be shared by every process (`store.ratelimit.RedisWindow`).

Sleeping and the clock are injected so tests can exercise hour-long waits instantly.
Tokens only ever travel in the `Authorization` header: no message or log line holds one.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import httpx
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from gitbrag.clock import Seconds, epoch
from gitbrag.github import budget
from gitbrag.github.errors import (
    AnswerTooLarge,
    AuthError,
    DeadlineExceeded,
    ForeignOrigin,
    GitHubError,
    GitHubUnavailable,
    MalformedAnswer,
    NotFound,
    QueryTimeout,
    RateLimitError,
)
from gitbrag.github.pacing import Pacing, token_key

if TYPE_CHECKING:
    from gitbrag.github.points import PointBudget

log = logging.getLogger(__name__)

RESOURCES = ("core", "search", "graphql")
DEFAULT_ACCEPT = "application/vnd.github+json"
API_VERSION = "2022-11-28"
TRANSIENT_STATUSES = frozenset({502, 503, 504})
TRANSIENT_ATTEMPTS = 5
# GitHub: without Retry-After, wait "at least one minute" after a secondary limit.
SECONDARY_MIN_WAIT = 60.0
# A rate limit that is still there after this many waits is not going away.
MAX_RATE_LIMIT_WAITS = 12
# `x-ratelimit-reset` has whole-second precision: wake just after it, not just before.
RESET_MARGIN = 1.0
# GitHub's primary limits reset within an hour of the first request of a window.
PRIMARY_WINDOW = 3600.0
# Budget assumed for a token we have not heard about yet (GitHub's largest hourly limit).
UNKNOWN_BUDGET = 15_000
# Requests open at once per token: GitHub allows 100 per account and asks for fewer.
DEFAULT_MAX_IN_FLIGHT = 10
# The whole of one request: sent, answered and read. GitHub stops its own work after 10 s;
# an answer still trickling in after a minute is a stalled proxy or a hostile server.
DEFAULT_REQUEST_DEADLINE = 60.0
# One answer's decoded size. GitHub's largest (a search page of 100 pull requests with 100
# files each, a year of reviews riding along) are a few MB: 32 MiB is ten times that.
DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024
# After a stop request, how long an answer in flight may still take before it is dropped.
STOP_GRACE = 3.0
# Redirects followed for one request (a moved repository takes one).
MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# GitHub's words when it stopped a query (HTTP 200, `data: null`).
_TIMEOUT_MESSAGES = ("may be the result of a timeout", "something went wrong while executing your query")

Sleep = Callable[[float], Awaitable[None]]
Clock = Seconds
# Returns (by raising, e.g. `ShuttingDown`) when requests in flight must be dropped.
Interrupt = Callable[[], Awaitable[None]]
T = TypeVar("T")


@dataclass
class Usage:
    """What a client has spent, for benchmarks and logs."""

    requests: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RESOURCES, 0))
    graphql_points: int = 0
    not_modified: int = 0  # 304s: conditional requests that cost no rate limit
    graphql_searches: int = 0  # GraphQL queries with a `search` field (they spend points)
    retries: int = 0  # transient failures retried
    rate_limit_waits: int = 0
    pacing_waits: int = 0  # waits to stay under a per-minute limit
    seconds_waited: float = 0.0
    timeouts: int = 0  # GraphQL queries GitHub gave up on (answered as timeouts)
    max_in_flight: int = 0  # the most requests one token ever had open at once

    def saw_in_flight(self, count: int) -> None:
        self.max_in_flight = max(self.max_in_flight, count)

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())


_USAGE_SCOPE: ContextVar[Usage | None] = ContextVar("gitbrag_usage_scope", default=None)


def current_usage_scope() -> Usage | None:
    """The `usage_scope` open in this task, if any (work done on its behalf elsewhere, such as
    a shared query, is charged to it)."""
    return _USAGE_SCOPE.get()


@contextmanager
def usage_scope() -> Iterator[Usage]:
    """Count what the code inside spends, apart from other work sharing the client.

    One client serves concurrent refreshes, so the difference of its totals before and
    after a collection would include its neighbours' requests; a scope set in the
    collection's task (and inherited by the tasks it starts) counts only its own.
    """
    usage = Usage()
    token = _USAGE_SCOPE.set(usage)
    try:
        yield usage
    finally:
        _USAGE_SCOPE.reset(token)


@dataclass(frozen=True)
class HiddenNode:
    """A node GitHub answered as null with a FORBIDDEN error: it exists, we may not see it."""

    path: tuple[str | int, ...]
    reason: str  # "saml" (SAML enforcement the token is not authorised for) or "forbidden"


@dataclass(frozen=True)
class GraphQLAnswer:
    """A GraphQL answer that may be partial, as GitHub's often are (data and errors side by side)."""

    data: dict[str, Any]
    hidden: list[HiddenNode] = field(default_factory=list)
    # Fields GitHub left null because the query hit its resource limits (partial results).
    limited: list[tuple[str | int, ...]] = field(default_factory=list)


@dataclass(frozen=True)
class RestResponse:
    status: int
    json: Any
    etag: str | None = None
    next_url: str | None = None  # the `Link: rel="next"` page, if any
    not_modified: bool = False


# --- the token pool ------------------------------------------------------------------


@dataclass
class _Budget:
    remaining: int | None = None  # None until GitHub has told us
    reset_at: float = 0.0  # epoch seconds
    pending: int = 0  # requests sent since GitHub last told us `remaining`

    def available_at(self) -> float:
        return self.reset_at if self.remaining is not None and self.remaining <= 0 else 0.0

    def score(self) -> int:
        known = UNKNOWN_BUDGET if self.remaining is None else self.remaining
        return known - self.pending


@dataclass
class _Token:
    secret: str | None  # None: unauthenticated (the fake GitHub in demo mode)
    label: str  # how logs and errors name it: "token #2 of 3", never the secret
    budgets: dict[str, _Budget] = field(default_factory=lambda: {r: _Budget() for r in RESOURCES})
    blocked_until: float = 0.0  # secondary limits apply to the whole account
    revoked: bool = False  # GitHub answered 401: never sent again by this client
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT
    open_requests: int = 0
    slots: asyncio.Semaphore = field(init=False)

    def __post_init__(self) -> None:
        self.slots = asyncio.Semaphore(self.max_in_flight)

    @property
    def key(self) -> str:
        """The token's id for pacing windows: a hash, safe in Redis and in logs."""
        return token_key(self.secret)

    def available_at(self, resource: str) -> float:
        return max(self.blocked_until, self.budgets[resource].available_at())


class TokenPool:
    """Chooses which token sends each request, from what GitHub's headers said about each."""

    def __init__(self, tokens: list[str], max_in_flight: int = DEFAULT_MAX_IN_FLIGHT) -> None:
        secrets: list[str | None] = list(tokens) or [None]
        self.tokens = [
            _Token(s, f"token #{i} of {len(secrets)}", max_in_flight=max_in_flight)
            for i, s in enumerate(secrets, 1)
        ]

    def ready(self, resource: str, now: float) -> list[_Token]:
        """Tokens not resting, the one with the most `resource` budget left first."""
        ready = [t for t in self.tokens if not t.revoked and t.available_at(resource) <= now]
        for token in ready:
            budget = token.budgets[resource]
            if budget.remaining is not None and budget.reset_at <= now and budget.remaining <= 0:
                budget.remaining = None  # its window has reset; the next answer tells us the new budget
        return sorted(ready, key=lambda t: t.budgets[resource].score(), reverse=True)

    @property
    def usable(self) -> list[_Token]:
        """Tokens GitHub has not rejected."""
        return [t for t in self.tokens if not t.revoked]

    def revoke(self, token: _Token) -> bool:
        """GitHub rejected `token`: drop it for good. True only the first time (log once)."""
        newly = not token.revoked
        token.revoked = True
        return newly

    def take(self, token: _Token, resource: str) -> None:
        """`token` is about to send a request: count it until GitHub's answer (`settle`)."""
        token.budgets[resource].pending += 1

    def settle(self, token: _Token, resource: str) -> None:
        """A request picked by `pick` is over (answered or failed)."""
        budget = token.budgets[resource]
        budget.pending = max(0, budget.pending - 1)

    def observe(self, token: _Token, resource: str, headers: httpx.Headers) -> None:
        """Take GitHub's word (`x-ratelimit-*`) for what the token has left."""
        budget = token.budgets[resource]
        remaining, reset = (
            _int_header(headers, "x-ratelimit-remaining"),
            _int_header(headers, "x-ratelimit-reset"),
        )
        if remaining is not None:
            budget.remaining = remaining
        if reset is not None:
            budget.reset_at = float(reset)

    def rest(self, token: _Token, resource: str, until: float) -> None:
        """The token's primary budget for `resource` is spent until `until`."""
        budget = token.budgets[resource]
        budget.remaining, budget.reset_at = 0, until

    def block(self, token: _Token, until: float) -> None:
        """A secondary limit: the whole account pauses until `until`."""
        token.blocked_until = max(token.blocked_until, until)


def _int_header(headers: httpx.Headers, name: str) -> int | None:
    try:
        return int(headers[name])
    except (KeyError, ValueError):
        return None


# --- classifying answers -------------------------------------------------------------


@dataclass(frozen=True)
class _Call:
    """One logical request, as often as it has to be sent."""

    method: str
    url: str
    resource: str  # which budget it spends: core, search or graphql
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, Any] | None = None
    json_body: Any = None
    search: bool = False  # counts against the per-minute search window
    shrinkable: bool = False  # a GraphQL timeout raises QueryTimeout instead of being resent


@dataclass(frozen=True)
class _Reply:
    status: int
    headers: httpx.Headers
    json: Any
    next_url: str | None


@dataclass(frozen=True)
class _Limit:
    """A rate-limited answer: which kind, and until when (epoch seconds) not to retry."""

    primary: bool
    until: float


class _Transient(Exception):
    """A failure worth retrying; the message says what happened (no token, no body)."""


def _error_message(body: Any) -> str:
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])
    return ""


def _graphql_errors(body: Any) -> list[dict[str, Any]]:
    errors = body.get("errors") if isinstance(body, dict) else None
    return [e for e in errors or [] if isinstance(e, dict)] if isinstance(errors, list) else []


# GraphQL's primary limit: `RATE_LIMITED` (older answers) or `RATE_LIMIT` with code
# `graphql_rate_limit` (GitHub's answer since 2025), both with HTTP 200, and with an
# `x-ratelimit-remaining` that is not always 0: the error, not the header, decides.
_PRIMARY_TYPES = frozenset({"RATE_LIMITED", "RATE_LIMIT"})
_PRIMARY_CODES = frozenset({"graphql_rate_limit"})


def _is_primary_graphql_limit(body: Any) -> bool:
    return any(
        e.get("type") in _PRIMARY_TYPES or e.get("code") in _PRIMARY_CODES for e in _graphql_errors(body)
    )


def _is_secondary_message(message: str) -> bool:
    lowered = message.lower()
    return "secondary rate limit" in lowered or "abuse" in lowered


def _is_secondary_graphql_limit(body: Any) -> bool:
    """GitHub: a secondary limit is answered with "200 or 403"; a 200 says so only in a message."""
    return any(_is_secondary_message(str(e.get("message", ""))) for e in _graphql_errors(body))


def _secondary(reply: _Reply, now: float, secondary_waits: int) -> _Limit:
    """Retry-After when GitHub gives one, else at least a minute, doubling each time."""
    retry_after = _int_header(reply.headers, "retry-after")
    if retry_after is not None:
        return _Limit(primary=False, until=now + retry_after)
    return _Limit(primary=False, until=now + SECONDARY_MIN_WAIT * 2**secondary_waits)


def rate_limit_of(reply: _Reply, now: float, secondary_waits: int) -> _Limit | None:
    """GitHub's documented rules for telling a rate-limited answer and how long to wait."""
    reset = _int_header(reply.headers, "x-ratelimit-reset")
    # A reset already in the past (clock skew) still rests the token a moment, not a busy loop;
    # one further than GitHub's hour-long window (our clock set back) rests at most that hour.
    primary_until = (
        min(max(float(reset) + RESET_MARGIN, now + 1), now + PRIMARY_WINDOW + RESET_MARGIN)
        if reset is not None
        else now + SECONDARY_MIN_WAIT
    )
    if reply.status == 200:
        if _is_primary_graphql_limit(reply.json):
            return _Limit(primary=True, until=primary_until)
        if _is_secondary_graphql_limit(reply.json):
            return _secondary(reply, now, secondary_waits)
        return None
    if reply.status not in (403, 429):
        return None
    if reply.headers.get("x-ratelimit-remaining") == "0":
        return _Limit(primary=True, until=primary_until)
    if reply.status == 429 or _is_secondary_message(_error_message(reply.json)):
        return _secondary(reply, now, secondary_waits)
    if _int_header(reply.headers, "retry-after") is not None:
        return _secondary(reply, now, secondary_waits)
    return None  # a plain 403 Forbidden (SAML, permissions): not a limit


# --- the client ----------------------------------------------------------------------


class GitHubClient:
    """GitHub's REST and GraphQL APIs, rate-limit-aware; use as `async with GitHubClient(...)`."""

    def __init__(
        self,
        tokens: list[str],
        api_url: str,
        graphql_url: str,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 30,
        max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
        transient_attempts: int = TRANSIENT_ATTEMPTS,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = epoch,
        pacing: Pacing | None = None,
        pace_graphql_search: bool = False,
        deadline: float = DEFAULT_REQUEST_DEADLINE,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        interrupt: Interrupt | None = None,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.graphql_url = graphql_url
        # Where the token may go: the configured API's and GraphQL's origins, nowhere else.
        self._origins = {_origin(self.api_url), _origin(graphql_url)}
        self._deadline, self._max_bytes, self._interrupt = deadline, max_response_bytes, interrupt
        self.usage = Usage()
        # GITBRAG_BUDGET_POINTS: a pass's point budget (`github.points`), which star walks respect.
        self.budget: PointBudget | None = None
        # Work in flight that concurrent callers share instead of repeating, by key (see
        # `stars.star_histories`). On the client, so it is per event loop like the client.
        self.in_flight: dict[str, asyncio.Future[Any]] = {}
        # One refresh at a time brings a repository's kept star history up to date (`stars.upkeep`).
        self.upkeep_locks: dict[str, asyncio.Lock] = {}
        self._pool = TokenPool(tokens, max_in_flight)
        self._pacing = pacing or Pacing()
        self._pace_graphql_search = pace_graphql_search
        self._sleep, self._clock = sleep, clock
        self._attempts = transient_attempts
        self._http = httpx.AsyncClient(
            transport=transport,
            timeout=timeout,
            # gzip only: the answers are inflated by `_Inflater`, a step at a time.
            headers={"User-Agent": "gitbrag", "X-GitHub-Api-Version": API_VERSION, "Accept-Encoding": "gzip"},
        )

    async def __aenter__(self) -> GitHubClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def rate_limits(self) -> list[tuple[str, str, int]]:
        """(token number, resource, remaining) as GitHub last said, for metrics; never secrets."""
        return [
            (str(index), resource, budget.remaining)
            for index, token in enumerate(self._pool.tokens, 1)
            for resource, budget in sorted(token.budgets.items())
            if budget.remaining is not None
        ]

    async def aclose(self) -> None:
        await self._http.aclose()
        await self._pacing.aclose()

    # --- public API ------------------------------------------------------------------

    def _usages(self) -> list[Usage]:
        """The client's totals, plus the current `usage_scope`'s if one is open."""
        scoped = _USAGE_SCOPE.get()
        return [self.usage] if scoped is None else [self.usage, scoped]

    async def graphql(
        self,
        query: str,
        variables: dict[str, Any],
        *,
        allow_not_found: bool = False,
        search: bool = False,
        can_shrink: bool = False,
    ) -> Any:
        """Run a query that must be answered whole, and return its `data`.

        GitHub answers errors with HTTP 200 and an `errors` list. NOT_FOUND raises `NotFound`
        unless `allow_not_found` (then the missing parts are simply null in `data`, which
        suits queries that batch several repositories); a hidden node or partial results
        raise too (use `graphql_partial` to accept them); any other error raises
        `GitHubError`. For `search` and `can_shrink`, see `graphql_partial`.
        """
        answer = await self.graphql_partial(
            query, variables, allow_not_found=allow_not_found, search=search, can_shrink=can_shrink
        )
        if answer.limited:
            where = ".".join(map(str, answer.limited[0]))
            error = QueryTimeout if can_shrink else GitHubError
            raise error(f"GitHub returned partial results (resource limits exceeded at {where})")
        if answer.hidden:
            where = ".".join(map(str, answer.hidden[0].path))
            raise GitHubError(f"GitHub GraphQL error: FORBIDDEN at {where} ({answer.hidden[0].reason})")
        return answer.data

    async def graphql_partial(
        self,
        query: str,
        variables: dict[str, Any],
        *,
        allow_not_found: bool = False,
        search: bool = False,
        can_shrink: bool = False,
    ) -> GraphQLAnswer:
        """Run a query and return what GitHub could answer, with what it hid and why.

        FORBIDDEN nodes (SAML enforcement, permissions) cannot be fetched by retrying, so
        they are reported in `hidden` rather than failing the query; fields nulled by
        RESOURCE_LIMITS_EXCEEDED are reported in `limited` (a smaller query would get them).
        With `can_shrink`, a query GitHub stops as too slow raises `QueryTimeout` at once, so
        the caller can ask for smaller pages; without it, timeouts are retried like other
        transient failures. `search` says the query has a `search` field (counted in
        `Usage.graphql_searches`, and paced as a search with `pace_graphql_search`).
        """
        body = {"query": query, "variables": variables}
        paced = search and self._pace_graphql_search
        call = _Call("POST", self.graphql_url, "graphql", json_body=body, search=paced, shrinkable=can_shrink)
        reply = await self._send(call)
        if search:
            for usage in self._usages():
                usage.graphql_searches += 1
        if not isinstance(reply.json, dict):
            raise MalformedAnswer(f"GraphQL at {_where(self.graphql_url)} answered without a JSON object")
        data = reply.json.get("data") or {}
        self._account_points(data)
        return _answer(data, _graphql_errors(reply.json), allow_not_found)

    async def rest_get(
        self,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        accept: str | None = None,
        etag: str | None = None,
    ) -> RestResponse:
        """GET `path` (relative to the API URL, or a full URL from a `Link` header).

        With `etag`, the request is conditional: an unchanged resource comes back as
        `not_modified=True`, which GitHub does not count against the rate limit.
        """
        url = self._absolute(path)
        headers = {"Accept": accept or DEFAULT_ACCEPT}
        if etag:
            headers["If-None-Match"] = etag
        resource = self._resource_of(url)
        reply = await self._send(_Call("GET", url, resource, headers, params, search=resource == "search"))
        if reply.status == 304:
            for usage in self._usages():
                usage.not_modified += 1
            return RestResponse(status=304, json=None, etag=etag, not_modified=True)
        return RestResponse(reply.status, reply.json, reply.headers.get("etag"), reply.next_url)

    async def rest_pages(
        self, path: str, params: dict[str, Any] | None = None, accept: str | None = None
    ) -> AsyncIterator[list[Any]]:
        """Every page of a paginated REST list, following `Link: rel="next"`.

        Search endpoints wrap their list in `{"items": [...]}`; the items are what is yielded.
        """
        url: str | None = path
        while url is not None:
            page = await self.rest_get(url, params, accept=accept)
            yield _items_of(page.json, self._absolute(url))
            if page.next_url is not None:  # a hostile server's link must not get the token
                self._check_origin(page.next_url, f"the next page of {_where(self._absolute(url))}")
            url, params = page.next_url, None  # the next link carries the query string

    def _absolute(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else self.api_url + path

    def _check_origin(self, url: str, what: str) -> None:
        """The token goes only to the configured origins: anything else fails the request,
        with one warning, before a byte is sent there."""
        if _origin(url) in self._origins:
            return
        api = _origin_name(self.api_url)
        message = (
            f"GitHub pointed {what} at {_origin_name(url)}, not at the configured API ({api}); "
            "not followed: the token goes only there"
        )
        log.warning(message, extra={"foreign_origin": _origin_name(url), "api_origin": api})
        raise ForeignOrigin(message)

    def _resource_of(self, url: str) -> str:
        """Which REST budget a URL spends: search has its own, much smaller one."""
        path = urlsplit(url).path.removeprefix(urlsplit(self.api_url).path)
        return "search" if path.startswith("/search/") else "core"

    # --- one logical request -----------------------------------------------------------

    async def _send(self, call: _Call) -> _Reply:
        """Send until GitHub answers with something other than a rate limit or a redirect."""
        self._check_origin(call.url, f"a request for {_where(call.url)}")
        waits = secondary_waits = hops = 0
        while True:
            token = await self._acquire(call)
            try:
                reply = await self._send_retrying(call, token)
            finally:
                self._pool.settle(token, call.resource)
            self._pool.observe(token, call.resource, reply.headers)
            limit = rate_limit_of(reply, self._clock(), secondary_waits)
            if limit is None and reply.status == 401 and len(self._pool.tokens) > 1:
                self._revoke(token)
                continue  # with another token; `_acquire` raises once none is left
            if limit is None and reply.status in REDIRECT_STATUSES:
                hops += 1
                call = self._redirected(call, reply, hops)
                continue
            if limit is None:
                return self._checked(reply, call.url, token)
            waits += 1
            if waits > MAX_RATE_LIMIT_WAITS:
                raise RateLimitError(f"GitHub kept rate-limiting {_where(call.url)} after {waits - 1} waits")
            self._note_limit(token, call.resource, limit)
            secondary_waits += 0 if limit.primary else 1

    def _redirected(self, call: _Call, reply: _Reply, hops: int) -> _Call:
        """The request again at the redirect's `Location`: GitHub answers a renamed or
        transferred repository's URLs with a 301 there (its docs: follow it), and a redirect
        is never an answer. Only GETs, only a few hops, only on the configured origins."""
        where = _where(call.url)
        location = reply.headers.get("location")
        if call.method != "GET" or not location:
            raise GitHubError(f"GitHub answered HTTP {reply.status} for {where} without a redirect to follow")
        if hops > MAX_REDIRECTS:
            raise GitHubError(f"GitHub redirected {where} more than {MAX_REDIRECTS} times")
        try:
            target = httpx.URL(call.url).join(location)
        except httpx.InvalidURL:
            raise MalformedAnswer(f"GitHub redirected {where} to an unusable Location") from None
        self._check_origin(str(target), f"the redirect (HTTP {reply.status}) of {where}")
        log.info(
            "GitHub moved %s to %s (HTTP %d); following",
            where,
            _where(str(target)),
            reply.status,
            extra={"status": reply.status, "moved_from": where, "moved_to": _where(str(target))},
        )
        # A Location with a query string carries the parameters; one without keeps them.
        return replace(call, url=str(target), params=call.params if not target.query else None)

    def _revoke(self, token: _Token) -> None:
        """A pool outlives one bad token: drop it, say so once, and let the others serve."""
        if self._pool.revoke(token):
            log.warning(
                "GitHub rejected %s (401 Bad credentials); not using it again (%d of %d left)",
                token.label,
                len(self._pool.usable),
                len(self._pool.tokens),
                extra={"token_label": token.label},
            )

    def _note_limit(self, token: _Token, resource: str, limit: _Limit) -> None:
        kind = "primary" if limit.primary else "secondary"
        log.warning(
            "GitHub %s rate limit hit on %s (%s); resting it for %.0fs",
            kind,
            token.label,
            resource,
            limit.until - self._clock(),
            extra={"gh_resource": resource, "limit": kind, "until": limit.until},
        )
        if limit.primary:
            self._pool.rest(token, resource, limit.until)
        else:
            self._pool.block(token, limit.until)

    async def _acquire(self, call: _Call) -> _Token:
        """The token with the most budget left that its per-minute windows also admit.

        When every token is spent, waits for the earliest reset; when the ready ones are
        only paced, waits until the first window frees a slot. Either way the caller (and
        the pass it belongs to) pauses instead of failing, then carries on by itself.
        """
        resource = call.resource
        while True:
            if not self._pool.usable:
                raise AuthError(
                    f"GitHub rejected the token (all {len(self._pool.tokens)} tokens) (401 Bad credentials)"
                )
            now = self._clock()
            paced: list[float] = []
            for token in self._pool.ready(resource, now):
                wait = await self._pacing.reserve(
                    token.key, now, graphql=resource == "graphql", search=call.search
                )
                if wait <= 0:
                    self._pool.take(token, resource)
                    return token
                paced.append(wait)
            await self._wait_for_budget(resource, now, paced)

    async def _wait_for_budget(self, resource: str, now: float, paced: list[float]) -> None:
        resting = [
            t.available_at(resource) - now for t in self._pool.usable if t.available_at(resource) > now
        ]
        delay = max(0.0, min(paced + resting))
        if paced and delay == min(paced):
            log.debug("pacing %s requests: waiting %.1fs", resource, delay, extra={"gh_resource": resource})
            for usage in self._usages():
                usage.pacing_waits += 1
        else:
            log.info(
                "every token's %s budget is spent; waiting %.0fs for the earliest reset",
                resource,
                delay,
                extra={"gh_resource": resource, "wait_seconds": delay},
            )
            for usage in self._usages():
                usage.rate_limit_waits += 1
        await self._pause(delay)

    async def _send_retrying(self, call: _Call, token: _Token) -> _Reply:
        """Send with `token`, retrying transient failures with backoff and jitter."""
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(_Transient),
            wait=wait_exponential_jitter(initial=1, max=30),
            stop=stop_after_attempt(self._attempts),
            sleep=self._pause,
            before_sleep=self._before_retry,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    # The refresh's budget of failed requests (`gitbrag.github.budget`) admits each attempt.
                    async with budget.admitted():
                        return await self._send_once(call, token)
        except _Transient as exc:
            raise GitHubUnavailable(
                f"GitHub API at {_where(call.url)} is unavailable: {exc} "
                f"(gave up after {self._attempts} attempts)"
            ) from exc
        raise AssertionError("unreachable: tenacity either returns or raises")

    async def _send_once(self, call: _Call, token: _Token) -> _Reply:
        headers = dict(call.headers)
        if token.secret is not None:
            headers["Authorization"] = f"Bearer {token.secret}"
        async with token.slots:
            token.open_requests += 1
            for usage in self._usages():
                usage.requests[call.resource] += 1
                usage.saw_in_flight(token.open_requests)
            started = time.monotonic()
            try:
                response, body = await self._exchange(call, headers)
            finally:
                token.open_requests -= 1
                if call.resource == "graphql":
                    self._pacing.spent(token.key, self._clock(), time.monotonic() - started)
        status = response.status_code
        parsed, problem = _decode_json(body) if status != 304 else (None, None)
        del body
        if call.resource == "graphql" and _timed_out(status, parsed):
            self._timed_out(call, status)
        if status in TRANSIENT_STATUSES:
            raise _Transient(f"HTTP {status}")
        if problem is not None and response.is_success:  # a truncated answer is worth asking again
            raise _Transient(f"malformed JSON in an HTTP {status} answer ({problem})")
        return _Reply(status, response.headers, parsed, _next_url(response, call.url))

    async def _exchange(self, call: _Call, headers: dict[str, str]) -> tuple[httpx.Response, bytearray]:
        """One request sent and its answer read whole, within the deadline: httpx's timeout is
        per read, so an answer trickling a byte a second would otherwise never end."""
        try:
            async with asyncio.timeout(self._deadline) as scope:
                return await self._unless_interrupted(self._fetch(call, headers))
        except TimeoutError:
            if not scope.expired():
                raise
        raise DeadlineExceeded(
            f"GitHub's answer for {_where(call.url)} did not arrive whole within {self._deadline:g}s "
            "(GITBRAG_GITHUB_REQUEST_DEADLINE_SECONDS)"
        )

    async def _fetch(self, call: _Call, headers: dict[str, str]) -> tuple[httpx.Response, bytearray]:
        try:
            async with self._http.stream(
                call.method, call.url, headers=headers, params=call.params, json=call.json_body
            ) as response:
                return response, await self._read_capped(response, call.url)
        except httpx.TransportError as exc:
            raise _Transient(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__) from exc

    async def _read_capped(self, response: httpx.Response, url: str) -> bytearray:
        """The decoded body, counted as it is decoded: past the cap, reading stops (a 1 MB gzip
        bomb unpacking to 1 GiB held 8 GB read whole), and the answer is one clear error.

        Inflated here rather than by httpx, which inflates each network read whole: a 64 KiB
        read of a bomb is 64 MB at once. Here no step yields more than the cap has left."""
        body = bytearray()
        inflater = _Inflater(response.headers.get("content-encoding", ""), url)
        # Not compressed: httpx's own iteration (it also serves a body already read).
        chunks = response.aiter_raw() if inflater.inflates else response.aiter_bytes()
        async for raw in chunks:
            for chunk in inflater.feed(raw, self._max_bytes - len(body) + 1):
                if len(body) + len(chunk) > self._max_bytes:
                    raise AnswerTooLarge(
                        f"GitHub's answer for {_where(url)} is larger than {_size(self._max_bytes)} decoded "
                        "(GITBRAG_GITHUB_MAX_RESPONSE_BYTES); not read further"
                    )
                body += chunk
        return body

    async def _unless_interrupted(self, work: Coroutine[Any, Any, T]) -> T:
        """`work`, unless `interrupt` returns first and the answer is not in within `STOP_GRACE`
        after: then the request is dropped and what `interrupt` raised (a shutdown) goes up.
        A healthy answer lands within the grace, so a working refresh still finishes; one
        trickling in does not keep a stopping process alive."""
        if self._interrupt is None:
            return await work
        task, watch = asyncio.ensure_future(work), asyncio.ensure_future(self._interrupt())
        try:
            await asyncio.wait((task, watch), return_when=asyncio.FIRST_COMPLETED)
            if not task.done():
                await asyncio.wait((task,), timeout=STOP_GRACE)
            if task.done():
                return task.result()
            watch.result()  # raises the interrupt's exception
            raise asyncio.CancelledError("interrupted")  # an interrupt that returned instead
        finally:
            for pending in (task, watch):
                pending.cancel()
            await asyncio.gather(task, watch, return_exceptions=True)

    def _timed_out(self, call: _Call, status: int) -> None:
        """GitHub stopped the query: tell a caller who can shrink it, else retry with backoff."""
        for usage in self._usages():
            usage.timeouts += 1
        what = f"HTTP {status}: GitHub stopped the GraphQL query as too slow"
        log.info(what, extra={"status": status, "shrinkable": call.shrinkable})
        if call.shrinkable:
            raise QueryTimeout(what)
        raise _Transient(what)

    def _checked(self, reply: _Reply, url: str, token: _Token) -> _Reply:
        """Turn GitHub's error statuses into exceptions; pass everything else through."""
        if reply.status == 401:
            which = f" ({token.label})" if len(self._pool.tokens) > 1 else ""
            raise AuthError(f"GitHub rejected the token{which} (401 Bad credentials)")
        if reply.status == 404:
            raise NotFound(f"not found on GitHub: {_where(url)}")
        if 300 <= reply.status < 400 and reply.status != 304:  # never an answer to read as data
            raise GitHubError(
                f"GitHub answered HTTP {reply.status} for {_where(url)}, which gitbrag does not follow"
            )
        if reply.status >= 400:
            message = _error_message(reply.json) or "no message"
            raise GitHubError(f"GitHub answered HTTP {reply.status} for {_where(url)}: {message}")
        return reply

    def _account_points(self, data: Any) -> None:
        rate = data.get("rateLimit") if isinstance(data, dict) else None
        cost = rate.get("cost") if isinstance(rate, dict) else None
        for usage in self._usages():
            usage.graphql_points += int(cost) if isinstance(cost, int) else 1
        if isinstance(rate, dict):
            log.debug(
                "GraphQL query cost %s points, %s left",
                cost,
                rate.get("remaining"),
                extra={"points": cost, "remaining": rate.get("remaining")},
            )

    async def _pause(self, seconds: float) -> None:
        for usage in self._usages():
            usage.seconds_waited += seconds
        await self._sleep(seconds)

    def _before_retry(self, state: Any) -> None:
        for usage in self._usages():
            usage.retries += 1
        outcome = state.outcome.exception() if state.outcome else None
        # DEBUG: retries are routine; if they all fail, the caller gets GitHubUnavailable.
        log.debug("transient GitHub failure (%s); retrying", outcome, extra={"attempt": state.attempt_number})


class _Inflater:
    """A body's Content-Encoding undone step by step, no step larger than asked (`feed`).

    gzip and deflate, what the client asks for (`Accept-Encoding`); anything else is not an
    answer it can read."""

    def __init__(self, encoding: str, url: str) -> None:
        encoding = encoding.strip().lower()
        self._zlib: Any = None
        if encoding in ("gzip", "x-gzip", "deflate"):
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip or zlib, by its header
        elif encoding not in ("", "identity"):
            raise MalformedAnswer(f"GitHub's answer for {_where(url)} has an unknown Content-Encoding")

    @property
    def inflates(self) -> bool:
        return self._zlib is not None

    def feed(self, data: bytes, most: int) -> Iterator[bytes]:
        """`data` decoded, in pieces of at most `most` bytes (the compressed rest is kept)."""
        if self._zlib is None:
            yield data
            return
        try:
            yield self._zlib.decompress(data, most)
            while self._zlib.unconsumed_tail:
                yield self._zlib.decompress(self._zlib.unconsumed_tail, most)
        except zlib.error:
            raise _Transient("an answer that does not decode as its Content-Encoding says") from None


def _timed_out(status: int, body: Any) -> bool:
    """A GraphQL answer that means "this query took too long": 502/504, or 200 with `data: null`
    and GitHub's "Something went wrong… may be the result of a timeout" message."""
    if status in (502, 504):
        return True
    if status != 200 or not isinstance(body, dict) or body.get("data") is not None:
        return False
    messages = " ".join(str(e.get("message", "")) for e in _graphql_errors(body)).lower()
    return any(m in messages for m in _TIMEOUT_MESSAGES)


def _answer(data: dict[str, Any], errors: list[dict[str, Any]], allow_not_found: bool) -> GraphQLAnswer:
    """Sort GitHub's errors: what is hidden, what was cut by resource limits, what is fatal."""
    answer = GraphQLAnswer(data)
    for error in errors:
        kind, path = error.get("type"), tuple(error.get("path") or ())
        message = str(error.get("message", "unknown error"))
        if kind == "NOT_FOUND":
            if not allow_not_found:
                raise NotFound(message)
        elif kind == "FORBIDDEN" and path:
            saml = bool((error.get("extensions") or {}).get("saml_failure"))
            answer.hidden.append(HiddenNode(path, "saml" if saml else "forbidden"))
        elif kind == "RESOURCE_LIMITS_EXCEEDED" and path:
            answer.limited.append(path)
        else:
            raise GitHubError(f"GitHub GraphQL error: {message}")
    return answer


def _decode_json(body: bytes | bytearray) -> tuple[Any, str | None]:
    """(the body as JSON, None), or (None, what was wrong with it): JSON nested 100,000 deep
    raises RecursionError in the parser, which is a malformed answer like any other."""
    if not body:
        return None, None
    try:
        return json.loads(body), None
    except RecursionError:
        return None, "nested deeper than any GitHub answer"
    except ValueError:
        return None, "not valid JSON"


def _items_of(body: Any, url: str) -> list[Any]:
    """A list page's items: the body itself, or `items` of a search's; anything else (a 200
    holding a message) is a malformed answer, never an empty page."""
    items = body.get("items") if isinstance(body, dict) else body
    if not isinstance(items, list):
        raise MalformedAnswer(f"GitHub's answer for {_where(url)} holds no list")
    return items


def _next_url(response: httpx.Response, url: str) -> str | None:
    """The `Link: rel="next"` page, made absolute against the request's URL."""
    link = response.links.get("next", {}).get("url")
    if not link:
        return None
    try:
        return str(httpx.URL(url).join(str(link)))
    except httpx.InvalidURL:
        raise MalformedAnswer(f"GitHub's next-page link for {_where(url)} is not a URL") from None


def _origin(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of a URL, default ports made explicit; None for no usable URL."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        return None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        return None
    return parsed.scheme, parsed.host.lower(), parsed.port or (443 if parsed.scheme == "https" else 80)


def _origin_name(url: str) -> str:
    origin = _origin(url)
    return "an unusable URL" if origin is None else f"{origin[0]}://{origin[1]}:{origin[2]}"


def _size(count: int) -> str:
    return f"{count / 2**20:g} MiB" if count >= 2**20 else f"{count} bytes"


def _where(url: str) -> str:
    """Host and path of a URL for messages (never the query string)."""
    parts = urlsplit(url)
    return f"{parts.netloc}{parts.path}"
