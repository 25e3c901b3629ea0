"""`gitbrag-refresh` without `--once`: the long-running refresher.

An APScheduler job runs a pass every `GITBRAG_SCAN_INTERVAL_SECONDS` (with jitter so
replicas drift apart); a pass never overlaps the previous one (`max_instances=1`,
`coalesce`). The refresh hook (`gitbrag.doors.hook`) is served in the same event loop.
SIGTERM/SIGINT stop both promptly: the hook stops accepting, no new pass starts and no
new claim is taken, generations that are working finish, and those waiting on GitHub (a
spent rate limit, a retry backoff) are interrupted at once (`gitbrag.doors.shutdown`): their
claims are released and nothing is recorded against them, so the next run takes them
straight up. Exit 0.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from gitbrag.clock import utcnow
from gitbrag.doors.hook import start_hook
from gitbrag.doors.runtime import demo_github, open_refresher
from gitbrag.doors.shutdown import Shutdown, ShuttingDown
from gitbrag.refresh import Refresher
from gitbrag.settings import Settings

log = logging.getLogger(__name__)


async def serve(refresher: Refresher, settings: Settings, users: list[str], shutdown: Shutdown) -> None:
    """Run passes on a schedule until `shutdown` is requested (SIGTERM/SIGINT)."""
    running: set[asyncio.Task[object]] = set()
    pending = list(users)

    async def scan() -> None:
        if shutdown.requested:
            return
        task = asyncio.current_task()
        if task:
            running.add(task)
        try:
            # --user names are refreshed at the first scan; later scans only track them.
            result = await refresher.run_pass(track=settings.users + users, refresh=pending)
            pending.clear()
            log.info("scan finished", extra={"summary": result.summary()})
        except Exception:  # a scan must never take the service down; the next one retries
            log.exception("scan failed")
        finally:
            if task:
                running.discard(task)

    scheduler = AsyncIOScheduler(timezone=UTC)
    scheduler.add_job(
        scan,
        "interval",
        seconds=settings.scan_interval_seconds,
        jitter=max(1, settings.scan_interval_seconds // 10),
        next_run_time=utcnow(),
        max_instances=1,
        coalesce=True,
        id="scan",
    )
    hook = await start_hook(refresher, settings)  # same loop: it claims through `refresher`
    scheduler.start()
    log.info("service started", extra={"scan_interval_s": settings.scan_interval_seconds})
    await shutdown.wait()
    log.info("stopping: no new passes or claims; waits on GitHub interrupted")
    if hook is not None:
        await hook.stop()  # no new requests; answers in flight finish
    scheduler.pause()  # no new scans; shutting down first would cancel the running one
    if running:
        await asyncio.gather(*running, return_exceptions=True)
    await refresher.drain()
    scheduler.shutdown(wait=False)
    log.info("service stopped")


def run_service(settings: Settings, *, users: list[str], demo: bool) -> int:
    async def main(s: Settings, u: list[str]) -> None:
        shutdown = Shutdown.on_signals()  # before the preflight: a stop during it is a stop too
        try:
            async with open_refresher(s, shutdown=shutdown, demo=demo) as refresher:
                await serve(refresher, s, u, shutdown)
        except ShuttingDown:  # stopped during the preflight: nothing was started
            log.info("service stopped before it started")

    if demo:
        with demo_github(settings) as (demo_settings, demo_users):
            asyncio.run(main(demo_settings, users + demo_users))
    else:
        asyncio.run(main(settings, users))
    return 0
