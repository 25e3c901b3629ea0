"""Shared fixtures. Real servers run on free loopback ports, never on the machine's own."""

from __future__ import annotations

import logging
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
import redis


@pytest.fixture(autouse=True)
def _logging_as_it_was() -> Iterator[None]:
    """Put the root logger back as each test found it. A test that calls `configure_logging`
    in-process leaves the level at INFO and a handler on a stale stream; every later test
    then logs (and pytest's capture keeps) thousands of records, which once showed up as
    4 MB of "growth" in the soak's memory check."""
    root = logging.getLogger()
    ours, level = [h for h in root.handlers if getattr(h, "_gitbrag", False)], root.level
    yield
    for handler in root.handlers[:]:  # pytest's own capture handlers come and go per phase
        if getattr(handler, "_gitbrag", False) and handler not in ours:
            root.removeHandler(handler)
    for handler in ours:
        if handler not in root.handlers:
            root.addHandler(handler)
    root.setLevel(level)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RedisServer:
    """A throwaway `redis-server` (no persistence) that can be stopped and started
    again on the same port, to play an outage."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._proc: subprocess.Popen[bytes] | None = None
        self.extra_args: list[str] = []  # more `redis-server` options (`--dir`, for a test that saves)

    def start(self) -> RedisServer:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed: apt-get install redis-server (.ci/run does it)")
        args = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        args += self.extra_args
        self._proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if self._proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start on port {self.port}") from None
                time.sleep(0.02)
        client.close()
        return self

    def freeze(self) -> None:
        """Stop answering (SIGSTOP): connections are still accepted, every command waits,
        until `thaw`, however long the test takes on whatever machine."""
        assert self._proc is not None
        self._proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        if self._proc is not None:
            self._proc.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        if self._proc is not None:
            self.thaw()
            self._proc.kill()
            self._proc.wait()
            self._proc = None


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The session's real Redis, emptied for this test."""
    with redis.Redis.from_url(redis_server.url) as client:
        client.flushall()
    return redis_server.url


@pytest.fixture
def redis_server_factory() -> Iterator[type[RedisServer]]:
    """Extra servers a test starts and stops itself; any left running are killed after."""
    started: list[RedisServer] = []

    class Tracked(RedisServer):
        def start(self) -> RedisServer:
            started.append(self)
            return super().start()

    yield Tracked
    for server in started:
        server.stop()
