"""A per-minute window shared by every process through Redis (GitHub's 30 searches a minute).

GitHub counts the search limit per account, whatever process spends it; with several
refreshers sharing tokens, each keeping its own count would let them together exceed
it. `RedisWindow` keeps the window's log in Redis, one sorted set per token id (a hash
of the token, never the token), and admits or refuses atomically in one Lua script.

It fails open: while Redis is unreachable, the process falls back to its own local
window (logged once per outage), which still keeps that process under the limit.
"""

from __future__ import annotations

import logging
import uuid

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from gitbrag.github.pacing import MINUTE, LocalWindow

log = logging.getLogger(__name__)

# KEYS[1]: the window's sorted set (member: unique id, score: time in ms).
# ARGV: now_ms, period_ms, limit, member. Returns 0 when admitted, else ms until a slot frees.
_RESERVE = """
local key = KEYS[1]
local now = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - period)
if redis.call('ZCARD', key) < limit then
  redis.call('ZADD', key, now, ARGV[4])
  redis.call('PEXPIRE', key, period)
  return 0
end
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
return math.max(tonumber(oldest[2]) + period - now, 1)
"""


class RedisWindow:
    """`pacing.Window` over Redis: at most `limit` events per `period` per key, across processes.

    Times come from the caller's clock (`now`), so processes on different hosts need
    reasonably synchronised clocks (NTP), as they do for everything else.
    """

    def __init__(
        self, client: aioredis.Redis, limit: int, period: float = MINUTE, *, prefix: str = "gitbrag:pace"
    ) -> None:
        self._redis = client
        self._script = client.register_script(_RESERVE)
        self.limit, self.period, self.prefix = limit, period, prefix
        self._fallback = LocalWindow(limit, period)
        self._down = False

    @classmethod
    def from_url(
        cls, url: str, limit: int, period: float = MINUTE, *, prefix: str = "gitbrag:pace"
    ) -> RedisWindow:
        client = aioredis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
        return cls(client, limit, period, prefix=prefix)

    async def reserve(self, key: str, now: float) -> float:
        try:
            wait_ms = await self._script(
                keys=[f"{self.prefix}:{key}"],
                args=[int(now * 1000), int(self.period * 1000), self.limit, uuid.uuid4().hex],
            )
        except (RedisError, OSError) as exc:
            if not self._down:
                self._down = True
                log.warning(
                    "Redis unreachable: pacing searches in this process only",
                    extra={"error": type(exc).__name__},
                )
            return await self._fallback.reserve(key, now)
        if self._down:
            self._down = False
            log.info("Redis reachable again: pacing searches across processes")
        return int(wait_ms) / 1000

    async def aclose(self) -> None:
        await self._redis.aclose()
