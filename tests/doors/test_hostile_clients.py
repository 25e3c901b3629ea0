"""Clients that connect to the hook and then take their time never hang the service.

A real `gitbrag-refresh` service runs with its file-descriptor limit lowered to 256 (in
the child only, never the test runner's), and the test opens, on loopback, 300
connections that send half a request and then nothing, and then 1,000 more that send
nothing at all: four times what the process may open. Meanwhile `/healthz` must keep
answering, a refresh triggered through the hook must publish, every held connection must
be closed by the server within its read timeout, and the log must stay a few lines.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import resource
import selectors
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gitbrag.doors.connections import (
    READ_TIMEOUT_SECONDS,
    OncePerMinute,
    connection_cap,
    connection_log,
    quiet_accept_errors,
)
from gitbrag.fakegithub.server import FakeGitHubServer, shared_dataset
from tests.conftest import free_port
from tests.support import REFRESH, clean_env, wait_for

NOFILE = 256  # the service's descriptor limit: its hook takes at most half
SLOW_HEADERS, HELD = 300, 1000
USER = "steady-sam"


def lower_nofile() -> None:
    """Runs in the child between fork and exec: only the service gets the low limit."""
    resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, NOFILE))


@pytest.fixture
def service(tmp_path: Path) -> Iterator[tuple[str, Path, subprocess.Popen[bytes]]]:
    with FakeGitHubServer(shared_dataset()) as fake:
        port = free_port()
        env = clean_env(
            GITHUB_TOKEN="t", GITBRAG_GITHUB_API_URL=fake.url, GITBRAG_USERS=USER,
            GITBRAG_HOOK_PORT=str(port), GITBRAG_FORCE_COOLDOWN_SECONDS="0",
        )  # fmt: skip
        log = tmp_path / "service.log"
        with log.open("w") as sink:
            proc = subprocess.Popen(
                [REFRESH], cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=sink,
                preexec_fn=lower_nofile,
            )  # fmt: skip
        try:
            wait_for(lambda: " scan finished " in log.read_text(), 60, "the first scan")
            yield f"http://127.0.0.1:{port}", log, proc
        finally:
            proc.terminate()
            proc.wait(30)


def open_connections(port: int, count: int, first_bytes: bytes) -> list[socket.socket]:
    """`count` non-blocking loopback connections, each having sent `first_bytes`
    (possibly nothing) once connected. Connections the kernel did not complete are kept
    too: they connect as the server accepts."""
    sockets = []
    for _ in range(count):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.connect_ex(("127.0.0.1", port))
        sockets.append(sock)
    if first_bytes:
        for sock in sockets:
            with contextlib.suppress(OSError):  # not connected yet, or already dropped: both fine
                sock.send(first_bytes)
    return sockets


def wait_all_closed(sockets: list[socket.socket], timeout: float) -> float:
    """Wait until the server has closed every connection (EOF or reset); the seconds it took."""
    started = time.monotonic()
    selector = selectors.DefaultSelector()
    for sock in sockets:
        selector.register(sock, selectors.EVENT_READ)
    open_ = set(sockets)
    while open_:
        assert time.monotonic() - started < timeout, f"{len(open_)} connections still open"
        for key, _ in selector.select(0.5):
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            try:
                if sock.recv(4096):
                    continue  # an answer (a refused newcomer may get none): keep reading to EOF
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                pass  # reset by the server: closed too
            selector.unregister(sock)
            open_.discard(sock)
    selector.close()
    return time.monotonic() - started


def test_slow_and_silent_clients_cannot_exhaust_the_service(
    service: tuple[str, Path, subprocess.Popen[bytes]],
) -> None:
    url, log, proc = service
    port = int(url.rsplit(":", 1)[1])
    healthy = httpx.Client(base_url=url, timeout=5)
    sockets = open_connections(port, SLOW_HEADERS, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow")
    sockets += open_connections(port, HELD, b"")
    try:
        # Under attack: the health check answers, and a refresh through the hook publishes
        # (the publisher still has file descriptors).
        assert healthy.get("/healthz").status_code == 200
        assert healthy.post(f"/refresh/{USER}").json()["status"] == "scheduled"
        for _ in range(20):
            assert healthy.get("/healthz").status_code == 200
        wait_for(lambda: log.read_text().count("report refreshed") >= 2, 60, "the hook's refresh to publish")
        open_fds = len(os.listdir(f"/proc/{proc.pid}/fd"))
        assert open_fds < NOFILE * 3 // 4, open_fds
        # Every held connection is closed by the server within its read timeout.
        took = wait_all_closed(sockets, READ_TIMEOUT_SECONDS + 20)
        assert took < READ_TIMEOUT_SECONDS + 20
        assert healthy.get("/healthz").status_code == 200
    finally:
        for sock in sockets:
            sock.close()
        healthy.close()
    text = log.read_text()
    assert "Too many open files" not in text and "Traceback" not in text, text[-3000:]
    connection_lines = [line for line in text.splitlines() if "gitbrag.doors.hook.connections" in line]
    assert 1 <= len(connection_lines) <= 3, connection_lines  # each kind of event once a minute at most
    assert len(text.splitlines()) < 60, text[-3000:]


def test_the_connection_cap_keeps_half_the_descriptors_in_reserve() -> None:
    assert connection_cap(256) == 128
    assert connection_cap(1024) == 512
    assert connection_cap(1 << 20) == 1000  # a hook needs no more
    assert connection_cap(10) == 8
    assert connection_cap(resource.RLIM_INFINITY) == 1000


def test_accept_out_of_descriptors_is_logged_once_a_minute(caplog: pytest.LogCaptureFixture) -> None:
    """asyncio reports a failed accept() once per retry, every second, with a traceback;
    the hook logs it once a minute with how many it held back."""
    clock = [0.0]
    limiter = OncePerMinute(clock=lambda: clock[0])
    usual, connection_log.filters = connection_log.filters, [limiter]  # the same filter, on our clock
    loop = asyncio.new_event_loop()
    restore = quiet_accept_errors(loop)
    context = {
        "message": "socket.accept() out of system resource",
        "exception": OSError(errno.EMFILE, "Too many open files"),
        "socket": socket.socket(),
    }
    try:
        with caplog.at_level(logging.INFO, logger=connection_log.name):
            for second in range(120):  # two minutes of retries, one a second
                clock[0] = float(second)
                loop.call_exception_handler(context)
    finally:
        restore()
        loop.close()
        connection_log.filters = usual
        context["socket"].close()  # type: ignore[attr-defined]
    lines = [r for r in caplog.records if r.name == connection_log.name]
    assert [r.getMessage() for r in lines] == [
        "hook cannot accept connections: out of file descriptors; retrying"
    ] * 2
    assert getattr(lines[1], "suppressed", None) == 59
    assert not any(r.exc_info for r in caplog.records)
