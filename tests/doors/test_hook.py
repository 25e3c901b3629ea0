"""The refresh hook over real HTTP: a real uvicorn on a free loopback port, serving a real
`Refresher` (SQLite or Redis store) whose GitHub is the fake, also over HTTP."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from pydantic import SecretStr

from gitbrag.doors.hook import BODY_LIMIT, HookServer, create_app, sign_request
from gitbrag.doors.runtime import open_refresher
from gitbrag.fakegithub.server import FakeGitHubServer, shared_dataset
from gitbrag.models import PERIODS, logins
from gitbrag.refresh import Refresher
from gitbrag.settings import Settings
from tests.clock import Clock
from tests.conftest import RedisServer, free_port
from tests.support import REFRESH, clean_env

T = TypeVar("T")
SECRET = "hook-s3cret-value"
TRACKED = ["Zero-Zoe", "steady-sam", "Mona-Lisa"]


class Probe:
    """Wraps a refresher's `refresh_user`: counts generations, records the most running at
    once per user, and can hold them at a gate so a burst is answered while they run."""

    def __init__(self, held: bool = False) -> None:
        self.held = held
        self.started: Counter[str] = Counter()
        self.running: Counter[str] = Counter()
        self.peak: Counter[str] = Counter()
        self.gate: asyncio.Event | None = None

    def install(self, refresher: Refresher) -> None:
        self.gate = asyncio.Event()
        if not self.held:
            self.gate.set()
        original = refresher.refresh_user

        async def refresh_user(login: str, **kwargs: Any) -> Any:
            self.started[login] += 1
            self.running[login] += 1
            self.peak[login] = max(self.peak[login], self.running[login])
            try:
                assert self.gate is not None
                await self.gate.wait()
                return await original(login, **kwargs)
            finally:
                self.running[login] -= 1

        refresher.refresh_user = refresh_user  # type: ignore[method-assign]


class RunningHook:
    """`create_app` + `HookServer` in a thread with its own event loop, as the service runs
    them; the test talks to it over HTTP only (plus `call` to inspect the store)."""

    def __init__(self, settings: Settings, *, clock: Clock, probe: Probe | None = None) -> None:
        self.settings, self.clock, self.probe = settings, clock, probe or Probe()
        self.url = ""
        self._ready = threading.Event()
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RunningHook:
        self._thread.start()
        assert self._ready.wait(30), "the hook did not start"
        if self._failure is not None:
            raise self._failure
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)

    def now(self) -> datetime:
        return self.clock.utcnow()

    def call(self, make: Callable[[Refresher], Awaitable[T]]) -> T:
        """Run `make(refresher)` in the hook's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(self._call(make), self.loop).result(30)

    async def _call(self, make: Callable[[Refresher], Awaitable[T]]) -> T:
        return await make(self.refresher)

    def release(self) -> None:
        """Open the probe's gate and wait for every generation the hook started."""
        assert self.probe.gate is not None
        self.loop.call_soon_threadsafe(self.probe.gate.set)
        self.call(lambda r: r.drain())

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # surfaced by __enter__
            self._failure = exc
            self._ready.set()

    async def _main(self) -> None:
        async with open_refresher(self.settings) as refresher:
            self.refresher, self.loop, self._stop = refresher, asyncio.get_running_loop(), asyncio.Event()
            self.probe.install(refresher)
            server = HookServer(create_app(refresher, self.settings, clock=self.clock.epoch), "127.0.0.1", 0)
            await server.start()
            self.url = server.url
            self._ready.set()
            await self._stop.wait()
            await server.stop()
            if self.probe.gate is not None:
                self.probe.gate.set()
            await refresher.drain()


@pytest.fixture(scope="module")
def fake_server() -> Iterator[FakeGitHubServer]:
    with FakeGitHubServer(shared_dataset()) as server:
        yield server


@pytest.fixture
def fake(fake_server: FakeGitHubServer) -> FakeGitHubServer:
    """The module's fake GitHub with zeroed stats and no faults."""
    httpx.post(fake_server.url + "/_fake/reset").raise_for_status()
    httpx.delete(fake_server.url + "/_fake/faults").raise_for_status()
    return fake_server


def make_settings(root: Path, fake: FakeGitHubServer, **overrides: Any) -> Settings:
    """Site under root/www/site, state under root/state: `outside_site` watches root/www."""
    values: dict[str, Any] = {
        "github_api_url": fake.url,
        "github_graphql_url": fake.url + "/graphql",
        "github_token": SecretStr("t"),
        "site_dir": root / "www" / "site",
        "state_path": root / "state" / "state.sqlite3",
    }
    return Settings(_env_file=None, **(values | overrides))  # type: ignore[call-arg]


def start_hook(
    root: Path, fake: FakeGitHubServer, probe: Probe | None = None, **overrides: Any
) -> RunningHook:
    hook = RunningHook(make_settings(root, fake, **overrides), clock=Clock(), probe=probe)
    hook.__enter__()
    hook.call(lambda r: r.store.track(logins(TRACKED), hook.now(), PERIODS))
    return hook


@pytest.fixture
def hooks(tmp_path: Path, fake: FakeGitHubServer) -> Iterator[Callable[..., RunningHook]]:
    """Start hooks (each with its own state under tmp_path) that are stopped after the test."""
    started: list[RunningHook] = []

    def start(name: str = "a", probe: Probe | None = None, **overrides: Any) -> RunningHook:
        started.append(start_hook(tmp_path / name, fake, probe, **overrides))
        return started[-1]

    yield start
    for hook in started:
        hook.__exit__()


def searches(fake: FakeGitHubServer) -> dict[str, int]:
    return dict(httpx.get(fake.url + "/_fake/stats").json()["searches_by_author"])


def metric(hook: RunningHook, name: str) -> float:
    for line in httpx.get(hook.url + "/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


def outside_site(root: Path) -> dict[str, int]:
    """Every path under root/www except site/, with its mtime: must not change."""
    www = root / "www"
    return {
        str(p.relative_to(www)): p.stat().st_mtime_ns
        for p in www.rglob("*")
        if p.relative_to(www).parts[0] != "site"
    }


def sign(body: bytes, secret: str = SECRET, target: str = "/refresh/zero-zoe") -> dict[str, str]:
    """Headers signing one POST of `body` to `target` (a new delivery id each call)."""
    return sign_request(secret, "POST", target, body)


# --- POST /refresh ------------------------------------------------------------------


def test_refresh_answers_at_once_then_the_report_is_published(hooks: Callable[..., RunningHook]) -> None:
    probe = Probe(held=True)  # the generation waits: the answer cannot have waited for it
    hook = hooks(probe=probe, base_url="https://brag.example/team/")
    answer = httpx.post(hook.url + "/refresh/Zero-Zoe?period=2_years")
    assert answer.status_code == 202
    assert answer.json() == {
        "status": "scheduled",
        "username": "zero-zoe",
        "period": "2_years",
        "report_url": "https://brag.example/team/zero-zoe/2_years/",
    }
    status = httpx.get(hook.url + "/status/zero-zoe").json()
    assert status["tracked"] and status["periods"]["2_years"]["regenerating"]
    assert status["periods"]["1_year"]["generated_at"] is None

    hook.release()
    site = hook.settings.site_dir
    assert (site / "zero-zoe" / "2_years" / "report.json").is_file()
    period = httpx.get(hook.url + "/status/Zero-Zoe").json()["periods"]["2_years"]
    assert period["generated_at"] is not None and not period["stale"] and not period["regenerating"]
    assert period["last_error"] is None and period["next_due_at"] > period["generated_at"]
    assert probe.started == {"zero-zoe": 1}


def test_report_url_is_site_relative_without_a_base_url(hooks: Callable[..., RunningHook]) -> None:
    hook = hooks()
    answer = httpx.post(hook.url + "/refresh/zero-zoe")
    assert answer.json()["report_url"] == "/zero-zoe/1_year/"


def test_cooldown_answers_429_with_retry_after_until_it_passes(hooks: Callable[..., RunningHook]) -> None:
    hook = hooks(force_cooldown_seconds=60)
    assert httpx.post(hook.url + "/refresh/zero-zoe").status_code == 202
    hook.clock.advance(15)
    again = httpx.post(hook.url + "/refresh/ZERO-ZOE?period=all_time")  # per user, any period
    assert again.status_code == 429
    assert again.headers["retry-after"] == "45"
    assert "error" in again.json()
    assert httpx.post(hook.url + "/refresh/steady-sam").status_code == 202  # other users are free
    hook.call(lambda r: r.drain())
    hook.clock.advance(45)
    assert httpx.post(hook.url + "/refresh/zero-zoe").status_code == 202


@pytest.mark.parametrize(
    ("path", "code", "message"),
    [
        ("/refresh/zero-zoe?period=3_years", 400, "unknown period"),
        ("/refresh/nobody-tracked", 404, "not tracked"),
        ("/refresh", 404, "Not Found"),
        ("/nowhere", 404, "Not Found"),
    ],
)
def test_bad_requests_get_json_errors(
    hooks: Callable[..., RunningHook], path: str, code: int, message: str
) -> None:
    hook = hooks()
    answer = httpx.post(hook.url + path)
    assert answer.status_code == code
    assert message in answer.json()["error"]


def test_wrong_methods_get_json_405(hooks: Callable[..., RunningHook]) -> None:
    hook = hooks()
    answer = httpx.get(hook.url + "/refresh/zero-zoe")
    assert answer.status_code == 405 and answer.json() == {"error": "Method Not Allowed"}
    assert httpx.post(hook.url + "/status/zero-zoe").status_code == 405


def test_bodies_over_the_limit_are_413_declared_or_streamed(hooks: Callable[..., RunningHook]) -> None:
    hook = hooks()
    big = b"x" * (BODY_LIMIT + 1)
    assert httpx.post(hook.url + "/refresh/zero-zoe", content=big).status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: chunked, counted as it streams
        for _ in range(5):
            yield b"y" * (BODY_LIMIT // 4)

    streamed = httpx.post(hook.url + "/refresh/zero-zoe", content=chunks())
    assert streamed.status_code == 413 and "error" in streamed.json()
    assert httpx.post(hook.url + "/refresh/zero-zoe", content=b"x" * BODY_LIMIT).status_code == 202


# --- who may trigger what -------------------------------------------------------------


def test_with_a_secret_bearer_and_signature_are_checked(
    hooks: Callable[..., RunningHook], fake: FakeGitHubServer
) -> None:
    hook = hooks(hook_secret=SecretStr(SECRET), force_cooldown_seconds=0)
    url = hook.url + "/refresh/zero-zoe"
    body = b'{"action": "push"}'
    missing = httpx.post(url, content=body)
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    for headers in (
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Basic {SECRET}"},
        sign(body, "wrong"),
        sign(b"another body"),
        sign(body, target="/refresh/steady-sam"),
        {k: v.replace("sha256=", "sha1=") for k, v in sign(body).items()},
    ):
        assert httpx.post(url, content=body, headers=headers).status_code == 403, headers
    assert searches(fake) == {}  # nothing rejected reached GitHub
    assert httpx.post(url, headers={"Authorization": f"Bearer {SECRET}"}).status_code == 202
    hook.call(lambda r: r.drain())
    signed = httpx.post(url, content=body, headers=sign(body))
    assert signed.status_code == 202


def test_with_a_secret_new_users_are_added_unless_disabled(
    hooks: Callable[..., RunningHook], fake: FakeGitHubServer
) -> None:
    auth = {"Authorization": f"Bearer {SECRET}"}
    hook = hooks(hook_secret=SecretStr(SECRET))
    assert httpx.post(hook.url + "/refresh/hostile-hank", headers=auth).status_code == 202
    hook.call(lambda r: r.drain())
    assert httpx.get(hook.url + "/status/hostile-hank").json()["tracked"]
    assert (hook.settings.site_dir / "hostile-hank" / "index.html").is_file()

    closed = hooks("b", hook_secret=SecretStr(SECRET), allow_new_users=False)
    refused = httpx.post(closed.url + "/refresh/prolific-pat", headers=auth)
    assert refused.status_code == 403 and "adding users is disabled" in refused.json()["error"]
    assert not httpx.get(closed.url + "/status/prolific-pat").json()["tracked"]
    assert httpx.post(closed.url + "/refresh/zero-zoe", headers=auth).status_code == 202  # tracked: fine
    assert "prolific-pat" not in searches(fake)


def test_a_user_github_does_not_know_fails_with_a_plain_status(hooks: Callable[..., RunningHook]) -> None:
    hook = hooks(hook_secret=SecretStr(SECRET))
    auth = {"Authorization": f"Bearer {SECRET}"}
    assert httpx.post(hook.url + "/refresh/no-such-user-here", headers=auth).status_code == 202
    hook.call(lambda r: r.drain())
    status = httpx.get(hook.url + "/status/no-such-user-here").json()
    # Never refreshed, unknown to GitHub: untracked again (issue 25, case 3; tests/test_refresh_cost.py).
    assert status == {"username": "no-such-user-here", "tracked": False, "periods": {}}
    assert SECRET not in str(status) and "Traceback" not in str(status)


HOSTILE = [
    "..",
    "../../etc/passwd",
    "..%2F..%2Fetc",
    "%2e%2e",
    "%2e%2e%2fsite",
    "mona%C3%A9",  # é
    "%EF%BC%A1dmin",  # fullwidth A
    "%FF%FE",  # not UTF-8
    "a" * 40,
    "-mona",
    "mona-",
    "mo--na",
    "mona%20lisa",
    "mona%00",
    "mona%0A",
    "mona%2Flisa",
    "mona\\lisa",
    "",
    "mona-lisa/",
]


def test_hostile_usernames_are_400_and_touch_nothing(
    hooks: Callable[..., RunningHook], tmp_path: Path
) -> None:
    hook = hooks(hook_secret=SecretStr(SECRET), force_cooldown_seconds=0)
    auth = {"Authorization": f"Bearer {SECRET}"}
    (tmp_path / "a" / "www" / "etc").mkdir(parents=True)
    before = outside_site(tmp_path / "a")
    with httpx.Client(base_url=hook.url, headers=auth) as client:
        for name in HOSTILE:
            for method, prefix in (("POST", "/refresh/"), ("GET", "/status/")):
                # The raw target, so the client cannot tidy `..` away before the server sees it.
                request = client.build_request(method, prefix + name)
                request.extensions["target"] = (prefix + name).encode("latin-1")
                answer = client.send(request)
                assert answer.status_code == 400, (method, name, answer.text)
                assert answer.json() == {"error": "not a valid GitHub username"}
    hook.call(lambda r: r.drain())
    assert outside_site(tmp_path / "a") == before
    assert not hook.settings.site_dir.exists()
    assert hook.call(lambda r: r.store.tracked()) == hook.call(lambda r: r.store.tracked())
    assert sorted(u.login for u in hook.call(lambda r: r.store.tracked())) == sorted(
        u.lower() for u in TRACKED
    )


# --- concurrency --------------------------------------------------------------------------


async def burst(url: str, n: int) -> Counter[str]:
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=n), timeout=30) as client:
        answers = await asyncio.gather(*(client.post(url) for _ in range(n)))
    return Counter(a.json().get("status", str(a.status_code)) for a in answers)


@pytest.mark.parametrize("cooldown", [60, 0])
async def test_100_concurrent_refreshes_of_one_user_generate_once(
    hooks: Callable[..., RunningHook], fake: FakeGitHubServer, cooldown: int
) -> None:
    # What one generation of the user asks of GitHub, alone, from an empty state.
    alone = hooks("alone")
    async with httpx.AsyncClient() as client:
        assert (await client.post(alone.url + "/refresh/zero-zoe")).status_code == 202
        await asyncio.to_thread(alone.call, lambda r: r.drain())
        once = (await client.get(fake.url + "/_fake/stats")).json()["searches_by_author"]["zero-zoe"]
        (await client.post(fake.url + "/_fake/reset")).raise_for_status()

    probe = Probe(held=True)  # the generation outlasts the burst whatever the timing
    hook = hooks("burst", probe=probe, force_cooldown_seconds=cooldown)
    refreshed_before = metric(hook, "gitbrag_reports_refreshed_total")
    answers = await burst(hook.url + "/refresh/zero-zoe", 100)
    late = "429" if cooldown else "already_running"
    assert answers == {"scheduled": 1, late: 99}
    await asyncio.to_thread(hook.release)
    assert probe.started == {"zero-zoe": 1}
    assert searches(fake) == {"zero-zoe": once}
    assert metric(hook, "gitbrag_reports_refreshed_total") - refreshed_before == len(PERIODS)


async def test_with_limit_1_two_periods_of_one_user_never_generate_at_once(
    hooks: Callable[..., RunningHook], fake: FakeGitHubServer
) -> None:
    async with httpx.AsyncClient() as client:
        (await client.post(fake.url + "/_fake/faults", json={"latency_ms": 5})).raise_for_status()
    probe = Probe()
    hook = hooks("one", probe=probe, per_user_limit=1, force_cooldown_seconds=0)
    seen_active = 0
    for _ in range(3):  # waves of every period at once, while earlier generations still run
        async with httpx.AsyncClient(timeout=30) as client:
            answers = await asyncio.gather(
                *(client.post(f"{hook.url}/refresh/steady-sam?period={p}") for p in PERIODS * 3)
            )
        assert {a.status_code for a in answers} == {202}
        active = await asyncio.to_thread(
            hook.call, lambda r: r.tracker.get_reported_user_active_tasks("steady-sam")
        )
        seen_active = max(seen_active, len(active))
    await asyncio.to_thread(hook.call, lambda r: r.drain())
    assert probe.peak["steady-sam"] == 1 and seen_active <= 1
    assert probe.started["steady-sam"] >= 1

    # The control: with limit 2 the same probe does see two at once, so it could fail above.
    wide = Probe(held=True)
    hook2 = hooks("two", probe=wide, per_user_limit=2, force_cooldown_seconds=0)
    async with httpx.AsyncClient(timeout=30) as client:
        first = await client.post(f"{hook2.url}/refresh/steady-sam?period=1_year")
        second = await client.post(f"{hook2.url}/refresh/steady-sam?period=2_years")
    assert first.json()["status"] == second.json()["status"] == "scheduled"
    assert (
        len(
            await asyncio.to_thread(
                hook2.call, lambda r: r.tracker.get_reported_user_active_tasks("steady-sam")
            )
        )
        == 2
    )
    await asyncio.to_thread(hook2.release)
    assert wide.peak["steady-sam"] == 2


# --- CORS, status, health, metrics ---------------------------------------------------------


def test_cors_lets_the_site_post_without_credentials(hooks: Callable[..., RunningHook]) -> None:
    hook = hooks(base_url="https://brag.example/team/")
    preflight = {"Origin": "https://brag.example", "Access-Control-Request-Method": "POST"}
    answer = httpx.options(hook.url + "/refresh/zero-zoe", headers=preflight)
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == "https://brag.example"
    assert "POST" in answer.headers["access-control-allow-methods"]
    assert "access-control-allow-credentials" not in answer.headers
    other = httpx.options(
        hook.url + "/refresh/zero-zoe", headers=preflight | {"Origin": "https://evil.example"}
    )
    assert other.status_code == 400
    posted = httpx.post(hook.url + "/refresh/zero-zoe", headers={"Origin": "https://brag.example"})
    assert posted.status_code == 202
    assert posted.headers["access-control-allow-origin"] == "https://brag.example"
    assert "retry-after" in posted.headers["access-control-expose-headers"].lower()

    anywhere = hooks("b")  # no GITBRAG_BASE_URL: any origin may POST
    answer = httpx.options(anywhere.url + "/refresh/x", headers=preflight | {"Origin": "https://x.example"})
    assert answer.status_code == 200 and answer.headers["access-control-allow-origin"] == "*"


def test_status_of_an_untracked_user(hooks: Callable[..., RunningHook]) -> None:
    hook = hooks()
    assert httpx.get(hook.url + "/status/Nobody").json() == {
        "username": "nobody",
        "tracked": False,
        "periods": {},
    }
    status = httpx.get(hook.url + "/status/zero-zoe").json()
    assert list(status["periods"]) == list(PERIODS)
    assert all(p["stale"] and not p["regenerating"] for p in status["periods"].values())


def test_metrics_expose_what_the_service_did(hooks: Callable[..., RunningHook]) -> None:
    hook = hooks()
    assert httpx.post(hook.url + "/refresh/zero-zoe").status_code == 202
    hook.call(lambda r: r.drain())
    answer = httpx.get(hook.url + "/metrics")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    text = answer.text
    for name in (
        "gitbrag_reports_refreshed_total",
        "gitbrag_reports_failed_total",
        "gitbrag_duplicates_skipped_total",
        "gitbrag_generation_duration_seconds_bucket",
        "gitbrag_active_generations",
        'gitbrag_github_requests_total{resource="graphql"}',
        "gitbrag_github_rate_limit_remaining{",
        'gitbrag_hook_requests_total{code="202",endpoint="refresh"}',
    ):
        assert name in text, name
    # zero-zoe is fresh now; the two other tracked users are still due.
    assert metric(hook, "gitbrag_due_reports") == 2 * len(PERIODS)
    assert SECRET not in text and "Bearer" not in text
    openmetrics = httpx.get(hook.url + "/metrics", headers={"Accept": "application/openmetrics-text"})
    assert openmetrics.headers["content-type"].startswith("application/openmetrics-text")
    assert openmetrics.text.endswith("# EOF\n")
    # prometheus_client's negotiation raises on this one; the scrape falls back to plain text.
    odd = httpx.get(hook.url + "/metrics", headers={"Accept": "text/plain; version=x.y"})
    assert odd.status_code == 200 and "gitbrag_reports_refreshed_total" in odd.text


def test_healthz_follows_the_store(
    tmp_path: Path, fake: FakeGitHubServer, redis_server_factory: type[RedisServer]
) -> None:
    redis = redis_server_factory().start()
    with RunningHook(make_settings(tmp_path, fake, redis_url=redis.url), clock=Clock()) as hook:
        hook.call(lambda r: r.store.track(logins(["zero-zoe"]), hook.now(), PERIODS))
        assert httpx.get(hook.url + "/healthz").json() == {
            "status": "ok",
            "store": "redis",
            "reachable": True,
            "writable": True,
        }
        assert httpx.post(hook.url + "/refresh/zero-zoe").status_code == 202
        assert httpx.post(hook.url + "/refresh/zero-zoe").status_code == 429  # the cooldown lives in Redis
        hook.call(lambda r: r.drain())
        redis.stop()
        down = httpx.get(hook.url + "/healthz")
        assert down.status_code == 503 and down.json()["reachable"] is False
        refused = httpx.post(hook.url + "/refresh/zero-zoe")
        assert refused.status_code == 503 and "store is unavailable" in refused.json()["error"]
        assert httpx.get(hook.url + "/status/zero-zoe").status_code == 503
        assert httpx.get(hook.url + "/metrics").status_code == 200  # without the due gauge
        redis.start()
        assert httpx.get(hook.url + "/healthz").status_code == 200


def test_sqlite_healthz(hooks: Callable[..., RunningHook]) -> None:
    hook = hooks()
    assert httpx.get(hook.url + "/healthz").json() == {
        "status": "ok",
        "store": "sqlite",
        "reachable": True,
        "writable": True,
    }


# --- the service -------------------------------------------------------------------------


def test_the_service_serves_the_hook_and_stops_with_sigterm(tmp_path: Path, fake: FakeGitHubServer) -> None:
    port = free_port()
    env = clean_env(
        GITHUB_TOKEN="t",
        GITBRAG_GITHUB_API_URL=fake.url,
        GITBRAG_USERS="zero-zoe",
        GITBRAG_HOOK_PORT=str(port),
        GITBRAG_HOOK_SECRET=SECRET,
        GITBRAG_SCAN_INTERVAL_SECONDS="3600",
        GITBRAG_LOG_FORMAT="json",
    )
    proc = subprocess.Popen([REFRESH], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(url + "/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, "the hook never came up"
                time.sleep(0.05)
        auth = {"Authorization": f"Bearer {SECRET}"}
        assert httpx.post(url + "/refresh/steady-sam", headers=auth).status_code == 202
        assert (
            httpx.post(url + "/refresh/steady-sam", headers={"Authorization": "Bearer x"}).status_code == 403
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err[-2000:]
    log = err.decode()
    assert '"user": "steady-sam"' in log and '"outcome": "scheduled"' in log
    assert SECRET not in log
    assert (tmp_path / "site" / "steady-sam" / "index.html").is_file()  # the hook's generation finished


def test_a_busy_port_disables_the_hook_but_not_the_service(tmp_path: Path, fake: FakeGitHubServer) -> None:
    with listening_port() as port:
        env = clean_env(
            GITHUB_TOKEN="t",
            GITBRAG_GITHUB_API_URL=fake.url,
            GITBRAG_USERS="zero-zoe",
            GITBRAG_HOOK_PORT=str(port),
        )
        proc = subprocess.Popen([REFRESH], cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
        report = tmp_path / "site" / "zero-zoe" / "index.html"
        deadline = time.monotonic() + 20
        while not report.exists():
            assert proc.poll() is None and time.monotonic() < deadline, "the service did not refresh"
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert "refresh hook disabled: cannot listen" in err


@contextmanager
def listening_port() -> Iterator[int]:
    """A loopback port something else already listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def test_a_year_the_site_has_a_page_for_can_be_refreshed(hooks: Callable[..., RunningHook]) -> None:
    """The "Refresh now" button of a calendar year's page (`?period=2025`) is accepted, as is a
    GITBRAG_PERIODS entry; a year the site has no page for is still a 400."""
    hook = hooks(periods=["2024-H2"])
    assert httpx.post(hook.url + "/refresh/steady-sam").status_code == 202
    hook.call(lambda r: r.drain())
    site = hook.settings.site_dir
    years = sorted(p.name for p in (site / "steady-sam").iterdir() if p.name.isdigit())
    assert years, "steady-sam has calendar years with activity"
    hook.clock.advance(3600)  # past the cooldown
    answer = httpx.post(hook.url + f"/refresh/steady-sam?period={years[-1]}")
    assert answer.status_code == 202, answer.text
    assert answer.json()["period"] == years[-1]
    assert answer.json()["report_url"] == f"/steady-sam/{years[-1]}/"
    hook.call(lambda r: r.drain())
    hook.clock.advance(3600)
    assert httpx.post(hook.url + "/refresh/steady-sam?period=2024-H2").status_code == 202
    hook.call(lambda r: r.drain())
    hook.clock.advance(3600)
    for missing in ("1999", "2009", "2024-Q1"):
        answer = httpx.post(hook.url + f"/refresh/steady-sam?period={missing}")
        assert answer.status_code == 400 and "unknown period" in answer.json()["error"], missing
