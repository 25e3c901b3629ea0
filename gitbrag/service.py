"""`gitbrag-refresh` without `--once`: the long-running refresher.

An APScheduler job runs a pass every `GITBRAG_SCAN_INTERVAL_SECONDS` (with jitter so
replicas drift apart); a pass never overlaps the previous one (`max_instances=1`,
`coalesce`). The refresh hook (`gitbrag.hook`) is served in the same event loop.
SIGTERM/SIGINT stop both gracefully: the hook stops accepting, no new pass starts, the
running one and the generations the hook started finish, exit 0.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from gitbrag.hook import start_hook
from gitbrag.refresh import Refresher
from gitbrag.runtime import demo_github, open_refresher
from gitbrag.settings import Settings

log = logging.getLogger(__name__)


async def serve(refresher: Refresher, settings: Settings, users: list[str]) -> None:
    """Run passes on a schedule until SIGTERM/SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    running: set[asyncio.Task[object]] = set()
    pending = list(users)

    async def scan() -> None:
        if stop.is_set():
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
        next_run_time=datetime.now(UTC),
        max_instances=1,
        coalesce=True,
        id="scan",
    )
    hook = await start_hook(refresher, settings)  # same loop: it claims through `refresher`
    scheduler.start()
    log.info("service started", extra={"scan_interval_s": settings.scan_interval_seconds})
    await stop.wait()
    log.info("stopping: no new passes; waiting for the running one")
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
        async with open_refresher(s) as refresher:
            await serve(refresher, s, u)

    if demo:
        with demo_github(settings) as (demo_settings, demo_users):
            asyncio.run(main(demo_settings, users + demo_users))
    else:
        asyncio.run(main(settings, users))
    return 0
