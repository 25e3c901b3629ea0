"""The fake GitHub as an ASGI app: REST and GraphQL routes behind GitHub's gates.

Every API request goes through `FakeState.serve`, in GitHub's order: the per-token
concurrency cap, injected faults (latency, 5xx, timeouts, secondary limits),
authentication (which also fixes what the token may see: `access.py`), the handler, the
conditional-request check (a matching `If-None-Match` gets a free 304), the primary
rate limit, and finally the shared headers (`x-ratelimit-*`, `ETag`, `Link`). The
`/_fake/*` admin routes bypass all of that: they are for tests and benchmarks.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import re
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from gitbrag.fakegithub import churn as churn_mod
from gitbrag.fakegithub import dataset as ds_mod
from gitbrag.fakegithub.access import ANONYMOUS_ACCESS, Access
from gitbrag.fakegithub.budget import RateLimitExceeded, RateSnapshot
from gitbrag.fakegithub.churn import ChurnSummary
from gitbrag.fakegithub.faults import (
    SECONDARY_LIMIT_DOCS,
    SECONDARY_LIMIT_MESSAGE,
    FaultConfig,
    FaultInjector,
)
from gitbrag.fakegithub.graphql_api import (
    ExecutionOptions,
    PreparedQuery,
    prepare_graphql,
    rate_limit_error,
    run_prepared,
)
from gitbrag.fakegithub.limits import ANONYMOUS, RESOURCES, LimitConfig, RateLimiter, rate_headers, token_id
from gitbrag.fakegithub.records import CompactStars, Dataset, FakePull, FakeStar
from gitbrag.fakegithub.rest import ApiResponse, RestApi, api_base, error, rate_limit_body

JSON_TYPE = "application/json; charset=utf-8"
RATE_LIMIT_DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
MOVED_DOCS = "https://docs.github.com/rest/guides/best-practices-for-using-the-rest-api#follow-redirects"
STARGAZERS_DOCS = "https://docs.github.com/rest/activity/starring#list-stargazers"
GRAPHQL_AUTH_MESSAGE = "This endpoint requires you to be authenticated."
GRAPHQL_TIMEOUT_MESSAGE = (
    "Something went wrong while executing your query. This may be the result of a timeout, or it could "
    "be a GitHub bug. Please include `{request_id}` when reporting this issue."
)
GATEWAY_TIMEOUT_MESSAGE = (
    "We couldn't respond to your request in time. Sorry about that. Please try resubmitting your request "
    "and contact us if the problem persists."
)
BAD_GATEWAY_HTML = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)


LARGE_DATASET_STARS = 250_000  # past this `/_fake/dataset` is streamed, record by record, not cached


AUTHOR_QUALIFIER = re.compile(r"\bauthor:([A-Za-z0-9-]+)")


@dataclass
class FakeConfig:
    limits: LimitConfig = field(default_factory=LimitConfig)
    faults: FaultConfig = field(default_factory=FaultConfig)
    clock: Callable[[], float] = time.time  # drives rate-limit windows; inject one in tests
    valid_tokens: frozenset[str] | None = None  # None: any token is accepted
    revoked_tokens: frozenset[str] = frozenset()
    rate_limited_status: int = 403  # GitHub answers 403 or 429 for a spent primary budget
    private_access: bool = True  # authenticated tokens see private repositories (a `repo`-scoped token)
    saml_authorized_tokens: frozenset[str] = frozenset()  # tokens authorised for SAML-enforcing orgs
    max_concurrent_per_token: int = 100  # GitHub's concurrency cap: more at once get a secondary limit
    # The account each token belongs to: a token administers its account's repositories, whose
    # stargazers stay readable under the `stargazers_restricted*` faults (`access.py`).
    token_owners: dict[str, str] = field(default_factory=dict)


@dataclass
class Stats:
    requests: Counter[str] = field(default_factory=Counter)  # by route template
    statuses: Counter[str] = field(default_factory=Counter)
    cost: Counter[str] = field(default_factory=Counter)  # by resource
    tokens: defaultdict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    not_modified: int = 0
    rate_limited: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    # Searches naming `author:LOGIN` (REST or GraphQL), by lowercased login: how many times
    # each user's pull requests were looked up, so tests can prove a refresh ran once.
    searches_by_author: Counter[str] = field(default_factory=Counter)
    max_in_flight: dict[str, int] = field(default_factory=dict)  # by token id: most requests at once

    def count_authors(self, text: str) -> None:
        for login in set(AUTHOR_QUALIFIER.findall(text)):
            self.searches_by_author[login.lower()] += 1

    def as_json(self) -> dict[str, Any]:
        return {
            "total_requests": sum(self.requests.values()),
            "requests": dict(self.requests),
            "statuses": dict(self.statuses),
            "cost": {r: self.cost[r] for r in RESOURCES},
            "graphql_points": self.cost["graphql"],
            "tokens": {t: dict(c) for t, c in self.tokens.items()},
            "not_modified": self.not_modified,
            "rate_limited": self.rate_limited,
            "faults": dict(self.faults),
            "searches_by_author": dict(self.searches_by_author),
            "max_in_flight": dict(self.max_in_flight),
        }


Handler = Callable[[Request], ApiResponse]


class FakeState:
    """One fake GitHub's mutable state: dataset, budgets, faults and stats."""

    def __init__(self, dataset: Dataset, config: FakeConfig) -> None:
        self.dataset = dataset
        self.config = config
        self.rest = RestApi(dataset)
        self.limiter = RateLimiter(config.limits, config.clock)
        self.faults = FaultInjector(config.faults)
        self.stats = Stats()
        self._dump: tuple[tuple[int, int], bytes] | None = None
        self._request_no = 0
        self._in_flight: Counter[str] = Counter()  # by token id; never reset: these are real requests

    # --- mutation (tests) -------------------------------------------------------------

    def add_pull(self, repo: str, author: str, **kwargs: Any) -> FakePull:
        """Add a PR (see `dataset.add_pull`); responses that show it get new ETags."""
        pull = ds_mod.add_pull(self.dataset, repo, author, **kwargs)
        self._changed()
        return pull

    def add_star(self, repo: str, login: str, starred_at: datetime | None = None) -> FakeStar:
        star = ds_mod.add_star(self.dataset, repo, login, starred_at)
        self._changed()
        return star

    def set_pull_state(self, repo: str, number: int, state: str, at: datetime | None = None) -> FakePull:
        """Merge, close or reopen a PR as GitHub would: `state` is "merged", "closed" or
        "open", and the change bumps `updated_at` (to `at`, default now)."""
        pull = self.dataset.pull(repo, number)
        if pull is None:
            raise KeyError(f"{repo}#{number}")
        when = at or datetime.now(UTC).replace(microsecond=0)
        self.dataset.remember_before_change(pull)
        pull.state = "open" if state == "open" else "closed"
        pull.closed_at = None if state == "open" else when
        pull.merged_at = when if state == "merged" else None
        pull.updated_at = when
        self._changed()
        return pull

    def remove_star(self, repo: str, login: str) -> None:
        """Unstar: the stargazer disappears from the repository's list, as on GitHub."""
        r = self.dataset.repo(repo)
        if r is None:
            raise KeyError(repo)
        if isinstance(r.stars, CompactStars):
            r.stars.remove_login(login)
        else:
            r.stars = [s for s in r.stars if s.login != login]
        self._changed()

    def churn(self, days: int) -> ChurnSummary:
        """Apply `days` days of realistic change ending at the fake's clock (see `churn.py`)."""
        now = datetime.fromtimestamp(int(self.config.clock()), UTC)
        summary = churn_mod.churn(self.dataset, days, now)
        self._changed()
        return summary

    def add_member(self, org: str, login: str, *, public: bool = True, role: str = "MEMBER") -> None:
        """`login` joins `org`, or publicizes or conceals their membership (see `dataset.add_member`)."""
        ds_mod.add_member(self.dataset, org, login, public=public, role=role)
        self._changed()

    def remove_member(self, org: str, login: str) -> None:
        """`login` leaves `org` (see `dataset.remove_member`)."""
        ds_mod.remove_member(self.dataset, org, login)
        self._changed()

    def remove_user(self, login: str) -> None:
        """Delete an account between refreshes (see `dataset.remove_user`)."""
        ds_mod.remove_user(self.dataset, login)
        self._changed()

    def remove_repo(self, full_name: str) -> None:
        """Delete a repository and its pull requests (see `dataset.remove_repo`)."""
        ds_mod.remove_repo(self.dataset, full_name)
        self._changed()

    def reset(self) -> None:
        """Zero the stats and every budget (faults stay as configured)."""
        self.stats = Stats()
        self.limiter.reset()

    def _changed(self) -> None:
        self._dump = None
        self.rest.invalidate()

    def is_large(self) -> bool:
        """Too many stars to dump into one cached `bytes`: `/_fake/dataset` streams instead."""
        return sum(r.stargazers_count for r in self.dataset.repos.values()) > LARGE_DATASET_STARS

    def dataset_json(self, users: list[str] | None) -> bytes:
        if users:
            return _dumps(ds_mod.dataset_to_json(self.dataset, users))
        # Keyed on the counts too, so records added straight to the dataset are not missed.
        key = (len(self.dataset.pulls), sum(r.stargazers_count for r in self.dataset.repos.values()))
        if self._dump is None or self._dump[0] != key:
            self._dump = (key, _dumps(ds_mod.dataset_to_json(self.dataset)))
        return self._dump[1]

    # --- the request pipeline -------------------------------------------------------

    async def serve(self, request: Request, template: str, resource: str, handler: Handler) -> Response:
        self.stats.requests[template] += 1
        self._request_no += 1
        request_id = f"FAKE:{self._request_no:08X}"
        request.state.request_id = request_id
        who = token_id(bearer_token(request))
        self._in_flight[who] += 1
        try:
            peak = self.stats.max_in_flight
            peak[who] = max(peak.get(who, 0), self._in_flight[who])
            if self._in_flight[who] > self.config.max_concurrent_per_token:
                # GitHub refuses excess concurrency at once, with its secondary-limit answer.
                self.stats.faults["concurrency"] += 1
                response = self._fault_response("secondary", 403, who, resource, request_id)
            else:
                response = await self._serve(request, resource, handler, request_id)
        finally:
            self._in_flight[who] -= 1
        self.stats.statuses[str(response.status_code)] += 1
        return response

    async def _serve(self, request: Request, resource: str, handler: Handler, request_id: str) -> Response:
        fault = self.faults.decide()
        if fault.kind == "timeout":
            await _hold(request, fault.delay_s)
        elif fault.delay_s:
            await asyncio.sleep(fault.delay_s)
        token = bearer_token(request)
        who = token_id(token)
        if fault.kind in ("error", "timeout", "secondary"):
            self.stats.faults[fault.kind] += 1
            return self._fault_response(fault.kind, fault.status, who, resource, request_id)
        refusal = self._authenticate(token, resource)
        if refusal is not None:  # GitHub shows the anonymous budget on a 401
            anonymous = rate_headers(self.limiter.peek(ANONYMOUS, "core"))
            return _json_response(refusal, {"x-github-request-id": request_id, **anonymous})
        request.state.access = self._access(token)
        request.state.search_indexed_at = self._search_indexed_at()
        if request.url.path.startswith("/repos/") and (moved := self._moved(request)) is not None:
            return moved
        api = self._restricted(request) or handler(request)
        self.dataset.read_until = datetime.fromtimestamp(int(self.config.clock()), UTC)
        if api.hold_s > 0:
            await _hold(request, api.hold_s)
        if api.raw is not None:
            return Response(api.raw, api.status, {"x-github-request-id": request_id, **api.headers},
                            media_type=api.media_type)  # fmt: skip
        body = _dumps(api.body)
        headers = {"x-github-request-id": request_id, **api.headers}
        if request.method == "GET" and api.status == 200:
            etag = 'W/"' + hashlib.md5(body, usedforsecurity=False).hexdigest() + '"'
            headers["etag"] = etag
            if _etag_matches(request.headers.get("if-none-match"), etag):
                self.stats.not_modified += 1
                headers.update(rate_headers(self.limiter.peek(who, resource)))
                return Response(status_code=304, headers=headers)
        if resource != "graphql":  # the GraphQL executor charges the query's points itself
            try:
                snap = self._charge(who, resource, 1)
            except RateLimitExceeded as exc:
                return self._rate_limited(exc.snapshot, who, request_id)
            headers.update(rate_headers(snap))
        if fault.kind == "malformed" and api.status == 200:
            self.stats.faults["malformed"] += 1
            body = body[: len(body) // 2]
        return Response(body, api.status, headers, media_type=JSON_TYPE)

    def _search_indexed_at(self) -> datetime | None:
        """Up to when the search index has caught up with writes, with a lag configured."""
        lag = self.faults.config.search_lag_seconds
        return None if lag <= 0 else datetime.fromtimestamp(self.config.clock() - lag, UTC)

    def _restricted(self, request: Request) -> ApiResponse | None:
        """The REST stargazers list as GitHub serves it to a token that is neither admin nor
        collaborator since its 2026-06-30 changelog, when `stargazers_restricted` says so."""
        status = self.faults.config.stargazers_restricted
        if not status or not request.url.path.endswith("/stargazers"):
            return None
        repo = self.dataset.repo(f"{request.path_params.get('owner')}/{request.path_params.get('repo')}")
        if repo is not None and request.state.access.administers(repo):
            return None
        self.stats.faults["stargazers_restricted"] += 1
        if status == 403:
            return ApiResponse(403, {"message": "Must have admin rights to Repository.",
                                     "documentation_url": STARGAZERS_DOCS, "status": "403"})  # fmt: skip
        return ApiResponse(200, [])

    def _moved(self, request: Request) -> Response | None:
        """GitHub's answer for a renamed repository, when the `moved_*` switches say so:
        301 to the same path under `/repositories/{id}` (a charged request, as any other)."""
        params = request.path_params
        repo = self.dataset.repo(f"{params.get('owner')}/{params.get('repo')}")
        if repo is None or not self.faults.moves():
            return None
        self.stats.faults["moved"] += 1
        rest = request.url.path.split("/", 4)[4:]  # after /repos/{owner}/{repo}
        location = f"{api_base(request)}/repositories/{repo.id}" + (f"/{rest[0]}" if rest else "")
        if request.url.query:
            location += f"?{request.url.query}"
        who = token_id(bearer_token(request))
        try:
            snap = self._charge(who, "core", 1)
        except RateLimitExceeded as exc:
            return self._rate_limited(exc.snapshot, who, request.state.request_id)
        body = {"message": "Moved Permanently", "url": location, "documentation_url": MOVED_DOCS}
        headers = {
            "location": location,
            "x-github-request-id": request.state.request_id,
            **rate_headers(snap),
        }
        return Response(_dumps(body), 301, headers, media_type=JSON_TYPE)

    def repo_path(self, repo_id: int) -> str | None:
        """`owner/name` of the repository with this id (what `/repositories/{id}` names)."""
        for repo in self.dataset.repos.values():
            if repo.id == repo_id:
                return repo.full_name
        return None

    def _charge(self, who: str, resource: str, cost: int) -> RateSnapshot:
        snap = self.limiter.charge(who, resource, cost)
        self.stats.cost[resource] += cost
        self.stats.tokens[who][resource] += cost
        return snap

    def _access(self, token: str | None) -> Access:
        """What this (already authenticated) token may read: see `access.py`."""
        if token is None:
            return ANONYMOUS_ACCESS
        return Access(
            private=self.config.private_access,
            saml_authorized=token in self.config.saml_authorized_tokens,
            login=self.config.token_owners.get(token),
            graphql_stargazers_restricted=bool(self.faults.config.stargazers_restricted_graphql),
        )

    def _authenticate(self, token: str | None, resource: str) -> ApiResponse | None:
        if token is None:
            if resource == "graphql":
                docs = "https://docs.github.com/graphql/guides/forming-calls-with-graphql#authenticating-with-graphql"
                return ApiResponse(401, {"message": GRAPHQL_AUTH_MESSAGE, "documentation_url": docs})
            return None
        valid = self.config.valid_tokens
        if token in self.config.revoked_tokens or (valid is not None and token not in valid):
            return error(401, "Bad credentials")
        return None

    def _rate_limited(self, snap: RateSnapshot, who: str, request_id: str) -> Response:
        self.stats.rate_limited += 1
        subject = "user ID 1" if who != ANONYMOUS else "127.0.0.1"
        message = f"API rate limit exceeded for {subject}."
        if who == ANONYMOUS:
            message += (
                " (But here's the good news: Authenticated requests get a higher rate limit. "
                "Check out the documentation for more details.)"
            )
        api = error(self.config.rate_limited_status, message, RATE_LIMIT_DOCS)
        return _json_response(api, {"x-github-request-id": request_id, **rate_headers(snap)})

    def _fault_response(self, kind: str, status: int, who: str, resource: str, request_id: str) -> Response:
        headers = {"x-github-request-id": request_id}
        if kind == "secondary":
            if self.faults.config.retry_after_s > 0:  # GitHub often sends none: clients must back off anyway
                headers["retry-after"] = str(self.faults.config.retry_after_s)
            headers.update(rate_headers(self.limiter.peek(who, resource)))
            message = SECONDARY_LIMIT_MESSAGE.format(request_id=request_id)
            return _json_response(error(403, message, SECONDARY_LIMIT_DOCS), headers)
        messages = {
            502: "Server Error",
            503: "Service Unavailable",
            504: "We couldn't respond to your request in time.",
        }
        return _json_response(ApiResponse(status, {"message": messages[status]}), headers)

    # --- GraphQL ----------------------------------------------------------------------

    def graphql_handler(self, request: Request, payload: object) -> ApiResponse:
        """GraphQL's own faults first (all HTTP 200 or gateway errors, as GitHub's), then the
        executor: a query too big for the fake's patience times out, one too big for its
        resources comes back partial, any other runs with its points charged."""
        who = token_id(bearer_token(request))
        request_id = str(request.state.request_id)
        forced = self.faults.decide_graphql()
        if forced in ("rate_limit", "rate_limited"):
            return self._graphql_rate_limit(who, legacy=forced == "rate_limited")
        if forced == "secondary_200":
            return self._graphql_secondary(who, request_id)
        query = prepare_graphql(payload)
        if not isinstance(query, PreparedQuery):
            status, body = query
            return ApiResponse(status, body, rate_headers(self.limiter.peek(who, "graphql")))
        if forced == "timeout" or self.faults.times_out(query.cost.nodes):
            return self._graphql_timeout(who, query.cost.points, request_id)
        resource_limited = self.faults.resource_limited(query.cost.nodes)
        if resource_limited:
            self.stats.faults["resource_limits"] += 1
        options = ExecutionOptions(request.state.access, resource_limited, request.state.search_indexed_at)
        return self._execute(who, query, options)

    def _graphql_rate_limit(self, who: str, legacy: bool) -> ApiResponse:
        """GitHub's GraphQL rate-limit answer, which can arrive while headers still show points left
        (so a client must read the body, not `x-ratelimit-remaining`)."""
        self.stats.faults["graphql_rate_limit"] += 1
        snap = self.limiter.peek(who, "graphql")
        reset = datetime.fromtimestamp(int(self.config.clock() + self.faults.config.rate_limit_reset_s), UTC)
        snap = dataclasses.replace(snap, remaining=max(snap.remaining, 1), reset_at=reset)
        return ApiResponse(200, {"errors": [rate_limit_error(legacy)]}, rate_headers(snap))

    def _graphql_secondary(self, who: str, request_id: str) -> ApiResponse:
        """A secondary limit the GraphQL way: HTTP 200, one message, no `type`, no data."""
        self.stats.faults["secondary_200"] += 1
        headers = rate_headers(self.limiter.peek(who, "graphql"))
        if self.faults.config.retry_after_s > 0:
            headers["retry-after"] = str(self.faults.config.retry_after_s)
        message = SECONDARY_LIMIT_MESSAGE.format(request_id=request_id)
        return ApiResponse(200, {"errors": [{"message": message}]}, headers)

    def _graphql_timeout(self, who: str, points: int, request_id: str) -> ApiResponse:
        """A query GitHub gave up on: held, charged its cost plus a penalty, answered in the
        configured style (200 with errors, a 502 HTML page or a 504 JSON message)."""
        self.stats.faults["graphql_timeout"] += 1
        config = self.faults.config
        left = self.limiter.peek(who, "graphql").remaining
        snap = self._charge(who, "graphql", min(points + config.timeout_penalty_points, left))
        hold = config.graphql_timeout_s
        if config.graphql_timeout_style == 502:
            return ApiResponse(502, None, hold_s=hold, raw=BAD_GATEWAY_HTML, media_type="text/html")
        if config.graphql_timeout_style == 504:
            return ApiResponse(504, {"message": GATEWAY_TIMEOUT_MESSAGE}, hold_s=hold)
        body = {"data": None, "errors": [{"message": GRAPHQL_TIMEOUT_MESSAGE.format(request_id=request_id)}]}
        return ApiResponse(200, body, rate_headers(snap), hold_s=hold)

    def _execute(self, who: str, query: PreparedQuery, options: ExecutionOptions) -> ApiResponse:
        """Run the other half's executor, charging its points to the caller's budget."""
        charged: list[RateSnapshot] = []

        def charge(cost: int) -> RateSnapshot:
            try:
                snap = self._charge(who, "graphql", cost)
            except RateLimitExceeded as exc:
                self.stats.rate_limited += 1
                charged.append(exc.snapshot)
                raise
            charged.append(snap)
            return snap

        status, body = run_prepared(self.dataset, query, charge, options)
        refused = sum(1 for e in body.get("errors", ()) if (e.get("path") or [None])[-1] == "stargazers")
        if refused:
            self.stats.faults["stargazers_restricted_graphql"] += refused
        snap = charged[-1] if charged else self.limiter.peek(who, "graphql")
        return ApiResponse(status, body, rate_headers(snap))


async def _hold(request: Request, seconds: float) -> None:
    """Sit on a request like a hung backend, but stop once the client has given up."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (left := deadline - loop.time()) > 0:
        if await request.is_disconnected():
            return
        await asyncio.sleep(min(left, 0.05))


def bearer_token(request: Request) -> str | None:
    """The token from `Authorization: token X` or `Bearer X` (never logged)."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() in ("token", "bearer") and value.strip():
        return value.strip()
    return None


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    wanted = etag.removeprefix("W/")
    return any(t.strip() == "*" or t.strip().removeprefix("W/") == wanted for t in header.split(","))


def _dumps(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def _json_response(api: ApiResponse, headers: dict[str, str]) -> Response:
    return Response(_dumps(api.body), api.status, {**headers, **api.headers}, media_type=JSON_TYPE)


# --- the app ------------------------------------------------------------------------------


def create_app(dataset: Dataset | None = None, config: FakeConfig | None = None) -> Starlette:
    """A fake GitHub serving `dataset` (default: the demo dataset); its state is `app.state.fake`."""
    state = FakeState(dataset if dataset is not None else ds_mod.build_dataset(), config or FakeConfig())
    rest = state.rest

    def api(path: str, handler: Handler, resource: str = "core") -> Route:
        template = f"GET {path}"

        async def endpoint(request: Request) -> Response:
            if "repo_id" in request.path_params:  # /repositories/{id}/...: a moved repository's URLs
                full_name = state.repo_path(request.path_params["repo_id"]) or "-/-"
                owner, name = full_name.split("/", 1)
                request.scope["path_params"] |= {"owner": owner, "repo": name}
            if resource == "search":
                state.stats.count_authors(request.query_params.get("q", ""))
            return await state.serve(request, template, resource, handler)

        return Route(path, endpoint, methods=["GET"])

    async def graphql(request: Request) -> Response:
        body = await request.body()
        try:
            payload: object = json.loads(body)
        except ValueError:
            payload = None
        state.stats.count_authors(body.decode("utf-8", "replace"))
        return await state.serve(
            request, "POST /graphql", "graphql", lambda r: state.graphql_handler(r, payload)
        )

    def rate_limit(request: Request) -> ApiResponse:
        who = token_id(bearer_token(request))
        return ApiResponse(200, rate_limit_body({r: state.limiter.peek(who, r) for r in RESOURCES}))

    async def rate_limit_endpoint(request: Request) -> Response:
        # GitHub doesn't charge for GET /rate_limit: serve it outside the pipeline's charge.
        state.stats.requests["GET /rate_limit"] += 1
        # Free, but not open: GitHub answers a bad or revoked token with 401 here too.
        refusal = state._authenticate(bearer_token(request), "core")
        if refusal is not None:
            return _json_response(refusal, {})
        who = token_id(bearer_token(request))
        headers = rate_headers(state.limiter.peek(who, "core"))
        return _json_response(rate_limit(request), headers)

    routes = [
        api("/users/{username}", rest.get_user),
        api("/users/{username}/social_accounts", rest.social_accounts),
        api("/orgs/{org}/public_members", rest.public_members),
        api("/search/issues", rest.search_issues, "search"),
        api("/repos/{owner}/{repo}", rest.get_repo),
        api("/repos/{owner}/{repo}/pulls/{number:int}", rest.get_pull),
        api("/repos/{owner}/{repo}/pulls/{number:int}/files", rest.pull_files),
        api("/repos/{owner}/{repo}/stargazers", rest.stargazers),
        api("/repositories/{repo_id:int}", rest.get_repo),
        api("/repositories/{repo_id:int}/pulls/{number:int}", rest.get_pull),
        api("/repositories/{repo_id:int}/pulls/{number:int}/files", rest.pull_files),
        api("/repositories/{repo_id:int}/stargazers", rest.stargazers),
        Route("/rate_limit", rate_limit_endpoint, methods=["GET"]),
        Route("/graphql", graphql, methods=["POST"]),
        *_admin_routes(state),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: _http_error})
    app.state.fake = state
    return app


async def _http_error(request: Request, exc: Exception) -> Response:
    """Unknown routes and methods: GitHub answers them with its JSON 404."""
    return _json_response(error(404, "Not Found"), {})


def _admin_routes(state: FakeState) -> list[Route]:
    async def stats(request: Request) -> Response:
        return JSONResponse(state.stats.as_json())

    async def reset(request: Request) -> Response:
        state.reset()
        return JSONResponse({"ok": True})

    async def dataset(request: Request) -> Response:
        users = request.query_params.get("users")
        wanted = users.split(",") if users else None
        if state.is_large():  # the `real` population: ~100 MB of JSON, never held whole
            return StreamingResponse(ds_mod.dataset_json_chunks(state.dataset, wanted), media_type=JSON_TYPE)
        return Response(state.dataset_json(wanted), media_type=JSON_TYPE)

    async def churn(request: Request) -> Response:
        """`{"days": N}`: N days of stars, unstars and pull requests ending now (see `churn.py`)."""
        try:
            body = json.loads(await request.body() or b"{}")
            days = body.get("days") if isinstance(body, dict) else None
            if not isinstance(days, int) or isinstance(days, bool):
                raise ValueError('expected {"days": N} with an integer N')
            summary = state.churn(days)
        except ValueError as exc:
            return JSONResponse({"message": str(exc)}, status_code=400)
        return JSONResponse(summary.as_json())

    async def faults(request: Request) -> Response:
        if request.method == "POST":
            try:
                changes = json.loads(await request.body() or b"{}")
                if not isinstance(changes, dict):
                    raise ValueError("expected a JSON object")
                state.faults.update(changes)
            except ValueError as exc:
                return JSONResponse({"message": str(exc)}, status_code=400)
        elif request.method == "DELETE":
            state.faults.config = FaultConfig()
            state.faults.update({"seed": 0})
        return JSONResponse(state.faults.as_dict())

    async def limits(request: Request) -> Response:
        """Change budgets at runtime, e.g. `{"core": 10}` to test exhaustion on a subprocess server."""
        try:
            changes = json.loads(await request.body() or b"{}")
            for key, value in changes.items():
                if not hasattr(state.limiter.config, key) or not isinstance(value, int | float):
                    raise ValueError(f"bad limit setting {key!r}")
                setattr(state.limiter.config, key, type(getattr(state.limiter.config, key))(value))
        except (ValueError, AttributeError) as exc:
            return JSONResponse({"message": str(exc)}, status_code=400)
        return JSONResponse(vars(state.limiter.config))

    endpoints: list[tuple[str, Callable[[Request], Awaitable[Response]], list[str]]] = [
        ("/_fake/stats", stats, ["GET"]),
        ("/_fake/reset", reset, ["POST"]),
        ("/_fake/dataset", dataset, ["GET"]),
        ("/_fake/churn", churn, ["POST"]),
        ("/_fake/faults", faults, ["GET", "POST", "DELETE"]),
        ("/_fake/limits", limits, ["GET", "POST"]),
    ]
    return [Route(path, fn, methods=methods) for path, fn, methods in endpoints]
