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
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import httpx
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from gitbrag.clock import Seconds, epoch
from gitbrag.github import budget
from gitbrag.github.errors import (
    AuthError,
    GitHubError,
    GitHubUnavailable,
    NotFound,
    QueryTimeout,
    RateLimitError,
)
from gitbrag.github.pacing import Pacing, token_key

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
# GitHub's words when it stopped a query (HTTP 200, `data: null`).
_TIMEOUT_MESSAGES = ("may be the result of a timeout", "something went wrong while executing your query")

Sleep = Callable[[float], Awaitable[None]]
Clock = Seconds


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
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.graphql_url = graphql_url
        self.usage = Usage()
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
            headers={"User-Agent": "gitbrag", "X-GitHub-Api-Version": API_VERSION},
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
            raise GitHubError(f"GraphQL at {_where(self.graphql_url)} answered without a JSON object")
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
        url = path if path.startswith(("http://", "https://")) else self.api_url + path
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
            body = page.json
            yield list(body.get("items", [])) if isinstance(body, dict) else list(body or [])
            url, params = page.next_url, None  # the next link carries the query string

    def _resource_of(self, url: str) -> str:
        """Which REST budget a URL spends: search has its own, much smaller one."""
        path = urlsplit(url).path.removeprefix(urlsplit(self.api_url).path)
        return "search" if path.startswith("/search/") else "core"

    # --- one logical request -----------------------------------------------------------

    async def _send(self, call: _Call) -> _Reply:
        """Send until GitHub answers with something other than a rate limit."""
        waits = secondary_waits = 0
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
            if limit is None:
                return self._checked(reply, call.url, token)
            waits += 1
            if waits > MAX_RATE_LIMIT_WAITS:
                raise RateLimitError(f"GitHub kept rate-limiting {_where(call.url)} after {waits - 1} waits")
            self._note_limit(token, call.resource, limit)
            secondary_waits += 0 if limit.primary else 1

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
                response = await self._http.request(
                    call.method, call.url, headers=headers, params=call.params, json=call.json_body
                )
            except httpx.TransportError as exc:
                raise _Transient(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__) from exc
            finally:
                token.open_requests -= 1
                if call.resource == "graphql":
                    self._pacing.spent(token.key, self._clock(), time.monotonic() - started)
        if call.resource == "graphql" and _timed_out(response):
            self._timed_out(call, response.status_code)
        if response.status_code in TRANSIENT_STATUSES:
            raise _Transient(f"HTTP {response.status_code}")
        return _Reply(response.status_code, response.headers, _json_of(response), _next_url(response))

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


def _timed_out(response: httpx.Response) -> bool:
    """A GraphQL answer that means "this query took too long": 502/504, or 200 with `data: null`
    and GitHub's "Something went wrong… may be the result of a timeout" message."""
    if response.status_code in (502, 504):
        return True
    if response.status_code != 200:
        return False
    try:
        body = response.json()
    except ValueError:
        return False
    if not isinstance(body, dict) or body.get("data") is not None:
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


def _json_of(response: httpx.Response) -> Any:
    """The body as JSON; a success that is not JSON is a truncated answer, worth retrying."""
    if response.status_code == 304 or not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        if response.is_success:
            raise _Transient(f"malformed JSON in an HTTP {response.status_code} answer") from None
        return None


def _next_url(response: httpx.Response) -> str | None:
    url = response.links.get("next", {}).get("url")
    return str(url) if url else None


def _where(url: str) -> str:
    """Host and path of a URL for messages (never the query string)."""
    parts = urlsplit(url)
    return f"{parts.netloc}{parts.path}"
