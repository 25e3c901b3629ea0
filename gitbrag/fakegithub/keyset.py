"""Stargazer pages with keyset cursors, as GitHub pages them.

GitHub's stargazer cursors are not positions: each one is the key of the edge it was
read from (base64 of `cursor:v2:` and the star's time and stargazer), and `after:` means
"the stars past that key in this order". So a cursor a client kept from an earlier walk
still points at the same place after stars were added or removed elsewhere in the list
(an offset cursor would silently shift by the number of unstars above it), and it still
works when the star it came from has itself been removed. Clients that walk a history
once and later re-read parts of it from kept cursors depend on exactly that.

The key of a star is (epoch seconds, tie-break): a `CompactStars` history is ordered by
(time, serial), a plain list is sorted here by (time, stargazer id).
"""

from __future__ import annotations

import base64
import binascii
import bisect
import json
from collections.abc import Callable, Sequence
from typing import Any

from gitbrag.fakegithub.records import CompactStars, FakeStar
from gitbrag.fakegithub.rest import account_id

Key = tuple[int, int]
Json = dict[str, Any]
_PREFIX = "cursor:v2:"


class InvalidCursor(ValueError):
    """Not a stargazer cursor (the resolver answers it with GitHub's INVALID_CURSOR_ARGUMENTS)."""


def encode(key: Key) -> str:
    return base64.b64encode((_PREFIX + json.dumps(list(key), separators=(",", ":"))).encode()).decode()


def decode(cursor: str) -> Key:
    try:
        text = base64.b64decode(cursor, validate=True).decode()
        if not text.startswith(_PREFIX):
            raise InvalidCursor(cursor)
        at, tie = json.loads(text[len(_PREFIX) :])
        return int(at), int(tie)
    except (binascii.Error, UnicodeDecodeError, ValueError, TypeError) as exc:
        raise InvalidCursor(cursor) from exc


class StarOrder:
    """A repository's stars oldest first with their keys, looked up by bisection."""

    def __init__(self, stars: Sequence[FakeStar]) -> None:
        if isinstance(stars, CompactStars):
            self.stars: Sequence[FakeStar] = stars
            serials = stars.serials
            times = stars.times
            self._key: Callable[[int], Key] = lambda i: (times[i], i if serials is None else serials[i])
        else:
            keyed = sorted((int(s.starred_at.timestamp()), account_id(s.login), s) for s in stars)
            self.stars = [s for _, _, s in keyed]
            keys = [(t, tie) for t, tie, _ in keyed]
            self._key = keys.__getitem__

    def __len__(self) -> int:
        return len(self.stars)

    def key(self, i: int) -> Key:
        return self._key(i)

    def first_above(self, key: Key) -> int:
        """Index of the first star whose key is greater than `key`."""
        return bisect.bisect_right(range(len(self)), key, key=self._key)

    def first_at_or_above(self, key: Key) -> int:
        return bisect.bisect_left(range(len(self)), key, key=self._key)


def page(order: StarOrder, newest_first: bool, args: Json) -> tuple[list[int], bool, bool]:
    """The indices (oldest-first list positions) of one page in the requested order, and
    (hasNextPage, hasPreviousPage), for Relay's `after`/`before`/`first`/`last`."""
    lo, hi = 0, len(order)  # the window of oldest-first positions the cursors leave
    # `after` in newest-first order is "older than the key", `before` "newer"; and the reverse.
    for name, older in (("after", newest_first), ("before", not newest_first)):
        if args.get(name) is not None:
            key = decode(args[name])
            if older:
                hi = min(hi, order.first_at_or_above(key))
            else:
                lo = max(lo, order.first_above(key))
    positions = list(range(hi - 1, lo - 1, -1)) if newest_first else list(range(lo, hi))
    start, end = 0, len(positions)
    first, last = args.get("first"), args.get("last")
    if first is not None:
        end = min(end, first)
    if last is not None:
        start = max(start, end - last)
    # GitHub's pageInfo: more in the window beyond the page (forward), or before it (backward).
    window_before = start > 0 or (hi < len(order) if newest_first else lo > 0)
    return positions[start:end], end < len(positions), window_before
