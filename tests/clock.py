"""The tests' clock: one object standing in for both of `gitbrag.clock`'s clocks.

gitbrag takes its clocks as parameters (`Now`: aware UTC datetimes; `Seconds`: epoch
seconds), so a test can stop time, move it by hours or days, or let a client's waits cost no
real time. `Clock` does all of that with one reading, handed out in either form."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

__all__ = ["Clock"]


class Clock:
    """A clock that moves when the test says so.

    `Clock()` stands still at the real time of its making, `Clock(start)` at `start` (an aware
    datetime, or epoch seconds); `Clock(running=True)` follows real time. Either way only
    `advance` and `sleep` move it further, and `offset` says by how much, in seconds.

    Read it as `now` (an aware UTC datetime), or hand out `utcnow` (a `gitbrag.clock.Now`)
    and `epoch` (a `gitbrag.clock.Seconds`) to whatever takes a clock: both give the same
    reading. `sleep` is an `asyncio.sleep` that moves the clock instead of waiting, for a
    GitHub client's retries and rate-limit waits. Parts of a test that must not share time
    (a scheduler's hour a pass, a client's sleeps) each get their own `Clock`.
    """

    def __init__(self, start: datetime | float | None = None, *, running: bool = False) -> None:
        if running and start is not None:
            raise ValueError("a running clock follows real time: it takes no start")
        if isinstance(start, datetime):
            if start.tzinfo is None:
                raise ValueError("start must be an aware datetime")
            start = start.timestamp()
        self._start = time.time() if start is None else float(start)
        self._running = running
        self.offset = 0.0

    def epoch(self) -> float:
        """The reading in epoch seconds."""
        return (time.time() if self._running else self._start) + self.offset

    def utcnow(self) -> datetime:
        """The reading as an aware UTC datetime."""
        return datetime.fromtimestamp(self.epoch(), UTC)

    @property
    def now(self) -> datetime:
        return self.utcnow()

    def advance(self, by: float | timedelta) -> None:
        """Move the clock `by` (seconds, or a timedelta)."""
        self.offset += by.total_seconds() if isinstance(by, timedelta) else by

    async def sleep(self, seconds: float) -> None:
        """Move the clock by `seconds` (a negative wait is no wait) and yield to the loop once."""
        self.advance(max(seconds, 0.0))
        await asyncio.sleep(0)
