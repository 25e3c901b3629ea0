"""Stopping on SIGTERM/SIGINT without waiting out GitHub.

A refresher can be resting for most of an hour on a spent rate limit, or backing off
between retries. A shutdown must not wait for that: the process manager's patience
(docker's 10 s, systemd's 90 s) ends in SIGKILL, and a killed worker leaves its claims
blocking every other refresher for the claim's TTL. So the GitHub client sleeps
through `Shutdown.sleep`, which returns early by raising `ShuttingDown` once a stop is
requested; generations that are working (not waiting) carry on and finish.

`ShuttingDown` is a `BaseException`, like `asyncio.CancelledError`: every
`except Exception` lets it through, so an interrupted generation is never recorded as
a GitHub or disk failure (no failure count, no backoff), and the `finally` that holds
its claim releases it on the way out.
"""

from __future__ import annotations

import asyncio
import logging
import signal

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class ShuttingDown(BaseException):
    """Raised out of a wait because the process is stopping; not a failure of anything."""


class Interrupted(Exception):
    """`--once` was stopped by a signal: the pass's summary line, and which signal stopped it."""

    def __init__(self, summary: str, signum: int) -> None:
        super().__init__(f"stopped by {signal.Signals(signum).name}")
        self.summary, self.signum = summary, signum


class Shutdown:
    """A stop request shared by the signal handlers, the scheduler and every sleep."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self.signum: int | None = None

    @classmethod
    def on_signals(cls) -> Shutdown:
        """A shutdown requested by SIGTERM or SIGINT on the running loop."""
        shutdown = cls()
        loop = asyncio.get_running_loop()
        for sig in STOP_SIGNALS:
            loop.add_signal_handler(sig, shutdown.request, sig)
        return shutdown

    @property
    def requested(self) -> bool:
        return self._event.is_set()

    def request(self, signum: int | None = None) -> None:
        if not self.requested:
            self.signum = signum
            name = signal.Signals(signum).name if signum is not None else None
            log.info("shutdown requested: interrupting waits on GitHub", extra={"signal": name})
        self._event.set()

    async def wait(self) -> None:
        await self._event.wait()

    async def sleep(self, seconds: float) -> None:
        """`asyncio.sleep`, cut short by a shutdown (then `ShuttingDown` is raised)."""
        if self.requested:
            raise ShuttingDown()
        try:
            async with asyncio.timeout(max(seconds, 0.0)):
                await self._event.wait()
        except TimeoutError:
            return
        raise ShuttingDown()
