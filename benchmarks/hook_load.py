"""Hook load benchmark: how fast does the refresh hook answer, and does a burst of
refreshes of one user still generate once?

Starts the fake GitHub (`gitbrag-fake-github`) and the service (`gitbrag-refresh`, with
its hook on a free loopback port, a temp SQLite store and the demo users tracked) as
separate processes, waits for the first scan, then loads the hook from this process:

1. GET /status/<user> of tracked users: requests/s, p50/p99 latency;
2. POST /refresh/<user> of tracked users (cooldown 60 s: a few 202s, then 429s): the same,
   with each outcome counted;
3. 100 concurrent POST /refresh of one user: the answers, and how many generations ran
   (from the service's /metrics and the fake's per-author search count);
4. the same burst against a second service with the cooldown off, so only the claim
   deduplicates (answers: scheduled + already_running).

Run: .venv/bin/python benchmarks/hook_load.py [--requests 3000] [--concurrency 32] [--seconds 20]
Bounded: each phase stops at --requests or --seconds, whichever comes first. Exits non-zero
if a burst generated other than once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import h11
import httpx
from rich.console import Console
from rich.table import Table

BIN = Path(sys.executable).parent
USERS = ["Mona-Lisa", "prolific-pat", "zero-zoe", "hostile-hank", "steady-sam"]
BURST_USER = "steady-sam"  # never refreshed in phase 2, so its cooldown is free for the burst
LOAD_USERS = [u for u in USERS if u != BURST_USER]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(url: str, proc: subprocess.Popen[bytes], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            sys.exit(f"{url} did not come up")
        time.sleep(0.05)


@contextmanager
def process(args: list[str], ready_url: str, **kwargs: object) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kwargs)  # type: ignore[call-overload]
    try:
        wait_until(ready_url, proc)
        yield proc
    finally:
        proc.terminate()
        proc.wait(30)


@contextmanager
def service(fake_url: str, workdir: Path, cooldown: int) -> Iterator[str]:
    """`gitbrag-refresh` with its hook; yields the hook's URL once the first scan is done."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITBRAG_", "GITHUB_"))} | {
        "GITHUB_TOKEN": "bench",
        "GITBRAG_GITHUB_API_URL": fake_url,
        "GITBRAG_USERS": ",".join(USERS),
        "GITBRAG_STATE_PATH": str(workdir / "state.sqlite3"),
        "GITBRAG_SITE_DIR": str(workdir / "site"),
        "GITBRAG_HOOK_PORT": str(port),
        "GITBRAG_SCAN_INTERVAL_SECONDS": "3600",
        "GITBRAG_FORCE_COOLDOWN_SECONDS": str(cooldown),
        "GITBRAG_LOG_LEVEL": "WARNING",
    }
    url = f"http://127.0.0.1:{port}"
    with process([str(BIN / "gitbrag-refresh")], url + "/healthz", env=env, cwd=workdir):
        deadline = time.monotonic() + 120
        while metric(url, "gitbrag_reports_refreshed_total") < len(USERS) * 4:  # every period of every user
            if time.monotonic() > deadline:
                sys.exit("the first scan did not finish")
            time.sleep(0.1)
        yield url


def metric(url: str, name: str) -> float:
    for line in httpx.get(url + "/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


def wait_idle(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while metric(url, "gitbrag_active_generations") > 0 and time.monotonic() < deadline:
        time.sleep(0.05)


# --- load -------------------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    latencies: list[float] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0

    def row(self, concurrency: int) -> list[str]:
        lat = sorted(self.latencies)
        p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
        mix = ", ".join(f"{k} {v}" for k, v in self.outcomes.most_common())
        return [
            self.name,
            str(len(lat)),
            str(concurrency),
            f"{len(lat) / self.seconds:,.0f}",
            f"{statistics.median(lat) * 1000:.1f}",
            f"{p99 * 1000:.1f}",
            mix,
        ]


class Connection:
    """One keep-alive HTTP/1.1 connection: h11 speaks the protocol, asyncio moves the bytes.

    Not httpx here: it spends a few milliseconds of client CPU per request (and more as its
    pool grows), so on two cores the load would measure the client rather than the hook."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._h11 = h11.Connection(h11.CLIENT)

    async def request(self, method: str, target: str) -> tuple[int, bytes]:
        if self._writer is None or self._h11.our_state is h11.MUST_CLOSE:
            await self._connect()
        assert self._reader is not None and self._writer is not None
        headers = [("Host", f"{self.host}:{self.port}"), ("Content-Length", "0")]
        self._writer.write(self._h11.send(h11.Request(method=method, target=target, headers=headers)) or b"")
        self._writer.write(self._h11.send(h11.EndOfMessage()) or b"")
        status, body = 0, bytearray()
        while True:
            event = self._h11.next_event()
            if event is h11.NEED_DATA:
                self._h11.receive_data(await self._reader.read(65536))
            elif isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                break
        if self._h11.our_state is h11.DONE and self._h11.their_state is h11.DONE:
            self._h11.start_next_cycle()
        return status, bytes(body)

    async def _connect(self) -> None:
        await self.close()
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        self._writer.transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._h11 = h11.Connection(h11.CLIENT)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def outcome(status: int, body: bytes) -> str:
    return str(json.loads(body)["status"]) if status == 202 else str(status)


async def load(
    name: str, method: str, targets: list[str], url: str, requests: int, concurrency: int, seconds: float
) -> Phase:
    """`concurrency` clients, one connection each, send requests (cycling through
    `targets`) until `requests` are answered or `seconds` pass."""
    phase = Phase(name)
    sent = 0
    deadline = time.monotonic() + seconds
    parts = urlsplit(url)

    async def client_loop() -> None:
        nonlocal sent
        connection = Connection(parts.hostname or "127.0.0.1", parts.port or 80)
        while sent < requests and time.monotonic() < deadline:
            target = targets[sent % len(targets)]
            sent += 1
            started = time.perf_counter()
            status, body = await connection.request(method, target)
            phase.latencies.append(time.perf_counter() - started)
            phase.outcomes[outcome(status, body)] += 1
        await connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(client_loop() for _ in range(concurrency)))
    phase.seconds = time.perf_counter() - started
    return phase


async def burst(url: str, n: int = 100) -> Counter[str]:
    limits = httpx.Limits(max_connections=n)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        answers = await asyncio.gather(*(client.post(f"{url}/refresh/{BURST_USER}") for _ in range(n)))
    return Counter(outcome(a.status_code, a.content) for a in answers)


def measure_burst(url: str, fake_url: str) -> tuple[Counter[str], int, int]:
    """The burst's answers, the generations it caused, and the searches GitHub saw for it."""
    wait_idle(url)
    before = metric(url, "gitbrag_reports_refreshed_total")
    searched = httpx.get(fake_url + "/_fake/stats").json()["searches_by_author"].get(BURST_USER, 0)
    answers = asyncio.run(burst(url))
    time.sleep(0.2)  # let the scheduled generation start before waiting for it to end
    wait_idle(url)
    generations = int((metric(url, "gitbrag_reports_refreshed_total") - before) / 4)
    searches = httpx.get(fake_url + "/_fake/stats").json()["searches_by_author"].get(BURST_USER, 0) - searched
    return answers, generations, searches


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=3000, help="requests per phase (default 3000)")
    parser.add_argument("--concurrency", type=int, default=32, help="concurrent clients (default 32)")
    parser.add_argument("--seconds", type=float, default=20, help="time cap per phase (default 20)")
    args = parser.parse_args()
    console = Console()
    fake_port = free_port()
    fake_url = f"http://127.0.0.1:{fake_port}"
    fake_args = [str(BIN / "gitbrag-fake-github"), "--port", str(fake_port), "--latency-ms", "20"]
    with tempfile.TemporaryDirectory() as tmp, process(fake_args, fake_url + "/_fake/stats"):
        (Path(tmp) / "a").mkdir()
        (Path(tmp) / "b").mkdir()
        with service(fake_url, Path(tmp) / "a", cooldown=60) as url:
            console.print(f"service up, first scan done ({url}); loading...")
            bounds = (args.requests, args.concurrency, args.seconds)
            status_targets = [f"/status/{u}" for u in USERS]
            refresh_targets = [f"/refresh/{u}?period=1_year" for u in LOAD_USERS]
            status = asyncio.run(load("GET /status", "GET", status_targets, url, *bounds))
            refresh = asyncio.run(load("POST /refresh", "POST", refresh_targets, url, *bounds))
            cooled = measure_burst(url, fake_url)
        with service(fake_url, Path(tmp) / "b", cooldown=0) as url:
            claimed = measure_burst(url, fake_url)

    table = Table(title="refresh hook on loopback (service in its own process, SQLite store)")
    for column in ("endpoint", "requests", "clients", "req/s", "p50 ms", "p99 ms", "answers"):
        table.add_column(column, justify="left" if column in ("endpoint", "answers") else "right")
    table.add_row(*status.row(args.concurrency))
    table.add_row(*refresh.row(args.concurrency))
    console.print(table)

    bursts = Table(title=f"100 concurrent POST /refresh/{BURST_USER}")
    for column in ("cooldown", "answers", "generations", "GitHub searches for the user"):
        bursts.add_column(column)
    ok = True
    for label, (answers, generations, searches) in (("60 s", cooled), ("off (claims only)", claimed)):
        bursts.add_row(
            label, ", ".join(f"{k} {v}" for k, v in answers.most_common()), str(generations), str(searches)
        )
        ok &= generations == 1 and answers.get("scheduled") == 1
    console.print(bursts)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
