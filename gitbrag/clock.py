"""The clocks gitbrag reads, in one place.

Two kinds, on purpose. A wall clock (`Now`: aware UTC datetimes) for what people read and
what reports cover: generated_at, periods' windows, when a report is next due. Epoch seconds
(`Seconds`) for leases, cooldowns and rate-limit windows, which are compared with numbers the
stores and GitHub hand back (Redis goes further and uses its own server time for claims, so
hosts whose clocks disagree still agree on what has expired). Every component takes its
clock as a parameter, defaulting to these, so a test can stop or move time."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

__all__ = ["Now", "Seconds", "epoch", "utcnow"]

Now = Callable[[], datetime]
Seconds = Callable[[], float]


def utcnow() -> datetime:
    """The wall clock: now, as an aware UTC datetime."""
    return datetime.now(UTC)


def epoch() -> float:
    """Epoch seconds (`time.time`)."""
    return time.time()
