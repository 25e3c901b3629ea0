"""A signature authorises exactly one request (issue 25, case 2).

GitHub shows a webhook's deliveries (headers and body) to the repository's admins, so a
signature must be worth nothing once used: not for another user, not for another period,
not a second time, not later, and not on another replica. Real hooks over HTTP on loopback,
the fake GitHub behind them, the replay memory in a real SQLite file or a real redis-server.
"""

from __future__ import annotations

import hashlib
import hmac
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from pydantic import SecretStr

from gitbrag.coordination.redis import RedisStore
from gitbrag.coordination.sqlite import SQLiteStore
from gitbrag.doors.hook import SIGNATURE_MAX_AGE_SECONDS, sign_request
from gitbrag.fakegithub.server import FakeGitHubServer, shared_dataset
from gitbrag.models import PERIODS, logins
from tests.clock import Clock
from tests.conftest import RedisServer, free_port
from tests.doors.test_hook import SECRET, TRACKED, Probe, RunningHook, make_settings, searches
from tests.support import wait_for

Start = Callable[..., RunningHook]


@pytest.fixture(scope="module")
def fake_server() -> Iterator[FakeGitHubServer]:
    with FakeGitHubServer(shared_dataset()) as server:
        yield server


@pytest.fixture
def fake(fake_server: FakeGitHubServer) -> FakeGitHubServer:
    httpx.post(fake_server.url + "/_fake/reset").raise_for_status()
    httpx.delete(fake_server.url + "/_fake/faults").raise_for_status()
    return fake_server


@pytest.fixture
def start(tmp_path: Path, fake: FakeGitHubServer) -> Iterator[Start]:
    """Start hooks with the secret and no cooldown (so only the signature can refuse a
    repeat); `name` picks the hook's folder, settings overrides go through. Each is tracked
    with TRACKED and stopped after the test."""
    started: list[RunningHook] = []

    def run(name: str = "a", probe: Probe | None = None, **overrides: Any) -> RunningHook:
        values = {"hook_secret": SecretStr(SECRET), "force_cooldown_seconds": 0} | overrides
        hook = RunningHook(make_settings(tmp_path / name, fake, **values), clock=Clock(), probe=probe)
        hook.__enter__()
        started.append(hook)
        hook.call(lambda r: r.store.track(logins(TRACKED), hook.now(), PERIODS))
        return hook

    yield run
    for hook in started:
        hook.__exit__()


@pytest.fixture(params=["sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """Settings naming one shared store: an SQLite file, or the session's (emptied) Redis."""
    if request.param == "sqlite":
        return {"state_path": tmp_path / "shared" / "state.sqlite3"}
    return {"redis_url": request.getfixturevalue("redis_url")}


def post(hook: RunningHook, target: str, headers: dict[str, str], body: bytes = b"") -> httpx.Response:
    return httpx.post(hook.url + target, content=body, headers=headers)


def tracked(hook: RunningHook) -> list[str]:
    return sorted(u.login for u in hook.call(lambda r: r.store.tracked()))


# --- a captured signature -----------------------------------------------------------


@pytest.mark.parametrize("body", [b'{"action": "push"}', b""], ids=["payload", "empty body"])
def test_a_captured_signature_refreshes_nobody_else(
    start: Start, fake: FakeGitHubServer, body: bytes
) -> None:
    probe = Probe()
    hook = start(probe=probe)
    made_up = [f"made-up-{i}" for i in range(300)]
    # GitHub's webhook form, which the hook used to take: the body alone signed, the user
    # in the URL. Captured once, it named anyone.
    body_only = {
        "X-Hub-Signature-256": "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest(),
        "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
    }
    # The signature of one real request to mona-lisa, captured with its headers.
    captured = sign_request(SECRET, "POST", "/refresh/mona-lisa", body, int(hook.clock.epoch()))
    with httpx.Client(base_url=hook.url) as client:
        legacy = [client.post(f"/refresh/{name}", content=body, headers=body_only) for name in made_up]
        assert {a.status_code for a in legacy} == {401}  # no timestamp: not a signature any more
        assert tracked(hook) == sorted(u.lower() for u in TRACKED)
        assert client.post("/refresh/mona-lisa", content=body, headers=captured).status_code == 202
        hook.call(lambda r: r.drain())
        replayed = [client.post(f"/refresh/{name}", content=body, headers=captured) for name in made_up]
        replayed += [
            client.post(f"/refresh/mona-lisa?period={period}", content=body, headers=captured)
            for period in PERIODS
        ]
        replayed.append(client.post("/refresh/Mona-Lisa", content=body, headers=captured))
    assert {a.status_code for a in replayed} == {403}
    assert {a.json()["error"] for a in replayed} == {"wrong credentials"}
    hook.call(lambda r: r.drain())
    assert tracked(hook) == sorted(u.lower() for u in TRACKED)  # no made-up name became tracked
    assert set(searches(fake)) == {"mona-lisa"}  # GitHub was asked about nobody else
    assert probe.started == {"mona-lisa": 1}


def test_a_request_replayed_verbatim_is_refused(start: Start, store: dict[str, Any]) -> None:
    probe = Probe()
    hook = start(probe=probe, **store)
    target, body = "/refresh/zero-zoe?period=2_years", b'{"action": "push"}'
    signed = sign_request(SECRET, "POST", target, body, int(hook.clock.epoch()))
    assert post(hook, target, signed, body).status_code == 202
    hook.call(lambda r: r.drain())
    replayed = post(hook, target, signed, body)
    assert replayed.status_code == 409 and "already used" in replayed.json()["error"]
    hook.clock.advance(SIGNATURE_MAX_AGE_SECONDS - 1)  # still inside the window: still refused
    assert post(hook, target, signed, body).status_code == 409
    hook.call(lambda r: r.drain())
    assert probe.started == {"zero-zoe": 1}
    # The caller's next request, signed with a new delivery id, and the bearer form work.
    fresh = sign_request(SECRET, "POST", target, body, int(hook.clock.epoch()))
    assert post(hook, target, fresh, body).status_code == 202
    assert post(hook, target, {"Authorization": f"Bearer {SECRET}"}).status_code == 202


def test_a_timestamp_outside_the_window_is_refused(start: Start, fake: FakeGitHubServer) -> None:
    hook = start()
    now, target = int(hook.clock.epoch()), "/refresh/steady-sam"
    for stamp in (now - SIGNATURE_MAX_AGE_SECONDS - 1, now + SIGNATURE_MAX_AGE_SECONDS + 1, 0):
        answer = post(hook, target, sign_request(SECRET, "POST", target, b"", stamp))
        assert answer.status_code == 401, stamp
        assert "X-Gitbrag-Timestamp" in answer.json()["error"]
    assert searches(fake) == {}
    late = sign_request(SECRET, "POST", target, b"", now - SIGNATURE_MAX_AGE_SECONDS + 1)
    assert post(hook, target, late, b"").status_code == 202  # old, but inside the window


def test_a_signed_request_without_its_timestamp_or_delivery_is_refused(start: Start) -> None:
    hook = start()
    target = "/refresh/steady-sam"
    good = sign_request(SECRET, "POST", target, b"", int(hook.clock.epoch()), "d-1")
    for broken in (
        {k: v for k, v in good.items() if k != "X-Gitbrag-Timestamp"},
        {k: v for k, v in good.items() if k != "X-GitHub-Delivery"},
        good | {"X-Gitbrag-Timestamp": "soon"},
        good | {"X-GitHub-Delivery": "a b"},
        sign_request(SECRET, "POST", target, b"", int(hook.clock.epoch()), "x" * 129),
    ):
        answer = post(hook, target, broken)
        assert answer.status_code == 401 and "X-GitHub-Delivery" in answer.json()["error"], broken
    for wrong in (
        good | {"X-GitHub-Delivery": "d-2"},  # the id is signed too
        good | {"X-Gitbrag-Timestamp": str(int(hook.clock.epoch()) + 1)},
        sign_request("wrong", "POST", target, b"", int(hook.clock.epoch())),
    ):
        assert post(hook, target, wrong).status_code == 403, wrong
    assert post(hook, target, good).status_code == 202  # none of the above used up its id


def test_a_good_signed_request_adds_and_publishes_a_new_user(start: Start) -> None:
    hook = start()
    target, body = "/refresh/prolific-pat?period=all_time", b"{}"
    answer = post(hook, target, sign_request(SECRET, "POST", target, body, int(hook.clock.epoch())), body)
    assert answer.status_code == 202 and answer.json()["status"] == "scheduled"
    hook.call(lambda r: r.drain())
    assert "prolific-pat" in tracked(hook)
    assert (hook.settings.site_dir / "prolific-pat" / "all_time" / "report.json").is_file()


# --- replicas and the store ---------------------------------------------------------


def test_two_replicas_on_one_store_share_the_replay_memory(start: Start, store: dict[str, Any]) -> None:
    first, second = start("a", **store), start("b", **store)
    target = "/refresh/zero-zoe"
    signed = sign_request(SECRET, "POST", target, b"", int(first.clock.epoch()))
    assert post(first, target, signed).status_code == 202
    assert post(second, target, signed).status_code == 409  # captured at one, replayed at the other
    other = sign_request(SECRET, "POST", target, b"", int(second.clock.epoch()))
    assert post(second, target, other).status_code == 202
    assert post(first, target, other).status_code == 409


def test_a_signed_request_fails_closed_while_redis_refuses_writes(
    start: Start, redis_server_factory: type[RedisServer]
) -> None:
    """A read-only Redis (a replica after a failover) still answers reads, and a refresh
    fails open on it; but a signature whose delivery cannot be remembered is refused."""
    server = redis_server_factory().start()
    hook = start(redis_url=server.url)
    with redis.Redis.from_url(server.url) as client:
        client.replicaof("127.0.0.1", str(free_port()))  # a primary that never answers
    target = "/refresh/zero-zoe"
    refused = post(hook, target, sign_request(SECRET, "POST", target, b"", int(hook.clock.epoch())))
    assert refused.status_code == 503 and "store is unavailable" in refused.json()["error"]
    # The bearer form needs no memory: the refresh itself still runs on the read-only store.
    assert post(hook, target, {"Authorization": f"Bearer {SECRET}"}).status_code == 202
    with redis.Redis.from_url(server.url) as client:
        client.replicaof("NO", "ONE")
    signed = sign_request(SECRET, "POST", target, b"", int(hook.clock.epoch()))
    assert post(hook, target, signed).status_code == 202


# --- the store's memory ---------------------------------------------------------------


async def test_remember_once_on_sqlite_forgets_after_its_ttl(tmp_path: Path) -> None:
    one, two = SQLiteStore(tmp_path / "s.sqlite3"), SQLiteStore(tmp_path / "s.sqlite3")  # two processes
    try:
        assert await one.remember_once("hook:delivery:a", 600, now=1000)
        assert not await two.remember_once("hook:delivery:a", 600, now=1599)
        assert await two.remember_once("hook:delivery:b", 600, now=1599)
        assert await one.remember_once("hook:delivery:a", 600, now=1600)  # forgotten: expired
    finally:
        await one.close()
        await two.close()


async def test_remember_once_on_redis_is_one_key_with_a_ttl(redis_url: str) -> None:
    store = RedisStore.from_url(redis_url)
    try:
        assert await store.remember_once("hook:delivery:a", 600, now=0)
        assert not await store.remember_once("hook:delivery:a", 600, now=0)
        with redis.Redis.from_url(redis_url) as client:
            assert 599_000 < client.pttl("gitbrag:once:hook:delivery:a") <= 600_000
        assert await store.remember_once("hook:delivery:short", 0.05, now=0)
        # Redis's own clock expires it, whatever `now` says.
        with redis.Redis.from_url(redis_url) as client:
            wait_for(lambda: not client.exists("gitbrag:once:hook:delivery:short"), 10, "the key to expire")
        assert await store.remember_once("hook:delivery:short", 600, now=0)
    finally:
        await store.close()


# --- the documented scheme, for callers ---------------------------------------------------

HOOK_PAGE = Path(__file__).resolve().parents[2] / "docs" / "hook.md"


def readme_shell_example() -> str:
    """docs/hook.md's signing example, exactly as printed there (after "Signing a request")."""
    text = HOOK_PAGE.read_text()
    after = text[text.index("## Signing a request") :]
    block = after[after.index("```sh\n") + len("```sh\n") :]
    return block[: block.index("```")]


def test_the_documented_openssl_example_works(start: Start) -> None:
    hook = start()
    env = {"HOOK": hook.url, "GITBRAG_HOOK_SECRET": SECRET, "PATH": "/usr/bin:/bin"}
    answer = subprocess.run(
        ["bash", "-c", readme_shell_example()], env=env, capture_output=True, text=True, timeout=30
    )
    assert '"status":"scheduled"' in answer.stdout, answer.stdout + answer.stderr


def test_sign_request_is_the_documented_message() -> None:
    """An independent reading of the documented scheme agrees with the helper."""
    message = b"1700000000\nabc-1\nPOST\n/refresh/octocat?period=all_time\n" + b'{"a": 1}'
    digest = hmac.new(b"k", message, hashlib.sha256).hexdigest()
    assert sign_request(
        "k", "post", "/refresh/octocat?period=all_time", b'{"a": 1}', 1700000000, "abc-1"
    ) == {
        "X-Gitbrag-Timestamp": "1700000000",
        "X-GitHub-Delivery": "abc-1",
        "X-Hub-Signature-256": "sha256=" + digest,
    }
