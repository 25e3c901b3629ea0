"""Run the fake GitHub on a real loopback port in a background thread.

Tests, `gitbrag-refresh --demo` and the benchmarks all talk to the fake over real
HTTP, so the client code under test is exactly the code that talks to GitHub. The
socket is bound before the thread starts, so `.url` is valid as soon as the
constructor returns and two servers can never race for a port.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import lru_cache
from types import TracebackType

import uvicorn

from gitbrag.fakegithub.app import FakeConfig, FakeState, create_app
from gitbrag.fakegithub.dataset import DEMO_SEED, build_dataset
from gitbrag.fakegithub.records import Dataset


class FakeGitHubServer:
    """`with FakeGitHubServer() as gh: httpx.get(gh.url + "/users/Mona-Lisa")`."""

    def __init__(
        self,
        dataset: Dataset | None = None,
        config: FakeConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.app = create_app(dataset, config)
        # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on accepted sockets whose proto says TCP,
        # and without it every keep-alive response stalls ~40 ms on delayed ACKs.
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.host, self.port = self._sock.getsockname()[:2]
        uv_config = uvicorn.Config(
            self.app, lifespan="off", log_level="warning", access_log=False, timeout_graceful_shutdown=2
        )  # don't wait out a request held by an injected timeout
        self._server = uvicorn.Server(uv_config)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL for REST (`GITBRAG_GITHUB_API_URL`); GraphQL is at `url + "/graphql"`."""
        return f"http://{self.host}:{self.port}"

    @property
    def app_state(self) -> FakeState:
        """Stats, budgets, faults and `add_pull`/`add_star`, for tests to inspect and steer."""
        state: FakeState = self.app.state.fake
        return state

    @property
    def dataset(self) -> Dataset:
        return self.app_state.dataset

    def start(self) -> FakeGitHubServer:
        if self._thread is not None:
            return self
        self._thread = threading.Thread(target=self._run, name=f"fake-github-{self.port}", daemon=True)
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("fake GitHub failed to start")
            self._thread.join(0.005)
        return self

    def stop(self) -> None:
        if self._thread is None:
            self._sock.close()
            return
        self._server.should_exit = True
        self._thread.join(10)
        self._thread = None
        self._sock.close()

    def _run(self) -> None:
        asyncio.run(self._server.serve(sockets=[self._sock]))

    def __enter__(self) -> FakeGitHubServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


@lru_cache(maxsize=4)
def shared_dataset(seed: int = DEMO_SEED, anchor: datetime | None = None) -> Dataset:
    """One dataset per (seed, anchor) per process, for tests that only read it.

    Tests that mutate the fake (`add_pull`, `add_star`) must build their own dataset.
    """
    return build_dataset(seed, anchor=anchor)


@contextmanager
def running_fake(
    dataset: Dataset | None = None, config: FakeConfig | None = None
) -> Iterator[FakeGitHubServer]:
    """The fixture body tests reuse: a started fake (shared demo dataset unless given) that
    is stopped afterwards.

        @pytest.fixture
        def fake_github():
            with running_fake() as server:
                yield server
    """
    with FakeGitHubServer(dataset if dataset is not None else shared_dataset(), config) as server:
        yield server
