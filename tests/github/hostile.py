"""A hostile GitHub for tests: a proxy on 127.0.0.1 in front of the fake GitHub that answers
some requests itself the way an attacker, a broken proxy or a man-in-the-middle would
(bytes trickling in, a gzip bomb, JSON nested 100,000 deep, a `Link` or a redirect to
another host), and an "elsewhere" server that records whatever reaches it.

Everything is real HTTP on loopback: the client under test cannot tell the proxy from
GitHub. Requests the rule leaves alone are forwarded to the fake with the proxy's own
`Host`, so the fake's links point back at the proxy, as GitHub's point at itself.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

# What the rule sees and may answer with: None forwards the request to the fake GitHub.
Rule = Callable[[Request, bytes], Awaitable[Response | None]]


@dataclass
class Seen:
    """A request that reached a server: method, path and its Authorization header."""

    method: str
    path: str
    authorization: str | None


class LoopbackServer:
    """A Starlette app on a free 127.0.0.1 port in a background thread (`with` starts it)."""

    def __init__(self, app: Starlette) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.bind(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        config = uvicorn.Config(app, lifespan="off", log_level="warning", timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._server.serve([self._sock])), daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        while not self._server.started:
            self._thread.join(0.005)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.should_exit = True
        self._thread.join(10)
        self._sock.close()


@dataclass
class Hostile:
    """The proxy's state: its rule, what reached it, and when a rule first answered."""

    upstream: str
    rule: Rule | None = None
    seen: list[Seen] = field(default_factory=list)
    answered: threading.Event = field(default_factory=threading.Event)  # the rule answered once

    def app(self) -> Starlette:
        async def any_request(request: Request) -> Response:
            body = await request.body()
            self.seen.append(Seen(request.method, request.url.path, request.headers.get("authorization")))
            if self.rule is not None and (answer := await self.rule(request, body)) is not None:
                self.answered.set()
                return answer
            return await self._forward(request, body)

        return Starlette(routes=[Route("/{path:path}", any_request, methods=["GET", "POST"])])

    async def _forward(self, request: Request, body: bytes) -> Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("content-length",)}
        async with httpx.AsyncClient(base_url=self.upstream, timeout=30) as http:
            answer = await http.request(
                request.method, request.url.path, params=request.query_params, content=body, headers=headers
            )
        kept = {k: v for k, v in answer.headers.items() if k.lower() not in _HOP_HEADERS}
        return Response(answer.content, answer.status_code, kept)


_HOP_HEADERS = ("content-length", "content-encoding", "transfer-encoding", "connection")


@dataclass
class Elsewhere:
    """Another host (another port of 127.0.0.1: another origin): records what reaches it
    and answers every request with an empty list, which a client would happily read."""

    seen: list[Seen] = field(default_factory=list)

    def app(self) -> Starlette:
        async def any_request(request: Request) -> Response:
            self.seen.append(Seen(request.method, request.url.path, request.headers.get("authorization")))
            return Response(b"[]", 200, media_type="application/json")

        return Starlette(routes=[Route("/{path:path}", any_request, methods=["GET", "POST"])])


def trickle(body: bytes, every: float) -> StreamingResponse:
    """A 200 whose body arrives one byte every `every` seconds: each read is quick, the whole never."""

    async def drip() -> AsyncIterator[bytes]:
        for byte in body:
            await asyncio.sleep(every)
            yield bytes([byte])

    return StreamingResponse(drip(), 200, media_type="application/json")


def gzip_bomb(decoded_mib: int) -> bytes:
    """`decoded_mib` MiB of spaces, gzipped (about a thousandth of that on the wire)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    mib = b" " * 2**20
    return b"".join(packer.compress(mib) for _ in range(decoded_mib)) + packer.flush()


def deep_json(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth
