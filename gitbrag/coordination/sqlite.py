"""The embedded store: one SQLite file, safe between processes on one host.

SQLite runs in WAL mode (readers never block the writer, and a crash mid-write
leaves the last committed state) with a busy timeout so overlapping cron runs wait
for each other instead of failing. Every multi-step change is one transaction.
Calls run in a worker thread so the event loop never blocks on the file lock.

Claims are rows of `tasks` with an `expires_at` compared with the caller's clock;
a claim is one BEGIN IMMEDIATE transaction (prune the user's expired rows, check
the task and the user's count, insert), so processes on one host sharing the file
get the same guarantees as Redis gives across hosts. Force-refresh cooldowns are rows
of `cooldowns`, checked and set in one such transaction too.

The clock is the host's wall clock (processes share the file, so no process's monotonic
clock would do), and wall clocks jump. A time stored while the clock was ahead would,
once it is set back, hold a claim or a cooldown far longer than its setting, or keep a
report from being due: so a lease or cooldown ending further ahead than its length is
clamped to its length from now, and a report last attempted in the future (by more
than `FUTURE_TOLERANCE_SECONDS`) is due at once.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from gitbrag.clock import utcnow
from gitbrag.coordination import starcodec
from gitbrag.coordination.base import ClaimOutcome, ReportMeta, TrackedUser, task_user
from gitbrag.coordination.errors import StoreError, raises_store_errors
from gitbrag.models import Collection, Login, StarHistory

T = TypeVar("T")

# A stored time this far past "now" was written by a clock that has since been set back.
FUTURE_TOLERANCE_SECONDS = 60.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    login     TEXT PRIMARY KEY,          -- lowercased
    display   TEXT NOT NULL,             -- GitHub's spelling
    added_at  REAL NOT NULL,
    missing   INTEGER NOT NULL DEFAULT 0 -- GitHub says the user does not exist
);
CREATE TABLE IF NOT EXISTS reports (
    login           TEXT NOT NULL,
    period          TEXT NOT NULL,
    next_due_at     REAL NOT NULL,
    generated_at    REAL,
    last_attempt_at REAL,
    last_error      TEXT,
    failures        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (login, period)
);
CREATE INDEX IF NOT EXISTS reports_by_due ON reports (next_due_at);
CREATE INDEX IF NOT EXISTS reports_by_attempt ON reports (last_attempt_at);
CREATE TABLE IF NOT EXISTS collections (
    login        TEXT PRIMARY KEY,
    collected_at REAL NOT NULL,
    data         TEXT NOT NULL            -- Collection as JSON
);
CREATE TABLE IF NOT EXISTS star_histories (
    repo TEXT PRIMARY KEY,               -- nameWithOwner, lowercased
    data BLOB NOT NULL                   -- store.starcodec: compressed star times
);
CREATE TABLE IF NOT EXISTS tasks (
    task_id     TEXT PRIMARY KEY,         -- {username}:{period}:{params_hash}, username lowercased
    username    TEXT NOT NULL,            -- the reported user, for the per-user limit
    claim_token TEXT NOT NULL,            -- fencing: only the holder may renew or release
    metadata    TEXT NOT NULL,            -- JSON: started_at, username, worker_id, claim_token
    expires_at  REAL NOT NULL             -- a crashed worker's claim lapses at this time
);
CREATE INDEX IF NOT EXISTS tasks_by_user ON tasks (username, expires_at);
CREATE INDEX IF NOT EXISTS tasks_by_expiry ON tasks (expires_at);
CREATE TABLE IF NOT EXISTS cooldowns (
    login TEXT PRIMARY KEY,                -- lowercased
    until REAL NOT NULL                    -- no forced refresh of this user before then
);
"""


def _ts(value: datetime) -> float:
    return value.timestamp()


def _dt(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def _store_error(exc: Exception) -> StoreError | None:
    """sqlite3's errors as the store's own (see `gitbrag.coordination.errors`). A local file
    is not "unavailable" the way a network server is: its errors are real and propagate."""
    return StoreError(str(exc)) if isinstance(exc, sqlite3.Error) else None


@raises_store_errors(_store_error)
class SQLiteStore:
    """`Store` on an SQLite file (see `gitbrag.coordination.base.Store` for the contract)."""

    kind = "sqlite"

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        try:
            self._conn = sqlite3.connect(str(path), timeout=30, isolation_level=None, check_same_thread=False)
            self._conn.row_factory = sqlite3.Row
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            self._conn.execute("PRAGMA busy_timeout=30000")
            self._conn.executescript(SCHEMA)
        except sqlite3.Error as exc:  # a read-only or unusable file: the caller says so in one line
            raise StoreError(str(exc)) from exc

    # --- plumbing -------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE takes the write lock up front, so two processes never
        interleave a read-then-write and a failed step rolls the whole change back."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    async def _run(self, fn: Callable[[], T]) -> T:
        return await asyncio.to_thread(fn)

    def _query(self, sql: str, args: tuple[object, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, args).fetchall()

    # --- Store ----------------------------------------------------------------

    async def ping(self) -> bool:
        try:
            await self._run(lambda: self._query("SELECT 1"))
        except sqlite3.Error:
            return False
        return True

    async def write_problem(self) -> str | None:
        """A write rolled back at once: only a write tells a file that can still be read
        (read-only mount, wrong owner) from one that accepts changes."""

        def probe() -> str | None:
            with self._lock:
                try:
                    self._conn.execute("BEGIN IMMEDIATE")
                    self._conn.execute("INSERT OR IGNORE INTO cooldowns (login, until) VALUES ('', 0)")
                except sqlite3.Error as exc:
                    return f"the state file GITBRAG_STATE_PATH does not accept writes: {exc}"
                finally:
                    if self._conn.in_transaction:
                        self._conn.execute("ROLLBACK")
            return None

        return await self._run(probe)

    async def close(self) -> None:
        with self._lock:
            self._conn.close()

    async def track(self, logins: list[Login], now: datetime, periods: tuple[str, ...]) -> None:
        def work() -> None:
            with self._transaction() as conn:
                for login in logins:
                    conn.execute(
                        "INSERT INTO users (login, display, added_at) VALUES (?, ?, ?) "
                        "ON CONFLICT(login) DO NOTHING",
                        (login, login.spelling, _ts(now)),
                    )
                    conn.executemany(
                        "INSERT INTO reports (login, period, next_due_at) VALUES (?, ?, ?) "
                        "ON CONFLICT(login, period) DO NOTHING",
                        [(login, period, _ts(now)) for period in periods],
                    )

        await self._run(work)

    async def tracked(self) -> list[TrackedUser]:
        rows = await self._run(lambda: self._query("SELECT * FROM users ORDER BY login"))
        return [TrackedUser(Login(r["login"]), r["display"], bool(r["missing"])) for r in rows]

    async def due(self, now: datetime, limit: int | None = None) -> list[ReportMeta]:
        sql = "SELECT * FROM reports WHERE next_due_at <= ? ORDER BY next_due_at, login, period"
        args: tuple[object, ...] = (_ts(now),)
        if limit is not None:
            sql += " LIMIT ?"
            args += (limit,)

        def work() -> list[sqlite3.Row]:
            with self._transaction() as conn:
                # Attempted "in the future": the clock was set back since. Due now (the page may
                # carry a future date), and no longer in the future (the refresher agrees).
                conn.execute(
                    "UPDATE reports SET next_due_at = ?, last_attempt_at = ? WHERE last_attempt_at > ?",
                    (_ts(now), _ts(now), _ts(now) + FUTURE_TOLERANCE_SECONDS),
                )
                return conn.execute(sql, args).fetchall()

        return [self._meta(r) for r in await self._run(work)]

    async def report_meta(self, login: Login) -> dict[str, ReportMeta]:
        rows = await self._run(lambda: self._query("SELECT * FROM reports WHERE login = ?", (login,)))
        return {r["period"]: self._meta(r) for r in rows}

    async def mark_generated(
        self, login: Login, periods: list[str], generated_at: datetime, next_due_at: datetime
    ) -> None:
        def work() -> None:
            with self._transaction() as conn:
                conn.executemany(
                    "INSERT INTO reports (login, period, next_due_at, generated_at, last_attempt_at) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT(login, period) DO UPDATE SET "
                    "next_due_at = excluded.next_due_at, generated_at = excluded.generated_at, "
                    "last_attempt_at = excluded.last_attempt_at, last_error = NULL, failures = 0",
                    [(login, p, _ts(next_due_at), _ts(generated_at), _ts(generated_at)) for p in periods],
                )

        await self._run(work)

    async def mark_failed(
        self, login: Login, periods: list[str], at: datetime, error: str, next_due_at: datetime
    ) -> int:
        def work() -> int:
            with self._transaction() as conn:
                conn.executemany(
                    "INSERT INTO reports (login, period, next_due_at, last_attempt_at, last_error, failures) "
                    "VALUES (?, ?, ?, ?, ?, 1) ON CONFLICT(login, period) DO UPDATE SET "
                    "next_due_at = excluded.next_due_at, last_attempt_at = excluded.last_attempt_at, "
                    "last_error = excluded.last_error, failures = reports.failures + 1",
                    [(login, p, _ts(next_due_at), _ts(at), error) for p in periods],
                )
                row = conn.execute("SELECT MAX(failures) FROM reports WHERE login = ?", (login,)).fetchone()
                return int(row[0] or 0)

        return await self._run(work)

    async def mark_missing(self, login: Login, missing: bool) -> None:
        def work() -> None:
            with self._transaction() as conn:
                conn.execute("UPDATE users SET missing = ? WHERE login = ?", (int(missing), login))

        await self._run(work)

    async def load_collection(self, login: Login) -> Collection | None:
        rows = await self._run(lambda: self._query("SELECT data FROM collections WHERE login = ?", (login,)))
        return Collection.model_validate_json(rows[0]["data"]) if rows else None

    async def load_star_histories(self, repos: list[str]) -> dict[str, StarHistory]:
        if not repos:
            return {}
        wanted = {r.lower(): r for r in repos}
        marks = ",".join("?" * len(wanted))
        sql = f"SELECT repo, data FROM star_histories WHERE repo IN ({marks})"
        rows = await self._run(lambda: self._query(sql, tuple(wanted)))
        return {wanted[row["repo"]]: starcodec.decode(row["data"]) for row in rows}

    async def save_star_histories(self, histories: list[StarHistory]) -> None:
        rows = [(h.repo.lower(), starcodec.encode(h)) for h in histories]

        def work() -> None:
            with self._transaction() as conn:
                conn.executemany(
                    "INSERT INTO star_histories (repo, data) VALUES (?, ?) "
                    "ON CONFLICT(repo) DO UPDATE SET data = excluded.data",
                    rows,
                )

        if rows:
            await self._run(work)

    async def save_collection(self, collection: Collection) -> None:
        data = collection.model_dump_json()
        login = Login(collection.login)  # GitHub's spelling, which the user's display name becomes

        def work() -> None:
            with self._transaction() as conn:
                conn.execute(
                    "INSERT INTO collections (login, collected_at, data) VALUES (?, ?, ?) "
                    "ON CONFLICT(login) DO UPDATE SET collected_at = excluded.collected_at, "
                    "data = excluded.data",
                    (login, _ts(collection.collected_at), data),
                )
                conn.execute(
                    "UPDATE users SET display = ?, missing = 0 WHERE login = ?", (login.spelling, login)
                )

        await self._run(work)

    # --- claims -----------------------------------------------------------------

    async def claim_task(
        self, task_id: str, token: str, metadata: dict[str, Any], ttl: float, limit: int, now: float
    ) -> ClaimOutcome:
        user = task_user(task_id)
        doc = json.dumps({**metadata, "claim_token": token})

        def work() -> ClaimOutcome:
            with self._transaction() as conn:
                # Leases from before the clock was set back last no longer than `ttl` from now.
                conn.execute("UPDATE tasks SET expires_at = ? WHERE expires_at > ?", (now + ttl, now + ttl))
                # Lapsed claims (crashed workers) stop counting; the index keeps this O(log n + k).
                conn.execute("DELETE FROM tasks WHERE expires_at <= ?", (now,))
                if conn.execute("SELECT 1 FROM tasks WHERE task_id = ?", (task_id,)).fetchone():
                    return ClaimOutcome.ACTIVE
                (held,) = conn.execute("SELECT COUNT(*) FROM tasks WHERE username = ?", (user,)).fetchone()
                if held >= limit:
                    return ClaimOutcome.LIMITED
                conn.execute(
                    "INSERT INTO tasks (task_id, username, claim_token, metadata, expires_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (task_id, user, token, doc, now + ttl),
                )
                return ClaimOutcome.STARTED

        return await self._run(work)

    async def release_task(self, task_id: str, token: str, now: float) -> bool:
        def work() -> bool:
            with self._transaction() as conn:
                cur = conn.execute(
                    "DELETE FROM tasks WHERE task_id = ? AND claim_token = ? AND expires_at > ?",
                    (task_id, token, now),
                )
                return cur.rowcount > 0

        return await self._run(work)

    async def renew_claim(self, task_id: str, token: str, ttl: float, now: float) -> bool:
        def work() -> bool:
            with self._transaction() as conn:
                cur = conn.execute(
                    "UPDATE tasks SET expires_at = ? "
                    "WHERE task_id = ? AND claim_token = ? AND expires_at > ?",
                    (now + ttl, task_id, token, now),
                )
                return cur.rowcount > 0

        return await self._run(work)

    async def task_metadata(self, task_id: str, now: float) -> dict[str, Any] | None:
        rows = await self._run(
            lambda: self._query(
                "SELECT metadata FROM tasks WHERE task_id = ? AND expires_at > ?", (task_id, now)
            )
        )
        return dict(json.loads(rows[0]["metadata"])) if rows else None

    async def active_tasks(self, username: Login, now: float) -> list[str]:
        rows = await self._run(
            lambda: self._query(
                "SELECT task_id FROM tasks WHERE username = ? AND expires_at > ? ORDER BY task_id",
                (username, now),
            )
        )
        return [r["task_id"] for r in rows]

    # --- force-refresh cooldown --------------------------------------------------

    async def try_cooldown(self, login: Login, seconds: float, now: float) -> float | None:
        def work() -> float | None:
            with self._transaction() as conn:
                row = conn.execute("SELECT until FROM cooldowns WHERE login = ?", (login,)).fetchone()
                until = 0.0 if row is None else float(row["until"])
                if until > now + seconds:  # set while the clock was ahead: its full length from now
                    until = now + seconds
                    conn.execute("UPDATE cooldowns SET until = ? WHERE login = ?", (until, login))
                if until > now:
                    return until - now
                conn.execute(
                    "INSERT INTO cooldowns (login, until) VALUES (?, ?) "
                    "ON CONFLICT(login) DO UPDATE SET until = excluded.until",
                    (login, now + seconds),
                )
                return None

        return await self._run(work)

    @staticmethod
    def _meta(row: sqlite3.Row) -> ReportMeta:
        return ReportMeta(
            login=Login(row["login"]),
            period=row["period"],
            next_due_at=_dt(row["next_due_at"]) or utcnow(),
            generated_at=_dt(row["generated_at"]),
            last_attempt_at=_dt(row["last_attempt_at"]),
            last_error=row["last_error"],
            failures=row["failures"],
        )

    async def untrack(self, login: Login) -> None:
        def work() -> None:
            with self._transaction() as conn:
                for table in ("users", "reports", "collections", "cooldowns"):
                    conn.execute(f"DELETE FROM {table} WHERE login = ?", (login,))  # noqa: S608

        await self._run(work)
