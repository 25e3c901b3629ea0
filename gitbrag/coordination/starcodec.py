"""Star histories in the store: one compact record per repository, shared by every user.

A history is a list of star times, newest first; a 150,000-star repository keeps tens of
thousands of them for a five-year window. Stored as JSON they would be ~30 bytes each;
here they are whole epoch seconds as gaps from the previous (newer) star, which are
small numbers, zlib-compressed: a few bytes each. The page checkpoints (a cursor per
100 stars) and the state of an unfinished re-read ride along. Both backends store these bytes
(Redis as base64 text, since the store's connection decodes responses).

Decoding a giant's record makes ~100,000 datetimes, most of an unchanged refresh's CPU, and
every refresh near the giant loads it. So a record whose decoded history some refresh still
holds is not decoded again: `decode` hands out that same history (histories are never
changed in place, only copied). The memo holds histories weakly, so it keeps nothing alive
that no refresh holds, and a changed record (other bytes) is decoded afresh. A repository
decoded a second time in a process is one that many refreshes need (a giant most users'
reports count): those are also held strongly, up to `RETAINED_STARS` star times (~55 MB),
and past the bound the one needed least often so far is let go. A pass visits its users in
turn, so letting go the least recently used would let go each giant just before the next
user needs it; by need, the giants (needed by most users) stay and are decoded about once a
pass. A user alone in a process (`--user maintainer-max`) decodes each of their histories
once and retains nothing.
"""

from __future__ import annotations

import base64
import itertools
import json
import operator
import weakref
import zlib
from collections import Counter
from datetime import UTC, datetime, timedelta

from gitbrag.models import Reconciliation, StarCheckpoint, StarCount, StarHistory


def encode(history: StarHistory) -> bytes:
    times = [int(t.timestamp()) for t in history.starred_at]
    gaps = (
        [times[0], *(newer - older for newer, older in zip(times, times[1:], strict=False))] if times else []
    )
    doc = {
        "repo": history.repo,
        "since": int(history.since.timestamp()),
        "count": history.stargazer_count,
        "gaps": gaps,
        "cp": [[int(c.at.timestamp()), c.cursor] for c in history.checkpoints],
        "u": history.unlocated,
        "rc": history.reconcile.model_dump(mode="json") if history.reconcile else None,
    }
    if history.resume_cursor is not None:  # a walk the point budget stopped (`github.points`)
        doc["rs"] = history.resume_cursor
    if history.since.microsecond:  # a counted history starts at the moment it was counted
        doc["sus"] = history.since.microsecond
    if history.counted:  # window boundaries counted, not walked (`github.starprobe`)
        doc["ct"] = [[_microseconds(c.at), c.stars, int(c.dense)] for c in history.counted]
    return zlib.compress(json.dumps(doc, separators=(",", ":")).encode(), 6)


def _microseconds(moment: datetime) -> int:
    return (moment - _EPOCH) // _MICROSECOND


def _moment(microseconds: int) -> datetime:
    return _EPOCH + microseconds * _MICROSECOND


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
RETAINED_STARS = 1_000_000  # star times held strongly: the giants' five-year histories and more
_held: weakref.WeakValueDictionary[bytes, StarHistory] = weakref.WeakValueDictionary()
_retained: dict[str, StarHistory] = {}  # by repository
_needed: Counter[str] = Counter()  # by repository: how often `decode` was asked for it


def decode(data: bytes) -> StarHistory:
    history = _held.get(data)
    if history is None:
        history = _held[data] = _decoded(data)
        _needed[history.repo] += 1
        _retain(history)
    else:
        _needed[history.repo] += 1
    return history


def _retain(history: StarHistory) -> None:
    if _needed[history.repo] < 2:
        return
    _retained[history.repo] = history
    held = sum(len(h.starred_at) for h in _retained.values())
    while held > RETAINED_STARS:
        least = min(_retained, key=_needed.__getitem__)  # ties: the first retained
        held -= len(_retained.pop(least).starred_at)


def _decoded(data: bytes) -> StarHistory:
    doc = json.loads(zlib.decompress(data))
    at = datetime.fromtimestamp
    times = [at(t, UTC) for t in itertools.accumulate(doc["gaps"], operator.sub)]
    return StarHistory(
        repo=doc["repo"],
        since=datetime.fromtimestamp(doc["since"], UTC).replace(microsecond=doc.get("sus", 0)),
        starred_at=times,
        stargazer_count=doc["count"],
        # Records written before checkpoints existed have none: they are walked again on unstars.
        checkpoints=[
            StarCheckpoint(at=datetime.fromtimestamp(at, UTC), cursor=c) for at, c in doc.get("cp", [])
        ],
        unlocated=doc.get("u", 0),
        reconcile=Reconciliation.model_validate(doc["rc"]) if doc.get("rc") else None,
        resume_cursor=doc.get("rs"),
        counted=[StarCount(at=_moment(at), stars=n, dense=bool(d)) for at, n, d in doc.get("ct", [])],
    )


def to_text(data: bytes) -> str:
    return base64.b64encode(data).decode()


def from_text(text: str) -> bytes:
    return base64.b64decode(text)
