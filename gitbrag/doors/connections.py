"""The hook's defences against clients that connect and then take their time.

uvicorn times a connection out only between requests (`timeout_keep_alive`, armed when
an answer is complete): a client that connects and sends nothing, or half a request
line, or a body a byte a minute, is kept forever, and enough of them exhaust the
process's file descriptors, after which `/healthz` stops answering and the publisher
cannot open a file. So the hook's HTTP protocol (uvicorn's h11 one, extended here):

* gives every request `read_timeout` seconds to arrive whole, headers and body, counted
  from the connection's opening or the previous answer, then closes the connection;
* keeps at most `cap` connections open (`connection_cap`: half the file-descriptor limit,
  so the other half stays with the publisher, the store and GitHub). A connection over
  the cap evicts the one that has been waiting longest for its request; connections
  whose request is in (being answered) are never evicted, and when every one is, the
  newcomer is closed. A client that sends its request at once (a health check) is
  served even while thousands of others hold connections open;
* logs each of these events, and the event loop's "accept() out of system resource"
  (EMFILE/ENFILE), at most once a minute (`OncePerMinute`), with how many were not
  logged: an attack is one line a minute, not one traceback per connection.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import resource
import time
from collections.abc import Callable
from typing import Any, ClassVar

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger(__name__)

READ_TIMEOUT_SECONDS = 10.0  # a webhook's few KiB arrive in milliseconds; 10 s forgives a bad link
MAX_CONNECTIONS = 1000  # plenty for a refresh hook behind a proxy
MIN_CONNECTIONS = 8
RESOURCE_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
_READING = (h11.IDLE, h11.SEND_BODY)  # the client's side of h11: its request is not in yet


class OncePerMinute(logging.Filter):
    """Lets each distinct message through at most once per `interval` seconds; the next
    one that passes carries `suppressed=N`, how many were held back meanwhile."""

    def __init__(self, interval: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.interval, self.clock = interval, clock
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key, now = str(record.msg), self.clock()
        last = self._last.get(key)
        if last is not None and now - last < self.interval:
            self._held[key] = self._held.get(key, 0) + 1
            return False
        self._last[key] = now
        held = self._held.pop(key, 0)
        if held:
            record.suppressed = held
        return True


# Everything an attacker can trigger per connection goes through this logger.
connection_log = logging.getLogger("gitbrag.doors.hook.connections")
connection_log.addFilter(OncePerMinute())
connection_log.setLevel(logging.INFO)  # also keeps uvicorn from formatting a TRACE line per connection


def connection_cap(nofile: int | None = None) -> int:
    """Half the process's file-descriptor limit (RLIMIT_NOFILE), within 8..1000."""
    if nofile is None:
        nofile = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if nofile == resource.RLIM_INFINITY:
        return MAX_CONNECTIONS
    return max(MIN_CONNECTIONS, min(MAX_CONNECTIONS, nofile // 2))


class ConnectionGuard:
    """The open connections of one server, and which are still waiting for a request
    (oldest first: those are evicted first when the cap is reached)."""

    def __init__(self, cap: int, read_timeout: float = READ_TIMEOUT_SECONDS) -> None:
        self.cap, self.read_timeout = cap, read_timeout
        self.open = 0  # counted until the socket is really closed (connection_lost)
        self.waiting: dict[GuardedH11Protocol, None] = {}  # insertion-ordered: oldest first

    def admit(self, newcomer: GuardedH11Protocol) -> bool:
        """Count `newcomer`; over the cap, make room by closing the longest waiter.
        False: every other connection is being answered, so the newcomer is refused."""
        self.open += 1
        if self.open <= self.cap:
            return True
        if not self.waiting:
            connection_log.warning(
                "hook at its connection limit; refusing new connections", extra={"limit": self.cap}
            )
            return False
        victim = next(iter(self.waiting))
        connection_log.warning(
            "hook at its connection limit; closing the connections waiting longest for a request",
            extra={"limit": self.cap},
        )
        victim.drop()
        return True

    def closed(self, protocol: GuardedH11Protocol) -> None:
        self.open -= 1
        self.waiting.pop(protocol, None)


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a per-request read deadline, under a `ConnectionGuard`.
    `guard` is set on a subclass per server (`guarded_protocol`)."""

    guard: ClassVar[ConnectionGuard]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.logger = connection_log  # uvicorn's per-request warnings ("Invalid HTTP request"), rate-limited
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if self.guard.admit(self):
            self._watch()
        else:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_watch()
        self.guard.closed(self)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._watch()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._watch()

    def drop(self) -> None:
        """Close without answering (the client has not finished asking)."""
        self._stop_watch()
        self.transport.close()

    def _watch(self) -> None:
        """Arm the deadline while the client owes a request, disarm it once the request is in."""
        waiting = self.conn.their_state in _READING and not self.transport.is_closing()
        if waiting and self._deadline is None:
            self._deadline = self.loop.call_later(self.guard.read_timeout, self._timed_out)
            self.guard.waiting[self] = None
        elif not waiting:
            self._stop_watch()

    def _stop_watch(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self.guard.waiting.pop(self, None)

    def _timed_out(self) -> None:
        self._deadline = None
        connection_log.info(
            "closed hook connections that did not send a whole request in time",
            extra={"timeout_s": self.guard.read_timeout},
        )
        self.drop()


def guarded_protocol(guard: ConnectionGuard) -> type[GuardedH11Protocol]:
    """The protocol class uvicorn instantiates per connection, bound to `guard`."""
    return type("HookProtocol", (GuardedH11Protocol,), {"guard": guard})


def quiet_accept_errors(loop: asyncio.AbstractEventLoop) -> Callable[[], None]:
    """Route the loop's "accept() out of system resource" reports (asyncio logs one with
    a traceback per retry, every second) through the once-a-minute log; other reports
    go where they went. Returns the function that puts the previous handler back."""
    previous = loop.get_exception_handler()

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if "socket" in context and isinstance(exc, OSError) and exc.errno in RESOURCE_ERRNOS:
            connection_log.error(
                "hook cannot accept connections: out of file descriptors; retrying",
                extra={"error": exc.strerror or str(exc)},
            )
        elif previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handler)
    return lambda: loop.set_exception_handler(previous)
