"""Give the C heap back to the system after a refresh's big transient allocations.

A refresh parses and writes documents of megabytes (a 20,000-PR user's collection is 12 MB
of JSON, its all-time report.json 7 MB). pydantic-core parses and serialises them in Rust,
through the C allocator, often in worker threads (the store and the publisher run in
`asyncio.to_thread`), and glibc keeps what they freed in its per-thread arenas instead of
returning it: measured on `maintainer-max`, loading the collection left 48 MB of freed
heap resident, and the whole refresh 45 MB more than its live objects. Python's own
allocator cannot reuse that memory (it takes its arenas straight from mmap), so the
resident size only grew. `malloc_trim(0)` (glibc; every arena since 2.8) returns the free
pages; elsewhere (musl, macOS) there is nothing to do and this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
from collections.abc import Callable
from functools import cache

log = logging.getLogger(__name__)


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's `malloc_trim`, or None where the C library has none."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim: Callable[[int], int] = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


def release_freed_memory() -> bool:
    """Return the C heap's free pages to the system; False where that is not possible.
    Cheap (it walks the free lists, not the objects): call it after dropping something big."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
