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
import contextlib
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from gitbrag.clock import utcnow
from gitbrag.coordination import starcodec
from gitbrag.coordination.base import Census, ClaimOutcome, ReportMeta, TrackedUser, task_user
from gitbrag.coordination.errors import PassingProblem, StoreError, StoreUnavailable, raises_store_errors
from gitbrag.models import Collection, Login, StarHistory

T = TypeVar("T")
log = logging.getLogger(__name__)

# A stored time this far past "now" was written by a clock that has since been set back.
FUTURE_TOLERANCE_SECONDS = 60.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    login     TEXT PRIMARY KEY,          -- lowercased
    display   TEXT NOT NULL,             -- GitHub's spelling
    added_at  REAL NOT NULL,
    missing   INTEGER NOT NULL DEFAULT 0, -- GitHub says the user does not exist
    source    TEXT                       -- where it came from (base.SOURCES); NULL: unknown
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
CREATE TABLE IF NOT EXISTS marks (
    key   TEXT PRIMARY KEY,              -- what the last complete pass saw (base.Census), and
    value TEXT NOT NULL                  -- 'changes': writes that change the site's index
);
CREATE TABLE IF NOT EXISTS cooldowns (
    login TEXT PRIMARY KEY,                -- lowercased
    until REAL NOT NULL                    -- no forced refresh of this user before then
);
"""


# The `marks` row counting the writes that change what the site's index lists (`Census.changes`).
CHANGES = "changes"
_COUNT_CHANGE = (
    "INSERT INTO marks (key, value) VALUES ('changes', '1') "
    "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
)


def _ts(value: datetime) -> float:
    return value.timestamp()


def _dt(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


# What a local file says when it cannot serve gitbrag *right now*: its disk is full, the disk
# fails, another process holds the lock past the busy timeout. Like a Redis outage, a pass
# fails open on these (it publishes; its bookkeeping catches up once the file takes writes).
TRANSIENT_ERRORS = ("SQLITE_FULL", "SQLITE_IOERR", "SQLITE_BUSY", "SQLITE_LOCKED")
# What a damaged file says: it is moved aside and rebuilt (see `SQLiteStore._rebuild`).
DAMAGED_ERRORS = ("SQLITE_CORRUPT", "SQLITE_NOTADB")
# How long an endpoint that only reads (/healthz, /status, /metrics) waits for a lock.
READ_BUSY_SECONDS = 1.0
WRITE_BUSY_SECONDS = 30.0


# Connections to a state file that was deleted or replaced under this process (see
# `SQLiteStore._check_file`): kept open until the process ends.
_PARKED: list[sqlite3.Connection] = []
# What a store holds while its file cannot be opened: any use is an error.
_CLOSED = sqlite3.connect(":memory:", check_same_thread=False)
_CLOSED.close()


def _code(exc: sqlite3.Error) -> str:
    return str(getattr(exc, "sqlite_errorname", "") or "")


def _store_error(exc: Exception) -> StoreError | None:
    """sqlite3's errors as the store's own (see `gitbrag.coordination.errors`): a full or
    failing disk and a lock held too long are `StoreUnavailable` (callers fail open, as for
    Redis); anything else (a read-only file, a bug) is a `StoreError` and propagates."""
    if not isinstance(exc, sqlite3.Error):
        return None
    if _code(exc).startswith(TRANSIENT_ERRORS + DAMAGED_ERRORS):
        headline = f"the state file GITBRAG_STATE_PATH cannot be used: {exc}; refreshes publish without it"
        return StoreUnavailable(f"SQLite: {exc}", headline=headline, local=True)
    return StoreError(str(exc))


def _migrate(conn: sqlite3.Connection) -> None:
    """Columns added since a state file was created: `users.source` (issue 27). Two processes
    opening an old file at once both try; the second finds the column there."""
    columns = {row[1] for row in conn.execute("PRAGMA table_info(users)")}
    if "source" not in columns:
        try:
            conn.execute("ALTER TABLE users ADD COLUMN source TEXT")
        except sqlite3.OperationalError as exc:
            if "duplicate column" not in str(exc):
                raise


def _connect(path: str, busy_seconds: float) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=busy_seconds, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout={int(busy_seconds * 1000)}")
    return conn


def _inode(path: Path) -> int | None:
    try:
        return path.stat().st_ino
    except OSError:
        return None


@raises_store_errors(_store_error)
class SQLiteStore:
    """`Store` on an SQLite file (see `gitbrag.coordination.base.Store` for the contract).

    Two connections: writes go through one that waits up to 30 s for another process's
    lock (overlapping cron runs take turns); reads go through another that waits at most a
    second, so /healthz, /status and /metrics never queue behind a writer (WAL lets them
    read the last committed state meanwhile). Before each call the path is checked: a
    state file deleted or replaced under a running service is reopened, so it shares
    claims again with the cron runs that use the new file. A damaged file is moved aside
    with one warning and started afresh; passes rebuild it from the site and the settings."""

    kind = "sqlite"

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._memory = str(path) == ":memory:"
        if not self._memory:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()  # the write connection's
        self._read_lock = threading.Lock()  # the read connection's
        self._refusing: str | None = None  # why the last write failed (a full disk), until one commits
        self._opened = False
        try:
            self._open()
        except sqlite3.Error as exc:
            if not _code(exc).startswith(TRANSIENT_ERRORS):  # read-only, not a database: one line, exit 2
                raise StoreError(str(exc)) from exc
            # A full or failing disk, a lock held: not a setting's fault. Each call tries to open
            # it again (and fails open meanwhile), as a Redis that is down at start is waited for.

    # --- plumbing -------------------------------------------------------------

    def _open(self) -> None:
        """Open both connections (one, in memory) and create the schema; until that works,
        both are a closed connection and each call tries again (`_check_file`)."""
        self._conn = self._reader = _CLOSED
        self._opened = False
        conn = _connect(str(self.path), WRITE_BUSY_SECONDS)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(SCHEMA)
            _migrate(conn)
            reader = conn if self._memory else _connect(str(self.path), READ_BUSY_SECONDS)
        except BaseException:
            conn.close()
            raise
        self._conn, self._reader, self._opened = conn, reader, True
        self._opened_inode = None if self._memory else _inode(self.path)

    def _close_connections(self) -> None:
        for conn in {id(self._conn): self._conn, id(self._reader): self._reader}.values():
            with contextlib.suppress(sqlite3.Error):
                conn.close()

    def _check_file(self) -> None:
        """Reopen when the path no longer names the file these connections hold (deleted,
        or replaced by a restore or another process's rebuild). A stat per call: cheap.
        Opens it when it could not be opened yet (its disk full at start)."""
        if not self._opened:
            with self._lock, self._read_lock:
                if not self._opened:
                    self._open()
            return
        if self._memory or _inode(self.path) == self._opened_inode:
            return
        with self._lock, self._read_lock:
            if _inode(self.path) == self._opened_inode:
                return
            log.warning(
                "the state file was deleted or replaced under this process: reopening it",
                extra={"path": str(self.path)},
            )
            # Parked, not closed: the last connection to close checkpoints and deletes the WAL
            # and shared-memory files *by name*, which now belong to the new file's users.
            _PARKED.extend((self._conn, self._reader))
            self._open()

    def _rebuild(self, exc: sqlite3.Error) -> None:
        """A damaged file (a corrupted page): moved aside, once, for whoever wants to look at
        it, and a new one started, which passes fill from the site as they do an emptied one.
        Called with the write lock held."""
        with self._read_lock:
            if self._memory or _inode(self.path) != self._opened_inode:
                return  # someone (this process or another) already moved it
            aside = self.path.with_name(f"{self.path.name}.damaged-{int(time.time())}")
            log.warning(
                "the state file is damaged: moved aside and started afresh; it is rebuilt from the site",
                extra={"path": str(self.path), "moved_to": str(aside), "error": str(exc)},
            )
            self._close_connections()
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.replace(f"{self.path}{suffix}", f"{aside}{suffix}")
            self._open()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE takes the write lock up front, so two processes never
        interleave a read-then-write and a failed step rolls the whole change back."""
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self._conn
                except BaseException:
                    if self._conn.in_transaction:  # SQLite may have rolled back already (disk full)
                        self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")
                self._refusing = None
            except sqlite3.Error as exc:
                if _code(exc).startswith(("SQLITE_FULL", "SQLITE_IOERR")):
                    self._refusing = str(exc)
                if self._conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        self._conn.execute("ROLLBACK")
                if _code(exc).startswith(DAMAGED_ERRORS):
                    self._rebuild(exc)
                raise

    async def _run(self, fn: Callable[[], T]) -> T:
        def checked() -> T:
            self._check_file()
            try:
                return fn()
            except sqlite3.Error as exc:  # each write is one transaction, rolled back: safe to redo
                if not _code(exc).startswith("SQLITE_FULL") or not self._make_room():
                    raise
                return fn()

        return await asyncio.to_thread(checked)

    def _make_room(self) -> bool:
        """On a full disk, the WAL's committed pages are copied into the database file and the
        WAL truncated: the pages an update or a claim's release rewrite already exist there,
        so this usually frees room for that write (a claim released rather than held until its
        lease ends). True when the WAL was emptied."""
        with self._lock:
            try:
                busy, _, _ = self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            except sqlite3.Error:
                return False
        return not busy

    def _query(self, sql: str, args: tuple[object, ...] = ()) -> list[sqlite3.Row]:
        """A read, on the read connection: it never waits for this process's writes."""
        lock = self._lock if self._memory else self._read_lock
        try:
            with lock:
                return self._reader.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            if _code(exc).startswith(DAMAGED_ERRORS):
                with self._lock:
                    self._rebuild(exc)
            raise

    # --- Store ----------------------------------------------------------------

    async def ping(self) -> bool:
        try:
            await self._run(lambda: self._query("SELECT 1"))
        except (sqlite3.Error, StoreError, OSError):
            return False
        return True

    async def write_problem(self) -> str | None:
        """A write rolled back at once: only a write tells a file that can still be read
        (read-only mount, wrong owner) from one that accepts changes. A write that failed
        since the last one that committed (a full disk) says so too: a rolled-back probe
        needs no room, a real change does. The probe waits a second at most for another
        process's lock (then the file is busy, not broken: None)."""

        def probe() -> str | None:
            try:
                self._check_file()
            except sqlite3.Error as exc:  # its disk full at start: heals by itself, passes fail open
                return PassingProblem(f"the state file GITBRAG_STATE_PATH cannot be opened now: {exc}")
            if self._refusing is not None:
                return PassingProblem(f"the state file GITBRAG_STATE_PATH refuses writes: {self._refusing}")
            lock = self._lock if self._memory else self._read_lock
            with lock:
                try:
                    self._reader.execute("BEGIN IMMEDIATE")
                    self._reader.execute("INSERT OR IGNORE INTO cooldowns (login, until) VALUES ('', 0)")
                except sqlite3.Error as exc:
                    if _code(exc).startswith("SQLITE_BUSY"):
                        return None
                    return f"the state file GITBRAG_STATE_PATH does not accept writes: {exc}"
                finally:
                    if self._reader.in_transaction:
                        self._reader.execute("ROLLBACK")
            return None

        return await asyncio.to_thread(probe)

    async def close(self) -> None:
        with self._lock, self._read_lock:
            self._close_connections()

    async def track(
        self, logins: list[Login], now: datetime, periods: tuple[str, ...], source: str | None = None
    ) -> None:
        def work() -> None:
            with self._transaction() as conn:
                added = 0
                for login in logins:
                    conn.execute(
                        "INSERT INTO users (login, display, added_at, source) VALUES (?, ?, ?, ?) "
                        "ON CONFLICT(login) DO UPDATE SET source = COALESCE(users.source, excluded.source)",
                        (login, login.spelling, _ts(now), source),
                    )
                    added += conn.executemany(
                        "INSERT INTO reports (login, period, next_due_at) VALUES (?, ?, ?) "
                        "ON CONFLICT(login, period) DO NOTHING",
                        [(login, period, _ts(now)) for period in periods],
                    ).rowcount
                if added:
                    conn.execute(_COUNT_CHANGE)

        await self._run(work)

    async def tracked(self) -> list[TrackedUser]:
        rows = await self._run(lambda: self._query("SELECT * FROM users ORDER BY login"))
        return [TrackedUser(Login(r["login"]), r["display"], bool(r["missing"]), r["source"]) for r in rows]

    async def tracked_page(self, cursor: str, size: int) -> tuple[str, list[TrackedUser]]:
        """Keyset paging by login: each page is one indexed range read, whatever the offset."""
        sql = "SELECT * FROM users WHERE login > ? ORDER BY login LIMIT ?"
        rows = await self._run(lambda: self._query(sql, (cursor, size)))
        users = [TrackedUser(Login(r["login"]), r["display"], bool(r["missing"]), r["source"]) for r in rows]
        return (users[-1].login if len(users) == size else ""), users

    async def tracked_among(self, logins: list[Login]) -> dict[Login, TrackedUser]:
        names = list(dict.fromkeys(logins))

        def work() -> list[sqlite3.Row]:
            rows: list[sqlite3.Row] = []
            for start in range(0, len(names), 500):  # well under SQLite's limit of bound parameters
                chunk = names[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows += self._query(f"SELECT * FROM users WHERE login IN ({marks})", tuple(chunk))  # noqa: S608
            return rows

        rows = await self._run(work) if names else []
        return {
            Login(r["login"]): TrackedUser(Login(r["login"]), r["display"], bool(r["missing"]), r["source"])
            for r in rows
        }

    async def census(self) -> Census:
        """Two counts (SQLite counts over the smallest index's b-tree, no row is decoded) and
        the marks: milliseconds at 100,000 users."""

        def work() -> Census:
            (counts,) = self._query("SELECT (SELECT COUNT(*) FROM users), (SELECT COUNT(*) FROM reports)")
            marks = {r["key"]: r["value"] for r in self._query("SELECT key, value FROM marks")}
            changes = int(marks.pop(CHANGES, "0") or 0)
            return Census(int(counts[0]), int(counts[1]), changes, marks)

        return await self._run(work)

    async def save_marks(self, marks: dict[str, str]) -> None:
        rows = [(k, v) for k, v in marks.items() if k != CHANGES]

        def work() -> None:
            with self._transaction() as conn:
                conn.executemany(
                    "INSERT INTO marks (key, value) VALUES (?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    rows,
                )

        if rows:
            await self._run(work)

    async def due(self, now: datetime, limit: int | None = None) -> list[ReportMeta]:
        sql = "SELECT * FROM reports WHERE next_due_at <= ? ORDER BY next_due_at, login, period"
        args: tuple[object, ...] = (_ts(now),)
        if limit is not None:
            sql += " LIMIT ?"
            args += (limit,)

        def work() -> list[sqlite3.Row]:
            future = "SELECT 1 FROM reports WHERE last_attempt_at > ? LIMIT 1"
            if not self._query(future, (_ts(now) + FUTURE_TOLERANCE_SECONDS,)):
                return self._query(sql, args)  # the usual case: a read, no write lock (/metrics)
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
                conn.execute(_COUNT_CHANGE)

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

    # --- one-time keys ------------------------------------------------------------

    async def remember_once(self, key: str, ttl: float, now: float) -> bool:
        """A row of `once_keys` (created here on first use): in one BEGIN IMMEDIATE
        transaction, forget the expired keys, then INSERT OR IGNORE; a row inserted means
        the caller is the first. Processes sharing the file see one another's keys.

        Unlike cooldowns, an expiry set while the clock was ahead is not clamped: a key
        kept too long costs a row, one forgotten too early would let a replay through."""

        def work() -> bool:
            with self._transaction() as conn:
                for statement in ONCE_SCHEMA:
                    conn.execute(statement)
                conn.execute("DELETE FROM once_keys WHERE expires_at <= ?", (now,))
                cur = conn.execute(
                    "INSERT OR IGNORE INTO once_keys (key, expires_at) VALUES (?, ?)", (key, now + ttl)
                )
                return cur.rowcount == 1

        return await self._run(work)

    # --- forgetting a user -------------------------------------------------------

    async def untrack(self, login: Login) -> None:
        def work() -> None:
            with self._transaction() as conn:
                for table in ("users", "reports", "collections", "cooldowns"):
                    conn.execute(f"DELETE FROM {table} WHERE login = ?", (login,))  # noqa: S608
                conn.execute(_COUNT_CHANGE)

        await self._run(work)


# `remember_once`'s table, created by its first call (inside its transaction).
ONCE_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS once_keys ("
    " key TEXT PRIMARY KEY,"  # e.g. hook:delivery:<id>
    " expires_at REAL NOT NULL)",  # forgotten at this time (the caller's clock)
    "CREATE INDEX IF NOT EXISTS once_keys_by_expiry ON once_keys (expires_at)",
)
