"""The refresh hook: a small HTTP API that `gitbrag-refresh` serves next to its scheduler.

    POST /refresh/<username>[?period=1_year]   force a regeneration; answers at once (202)
    GET  /status/<username>                    what the store knows about the user's reports
    GET  /healthz                              whether the store answers (503 when it does not)
    GET  /metrics                              Prometheus metrics (see gitbrag.metrics)
    GET  /                                     this list, as JSON (method, path, what it does)

Why it is built this way:

* It never waits for GitHub. A refresh takes the same claim the scheduler takes
  (`Refresher.claim`: one store round trip, deduplicated, under the per-user limit)
  and starts the generation in the background. When the claim is refused, the answer
  is `already_running` whether that report is being generated or another period of
  the same user is (the per-user limit): a generation republishes every period of
  its user, so the page will be fresh either way.
* Checks run cheapest and safest first. The username must be a valid GitHub login
  before anything touches the store, GitHub or the file system, so no name can climb
  out of site/. Then the period, the body size, who is asking, whether the user is
  tracked, the user's cooldown (consumed even when the claim is then refused), and
  only then the claim.
* Who may trigger what. With GITBRAG_HOOK_SECRET a request must carry
  `Authorization: Bearer <secret>` or a signature (below), compared in constant time
  (401 without, 403 when wrong), and may add a user not tracked yet unless
  GITBRAG_ALLOW_NEW_USERS=false (then 403). Without a
  secret anyone may refresh tracked users only (others: 404), each at most once per
  GITBRAG_FORCE_COOLDOWN_SECONDS: enough for a "Refresh now" button on the static site
  (CORS lets the site's origin POST), not enough to spend the rate limit on arbitrary names.
* A signature authorises exactly one request. GitHub shows a webhook's deliveries, headers
  and body, to the repository's admins, so a signature over the body alone, with the user
  in the URL, could be replayed for any user, any number of times. Here it is

      X-Gitbrag-Timestamp: <unix seconds>
      X-GitHub-Delivery:   <a new id for each request: 1-128 of A-Z a-z 0-9 . _ : ->
      X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, message)>
      message = "<timestamp>\n<delivery>\n<METHOD>\n<path>[?<query>]\n" + body

  (`sign_request` makes these headers). The request target is the one the hook receives
  (the login and the period are in it), so a captured signature is worth nothing for
  another user or period; a timestamp more than `SIGNATURE_MAX_AGE_SECONDS` old or ahead is
  refused (401), and a delivery id already used within that window is refused (409), by
  every replica sharing the store (`Store.remember_once`, key `hook:delivery:<id>`). When
  the store cannot say whether the id is new, a signed request is refused (503): failing
  open would let replays through. The id is used up by the first request that passes the
  signature check, whatever its answer: to retry, sign again with a new id.
* Every answer is JSON; errors are `{"error": message}` and never carry a trace.
* Slow or silent clients cannot hold it: each request must arrive whole within 10 s, and
  connections are capped at half the file-descriptor limit, the longest-waiting dropped
  first (`gitbrag.doors.connections`), so `/healthz` and the publisher keep working.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import math
import re
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

import uvicorn
from starlette.applications import Starlette
from starlette.convertors import Convertor, register_url_convertor
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gitbrag.clock import Seconds, epoch
from gitbrag.coordination.base import ReportMeta
from gitbrag.coordination.errors import StoreError, error_name
from gitbrag.doors.connections import (
    MIN_CONNECTIONS,
    READ_TIMEOUT_SECONDS,
    ConnectionGuard,
    connection_cap,
    guarded_protocol,
    quiet_accept_errors,
)
from gitbrag.metrics import Scrape, hook_request
from gitbrag.models import PERIODS, InvalidLogin, Login, is_login
from gitbrag.periods import is_period
from gitbrag.refresh import Refresher, Target
from gitbrag.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")
Handler = Callable[[Request], Awaitable[Response]]

BODY_LIMIT = 64 * 1024  # a webhook payload is a few KiB; nothing else needs a body
SIGNATURE_HEADER = "X-Hub-Signature-256"
TIMESTAMP_HEADER = "X-Gitbrag-Timestamp"
DELIVERY_HEADER = "X-GitHub-Delivery"
# A signed request is accepted this long after its timestamp, and as far ahead of it (the
# caller's clock may run fast); its delivery id is remembered for the whole span.
SIGNATURE_MAX_AGE_SECONDS = 300
DELIVERY_MEMORY_SECONDS = 2 * SIGNATURE_MAX_AGE_SECONDS
DELIVERY_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")  # GitHub's are UUIDs
TIMESTAMP = re.compile(r"[0-9]{1,12}")
DEFAULT_PERIOD = "1_year"
LISTEN_BACKLOG = 2048
STORE_ERRORS: tuple[type[BaseException], ...] = (StoreError, OSError)  # OSError: the state file's disk
# What `GET /` answers: someone who finds the port learns what it serves instead of a bare 404.
ENDPOINTS: tuple[dict[str, str], ...] = (
    {
        "method": "POST",
        "path": f"/refresh/<username>[?period={'|'.join(PERIODS)}]",
        "does": "regenerates the user's reports in the background (202); with GITBRAG_HOOK_SECRET set it "
        "needs Authorization: Bearer <secret> or X-Hub-Signature-256 with X-Gitbrag-Timestamp and "
        "X-GitHub-Delivery (one request per signature); without, tracked users only, "
        "once per cooldown (429 with Retry-After)",
    },
    {
        "method": "GET",
        "path": "/status/<username>",
        "does": "what the store knows of the user's reports: generated_at, stale, regenerating, last_error, "
        "next_due_at per period",
    },
    {"method": "GET", "path": "/healthz", "does": "200 when the store answers and accepts writes, else 503"},
    {"method": "GET", "path": "/metrics", "does": "Prometheus metrics"},
    {"method": "GET", "path": "/", "does": "this list"},
)


def error(status: int, message: str, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


async def from_store(call: Awaitable[T]) -> T:
    """A store call; the store being down is a 503 for this request, not a crash."""
    try:
        return await call
    except STORE_ERRORS as exc:
        log.warning("store unavailable to the hook", extra={"error": error_name(exc)})
        raise HTTPException(503, "the store is unavailable; try again later") from None


async def read_body(request: Request, limit: int = BODY_LIMIT) -> bytes:
    """The body, refused (413) as soon as it is known to exceed `limit`: from
    Content-Length when given, else while it streams in."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"the body is over {limit} bytes")
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise HTTPException(413, f"the body is over {limit} bytes")
            chunks.append(chunk)
    except ClientDisconnect:
        raise HTTPException(400, "the request body was cut off") from None
    return b"".join(chunks)


def bearer_ok(header: str, secret: bytes) -> bool:
    scheme, _, token = header.strip().partition(" ")
    # Starlette decodes header values as latin-1, so this gives back the bytes sent.
    return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode("latin-1"), secret)


def signed_message(timestamp: str, delivery: str, method: str, target: bytes, body: bytes) -> bytes:
    """What a signature covers: timestamp, delivery id, method and request target one per
    line, then the body. Neither a header value nor a request target can hold a newline,
    so no two requests share a message."""
    head = f"{timestamp}\n{delivery}\n{method.upper()}\n".encode("latin-1")
    return head + target + b"\n" + body


def signature_ok(header: str, message: bytes, secret: bytes) -> bool:
    """`sha256=<hex HMAC-SHA256(secret, message)>`, compared in constant time."""
    algorithm, _, digest = header.strip().partition("=")
    expected = hmac.new(secret, message, hashlib.sha256).hexdigest().encode()
    return algorithm == "sha256" and hmac.compare_digest(digest.encode("latin-1"), expected)


def sign_request(
    secret: str | bytes,
    method: str,
    target: str,
    body: bytes = b"",
    timestamp: int | None = None,
    delivery: str | None = None,
) -> dict[str, str]:
    """The headers that authorise exactly this request to a hook with `secret`: `target` is
    the path and query as sent (`/refresh/octocat?period=1_year`, percent-encoded ASCII);
    `timestamp` defaults to now, `delivery` to a new UUID. Each call with the defaults is a
    new delivery: sign every request, retries included, again."""
    key = secret.encode() if isinstance(secret, str) else secret
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    delivery = str(uuid.uuid4()) if delivery is None else delivery
    message = signed_message(stamp, delivery, method, target.encode("ascii"), body)
    digest = hmac.new(key, message, hashlib.sha256).hexdigest()
    return {TIMESTAMP_HEADER: stamp, DELIVERY_HEADER: delivery, SIGNATURE_HEADER: "sha256=" + digest}


def request_target(request: Request) -> bytes:
    """The path and query as the client sent them (before any decoding): what it signed."""
    raw_path = request.scope.get("raw_path") or request.url.path.encode()
    query: bytes = request.scope.get("query_string", b"")
    return bytes(raw_path) + (b"?" + query if query else b"")


class Hook:
    """The route handlers, over one service's refresher and settings.

    `clock` (epoch seconds) decides cooldowns on SQLite and staleness in /status;
    tests inject one to pass a cooldown without waiting."""

    def __init__(self, refresher: Refresher, settings: Settings, *, clock: Seconds = epoch):
        self.refresher = refresher
        self.store = refresher.store
        secret = settings.hook_secret.get_secret_value() if settings.hook_secret else ""
        self.secret = secret.encode() if secret else None
        self.allow_new_users = settings.allow_new_users
        self.cooldown = settings.force_cooldown_seconds
        self.base_url = settings.base_url.rstrip("/") if settings.base_url else ""
        self.periods = frozenset(settings.periods)
        self.clock = clock

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    # --- POST /refresh/<username> -------------------------------------------------------

    async def refresh(self, request: Request) -> Response:
        login = valid_login(request)
        period = request.query_params.get("period", DEFAULT_PERIOD)
        if not self.publishes(login, period):
            raise HTTPException(
                400,
                f"unknown period; expected one of {', '.join(PERIODS)}, or a period the site has a page for",
            )
        body = await read_body(request)
        await self.authorize(request, body)
        await self.ensure_tracked(login)
        await self.cool_down(login)
        # One generation makes every period: a year's or GITBRAG_PERIODS' page takes the past year's claim.
        target = Target(login, period if period in PERIODS else DEFAULT_PERIOD, force=True)
        claim = await from_store(self.refresher.claim(target))
        if claim is None:
            status = "already_running"
        else:
            self.refresher.start_claimed(target, claim)
            status = "scheduled"
        request.state.outcome = status
        report_url = f"{self.base_url}/{login}/{period}/"
        payload = {"status": status, "username": login, "period": period, "report_url": report_url}
        return JSONResponse(payload, status_code=202)

    def publishes(self, login: Login, period: str) -> bool:
        """Whether `period` is one the site publishes: a rolling one, a GITBRAG_PERIODS entry,
        or one the user has a page for (a calendar year with activity: `?period=2025` from
        that year's page)."""
        if period in PERIODS or period in self.periods:
            return True
        return is_period(period) and period in self.refresher.publisher.published_periods(login)

    async def authorize(self, request: Request, body: bytes) -> None:
        """With a secret: the bearer secret, or a signature of this very request that was
        never presented before (see the module's docstring)."""
        if self.secret is None:
            return
        headers = request.headers
        bearer, signature = headers.get("authorization"), headers.get(SIGNATURE_HEADER)
        if bearer is None and signature is None:
            raise HTTPException(
                401,
                f"authentication required: Authorization: Bearer <secret> or {SIGNATURE_HEADER}",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if bearer is not None and bearer_ok(bearer, self.secret):
            return
        if signature is None:
            raise HTTPException(403, "wrong credentials")
        delivery = self.verify_signature(request, signature, body, self.secret)
        await self.use_once(delivery)

    def verify_signature(self, request: Request, signature: str, body: bytes, secret: bytes) -> str:
        """The delivery id of a request signed with `secret` within the time window."""
        stamp = request.headers.get(TIMESTAMP_HEADER, "").strip()
        delivery = request.headers.get(DELIVERY_HEADER, "").strip()
        if not TIMESTAMP.fullmatch(stamp) or not DELIVERY_ID.fullmatch(delivery):
            raise HTTPException(
                401,
                f"a signed request needs {TIMESTAMP_HEADER} (unix seconds) and {DELIVERY_HEADER} "
                "(a new id per request, 1-128 of A-Z a-z 0-9 . _ : -)",
            )
        message = signed_message(stamp, delivery, request.method, request_target(request), body)
        if not signature_ok(signature, message, secret):
            raise HTTPException(403, "wrong credentials")
        if abs(self.clock() - int(stamp)) > SIGNATURE_MAX_AGE_SECONDS:
            raise HTTPException(
                401,
                f"the signature's {TIMESTAMP_HEADER} is more than {SIGNATURE_MAX_AGE_SECONDS} s "
                "from the hook's clock; sign the request again",
            )
        return delivery

    async def use_once(self, delivery: str) -> None:
        """Remember the delivery id in the store, shared by every replica; refuse it when it
        was seen. A store that cannot answer refuses the request (503): fail closed."""
        key = f"hook:delivery:{delivery}"
        if await from_store(self.store.remember_once(key, DELIVERY_MEMORY_SECONDS, self.clock())):
            return
        log.warning("replayed hook delivery refused", extra={"delivery": delivery})
        raise HTTPException(409, f"this {DELIVERY_HEADER} was already used; sign each request with a new id")

    async def ensure_tracked(self, login: Login) -> None:
        """Tracked users pass; others are added only by an authenticated caller."""
        if await from_store(self.store.report_meta(login)):
            return
        if self.secret is None:
            raise HTTPException(404, f"{login.spelling} is not tracked; only tracked users can be refreshed")
        if not self.allow_new_users:
            raise HTTPException(403, f"{login.spelling} is not tracked and adding users is disabled")
        await from_store(self.store.track([login], self.now(), PERIODS, "hook"))
        log.info("user added by the hook", extra={"user": login})

    async def cool_down(self, login: Login) -> None:
        if self.cooldown <= 0:
            return
        left = await from_store(self.store.try_cooldown(login, self.cooldown, self.clock()))
        if left is not None:
            wait = max(1, math.ceil(left))
            raise HTTPException(
                429,
                f"{login.spelling} was refreshed recently; try again in {wait} s",
                headers={"Retry-After": str(wait)},
            )

    # --- GET /status/<username> ---------------------------------------------------------

    async def status(self, request: Request) -> Response:
        """Per period: when generated, whether stale, whether regenerating (any live claim
        of the user: a generation republishes every period), the last error."""
        login = valid_login(request)
        metas = await from_store(self.store.report_meta(login))
        active = await from_store(self.refresher.tracker.get_reported_user_active_tasks(login))
        now = self.now()
        periods = {p: _period_status(metas[p], now, bool(active)) for p in PERIODS if p in metas}
        return JSONResponse({"username": login, "tracked": bool(metas), "periods": periods})

    # --- GET /, GET /healthz, GET /metrics ----------------------------------------------

    async def index(self, request: Request) -> Response:
        return JSONResponse({"service": "gitbrag refresh hook", "endpoints": list(ENDPOINTS)})

    async def healthz(self, request: Request) -> Response:
        """503 unless the store answers *and* accepts writes: a read-only replica answers
        PING, yet every pass would fail to record anything on it."""
        reachable = await self.store.ping()
        problem = await self.store.write_problem() if reachable else None
        payload: dict[str, Any] = {
            "status": "unavailable" if not reachable else "read-only" if problem else "ok",
            "store": self.store.kind,
            "reachable": reachable,
            "writable": reachable and problem is None,
        }
        if problem:
            payload["reason"] = problem
        return JSONResponse(payload, status_code=200 if reachable and not problem else 503)

    async def metrics(self, request: Request) -> Response:
        try:
            due: int | None = len(await self.store.due(self.now()))
        except STORE_ERRORS:
            due = None  # the gauge is left out of this scrape
        body, content_type = Scrape.of(due, self.refresher.client).render(request.headers.get("accept"))
        return Response(body, media_type=content_type)


def valid_login(request: Request) -> Login:
    """The hook's door: the URL's username parsed, or a 400."""
    try:
        return Login(str(request.path_params.get("username", "")))
    except InvalidLogin:
        raise HTTPException(400, "not a valid GitHub username") from None


def _period_status(meta: ReportMeta, now: datetime, regenerating: bool) -> dict[str, Any]:
    return {
        "generated_at": meta.generated_at.isoformat() if meta.generated_at else None,
        "stale": meta.next_due_at <= now,
        "regenerating": regenerating,
        "last_error": meta.last_error,
        "next_due_at": meta.next_due_at.isoformat(),
    }


# --- the app -------------------------------------------------------------------------


def _endpoint(name: str, handler: Handler) -> Handler:
    """Turn the handler's HTTPExceptions (and any bug) into JSON answers, count and log
    each request: user, period and outcome, never a header."""

    async def endpoint(request: Request) -> Response:
        try:
            response = await handler(request)
            outcome = str(getattr(request.state, "outcome", "ok"))
        except HTTPException as exc:
            response, outcome = error(exc.status_code, exc.detail, exc.headers), exc.detail
        except Exception:
            log.exception("hook request failed", extra={"endpoint": name})
            response, outcome = error(500, "internal error"), "internal error"
        hook_request(name, response.status_code)
        user = str(request.path_params.get("username", ""))
        period = request.query_params.get("period", "")
        fields = {
            "endpoint": name,
            "user": Login(user) if is_login(user) else None,
            "period": period if period in PERIODS else None,
            "code": response.status_code,
            "outcome": outcome,
        }
        log.log(
            logging.INFO if name in ("refresh", "status") else logging.DEBUG, "hook request", extra=fields
        )
        return response

    return endpoint


async def _http_error(request: Request, exc: Exception) -> Response:
    """Routing errors (unknown path 404, wrong method 405) as JSON too."""
    if isinstance(exc, HTTPException):
        return error(exc.status_code, exc.detail, exc.headers)
    return await _server_error(request, exc)


async def _server_error(request: Request, exc: Exception) -> Response:
    log.error("hook request failed", exc_info=exc)
    return error(500, "internal error")


def site_origin(base_url: str) -> str:
    """`https://example.org/brag/` -> `https://example.org`: CORS compares origins."""
    parts = urlsplit(base_url)
    return f"{parts.scheme}://{parts.netloc}"


class _AnyName(Convertor[str]):
    """A path parameter that matches anything, newlines and slashes included, so every
    name reaches the login check (400) instead of falling through to a 404."""

    regex = r"(?s:.*)"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("gitbrag_any", _AnyName())


def create_app(refresher: Refresher, settings: Settings, *, clock: Seconds = epoch) -> Starlette:
    hook = Hook(refresher, settings, clock=clock)
    routes = [
        Route("/refresh/{username:gitbrag_any}", _endpoint("refresh", hook.refresh), methods=["POST"]),
        Route("/status/{username:gitbrag_any}", _endpoint("status", hook.status), methods=["GET"]),
        Route("/healthz", _endpoint("healthz", hook.healthz), methods=["GET"]),
        Route("/metrics", _endpoint("metrics", hook.metrics), methods=["GET"]),
        Route("/", _endpoint("index", hook.index), methods=["GET"]),
    ]
    cors = Middleware(
        CORSMiddleware,
        allow_origins=[site_origin(settings.base_url)] if settings.base_url else ["*"],
        allow_methods=["POST"],
        allow_headers=["Content-Type", "Authorization", SIGNATURE_HEADER, TIMESTAMP_HEADER, DELIVERY_HEADER],
        expose_headers=["Retry-After"],
        allow_credentials=False,
        max_age=600,
    )
    handlers = {HTTPException: _http_error, Exception: _server_error}
    app = Starlette(routes=routes, middleware=[cors], exception_handlers=handlers)
    app.router.redirect_slashes = False  # `/refresh` is simply not found, not redirected
    return app


# --- the server ----------------------------------------------------------------------


class _SharedLoopServer(uvicorn.Server):
    """uvicorn inside the service's event loop: SIGTERM/SIGINT stay the service's, which
    stops the hook together with the scheduler."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class HookServer:
    """The hook's uvicorn server on a socket bound up front, so a busy port fails at once
    and port 0 (any free port) is known before serving. Slow or idle clients are timed
    out and connections capped below the file-descriptor limit (`gitbrag.doors.connections`)."""

    def __init__(
        self,
        app: Starlette,
        host: str,
        port: int,
        *,
        read_timeout: float = READ_TIMEOUT_SECONDS,
        max_connections: int | None = None,
    ) -> None:
        self.guard = ConnectionGuard(max_connections or connection_cap(), read_timeout)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets whose proto says TCP;
        # without it each keep-alive response stalls ~40 ms on delayed ACKs.
        self.socket = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.socket.bind((host, port))
            # Listen now: with SO_REUSEADDR two processes can both *bind* a port, and only
            # listen() tells the second one it is taken.
            self.socket.listen(LISTEN_BACKLOG)
        except OSError:
            self.socket.close()
            raise
        self.host, self.port = self.socket.getsockname()[:2]
        config = uvicorn.Config(
            app,
            http=guarded_protocol(self.guard),
            lifespan="off",
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=5,
            timeout_keep_alive=5,
            h11_max_incomplete_event_size=16 * 1024,  # request line and headers; bigger is a 400
            # Connections accepted per loop turn, before the guard sees them: keep the overshoot
            # past the cap within the file descriptors held in reserve.
            backlog=max(MIN_CONNECTIONS, min(2048, self.guard.cap // 4)),
        )
        self._server = _SharedLoopServer(config)
        self._task: asyncio.Task[None] | None = None
        self._restore_loop_handler: Callable[[], None] | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        self._restore_loop_handler = quiet_accept_errors(asyncio.get_running_loop())
        self._task = asyncio.create_task(self._server.serve(sockets=[self.socket]), name="refresh hook")
        while not self._server.started:
            if self._task.done():
                await self._task
                raise RuntimeError("the refresh hook stopped while starting")
            await asyncio.sleep(0.005)
        # asyncio re-listened with `backlog`, its per-turn accept count; let the kernel queue
        # more: queued connections cost the process no file descriptor until accepted.
        self.socket.listen(LISTEN_BACKLOG)

    async def stop(self) -> None:
        """Stop accepting; requests in flight finish (up to 5 s)."""
        if self._task is not None:
            self._server.should_exit = True
            await self._task
            self._task = None
        self.socket.close()
        if self._restore_loop_handler is not None:
            self._restore_loop_handler()
            self._restore_loop_handler = None


async def start_hook(refresher: Refresher, settings: Settings) -> HookServer | None:
    """The service's hook, listening; None (logged as an error) when the address is taken,
    so a second service on one host keeps refreshing without a hook of its own."""
    try:
        server = HookServer(create_app(refresher, settings), settings.hook_host, settings.hook_port)
        await server.start()
    except OSError as exc:
        log.error(
            "refresh hook disabled: cannot listen",
            extra={"host": settings.hook_host, "port": settings.hook_port, "error": exc.strerror or str(exc)},
        )
        return None
    log.info("refresh hook listening", extra={"url": server.url, "secret": settings.hook_secret is not None})
    return server
