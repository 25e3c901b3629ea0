"""Filesystem failures injected where the machine cannot make them for real.

The hostile-host tests want a full disk (a small tmpfs, mounted as root) and a read-only
folder (as root, a read-only bind mount in a mount namespace of its own). Without those rights
they do not skip: they run against the failures injected here, which say what the real ones
say (SQLite's own SQLITE_FULL, the kernel's EROFS), so the code under test takes the same path.

A child process (`gitbrag-refresh`, `gitbrag`) gets them through `child_env`: its Python loads
`tests/injected/sitecustomize.py`, which calls `install_from_env`.

- A full disk (`FullDisk`): while its filler file exists, the SQLite files in its folder
  fail as they do on a real full disk (see the class); unlinking the filler frees the space.
- A read-only folder (`read_only`): creating, writing, renaming or removing anything inside
  it raises OSError(EROFS), and SQLite opens files there read-only.
"""

from __future__ import annotations

import builtins
import errno
import io
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SITE_DIR = Path(__file__).resolve().parent / "injected"  # holds sitecustomize.py
FULL_DISK_ENV = "TESTS_INJECTED_FULL_DISK"
READ_ONLY_ENV = "TESTS_INJECTED_READ_ONLY"


def _inside(path: object, folder: Path) -> bool:
    if isinstance(path, int) or path is None:
        return False
    try:
        target = Path(os.fsdecode(path))  # type: ignore[arg-type]
    except TypeError:
        return False
    text = str(target)
    if text.startswith("file:"):
        text = text[5:].split("?", 1)[0]
    return Path(os.path.abspath(text)).is_relative_to(folder)


def _error(message: str, code: int, name: str) -> sqlite3.OperationalError:
    """The error SQLite itself raises, with the codes the store reads."""
    error = sqlite3.OperationalError(message)
    error.sqlite_errorcode, error.sqlite_errorname = code, name
    return error


def _bytes(row: object) -> int:
    """The bytes of the values in one row of parameters."""
    values = row.values() if isinstance(row, dict) else row if isinstance(row, (tuple, list)) else ()
    return sum(len(v) if isinstance(v, (bytes, str)) else 8 for v in values)


class FullDisk:
    """A folder whose SQLite files find no room while `folder / "filler"` exists, as a real
    full disk under a WAL-mode file behaves:

    - a connection opened then, whose shared-memory file would have to be created, fails every
      statement with SQLITE_IOERR_SHMSIZE ("disk I/O error");
    - a commit that wrote fails with SQLITE_FULL ("database or disk is full") unless there is
      room for WAL frames holding the values it wrote, and uses up what its WAL grew by;
    - a checkpoint that truncates the WAL frees the WAL's bytes, less what the database file
      grows by to take its pages (failing with SQLITE_FULL when that does not fit)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(os.path.abspath(folder))
        self.filler = self.folder / "filler"
        self.room = 0  # bytes freed since the disk filled

    def fill(self) -> Path:
        self.filler.write_bytes(b"\0")
        self.room = 0
        return self.filler

    @staticmethod
    def _size(path: str) -> int:
        try:
            return os.stat(path).st_size
        except FileNotFoundError:
            return 0

    def connection_class(self, database: str) -> type[sqlite3.Connection]:
        disk, wal = self, database + "-wal"
        unopenable = self.filler.exists() and not os.path.exists(database + "-shm")

        class OnFullDisk(sqlite3.Connection):
            """Its statements go through the disk's accounting while the disk is full."""

            changes_at_begin = 0
            written = 0  # bytes of values written since BEGIN: the least its WAL frames hold

            def _check_open(self) -> None:
                if unopenable:
                    raise _error("disk I/O error", 4874, "SQLITE_IOERR_SHMSIZE")

            def executescript(self, script: str) -> sqlite3.Cursor:
                self._check_open()
                return super().executescript(script)

            def executemany(self, sql: str, rows: Any) -> sqlite3.Cursor:
                self._check_open()
                rows = list(rows)
                self.written += sum(_bytes(row) for row in rows)
                return super().executemany(sql, rows)

            def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
                self._check_open()
                statement = sql.strip().upper()
                if statement.startswith("BEGIN"):
                    self.changes_at_begin, self.written = self.total_changes, 0
                self.written += sum(_bytes(row) for row in args[:1])
                if not disk.filler.exists():
                    return super().execute(sql, *args)
                if statement.startswith("COMMIT") and self.total_changes != self.changes_at_begin:
                    return self._commit(sql, *args)
                if statement.startswith("PRAGMA WAL_CHECKPOINT(TRUNCATE)"):
                    return self._checkpoint(sql, *args)
                return super().execute(sql, *args)

            def _commit(self, sql: str, *args: Any) -> sqlite3.Cursor:
                """Room for the pages the values fill, and one for the rows' b-tree page."""
                ((page_size,),) = super().execute("PRAGMA page_size").fetchall()
                frames = -(-self.written // page_size) + 1
                if frames * (page_size + 24) > disk.room:  # a WAL frame: a page and its header
                    raise _error("database or disk is full", 13, "SQLITE_FULL")
                before = disk._size(wal)
                cursor = super().execute(sql, *args)
                disk.room = max(disk.room - max(disk._size(wal) - before, 0), 0)
                return cursor

            def _checkpoint(self, sql: str, *args: Any) -> sqlite3.Cursor:
                # fetchall: a statement left unfinished holds a read lock that stops the checkpoint
                ((pages,),) = super().execute("PRAGMA page_count").fetchall()
                ((page_size,),) = super().execute("PRAGMA page_size").fetchall()
                growth = max(pages * page_size - disk._size(database), 0)
                if growth > disk.room:
                    raise _error("database or disk is full", 13, "SQLITE_FULL")
                freed = disk._size(wal)
                ((busy, logged, moved),) = super().execute(sql, *args).fetchall()
                if busy == 0:
                    disk.room += freed - growth
                return super().execute("SELECT ?, ?, ?", (busy, logged, moved))

        return OnFullDisk

    def install(self, patch: Callable[[object, str, object], None]) -> None:
        """Route `sqlite3.connect` for files in the folder through the disk's connection;
        `patch(owner, name, value)` sets the attribute (pytest's monkeypatch.setattr)."""
        real = sqlite3.connect

        def connect(database: Any, *args: Any, **kwargs: Any) -> sqlite3.Connection:
            if _inside(database, self.folder) and "factory" not in kwargs:
                kwargs["factory"] = self.connection_class(os.path.abspath(os.fsdecode(database)))
            return real(database, *args, **kwargs)

        patch(sqlite3, "connect", connect)


def read_only(folder: Path, patch: Callable[[object, str, object], None]) -> None:
    """Every change inside `folder` fails with EROFS, as on a read-only mount."""
    folder = Path(os.path.abspath(folder))

    def refuse(path: object) -> OSError:
        return OSError(errno.EROFS, os.strerror(errno.EROFS), os.fsdecode(path))  # type: ignore[arg-type]

    def guard_paths(real: Callable[..., Any], count: int) -> Callable[..., Any]:
        def guarded(*args: Any, **kwargs: Any) -> Any:
            for path in args[:count]:
                if _inside(path, folder):
                    raise refuse(path)
            return real(*args, **kwargs)

        return guarded

    real_open, real_os_open, real_connect = builtins.open, os.open, sqlite3.connect
    writes = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND

    def open_(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if any(c in mode for c in "wax+") and _inside(file, folder):
            raise refuse(file)
        return real_open(file, mode, *args, **kwargs)

    def os_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if flags & writes and _inside(path, folder):
            raise refuse(path)
        return real_os_open(path, flags, *args, **kwargs)

    def connect(database: Any, *args: Any, **kwargs: Any) -> sqlite3.Connection:
        if _inside(database, folder):
            database, kwargs["uri"] = f"file:{os.fsdecode(database)}?mode=ro", True
        return real_connect(database, *args, **kwargs)

    patch(builtins, "open", open_)
    patch(io, "open", open_)
    patch(os, "open", os_open)
    patch(sqlite3, "connect", connect)
    changes = {"mkdir": 1, "rmdir": 1, "remove": 1, "unlink": 1, "mkfifo": 1, "truncate": 1}
    for name, count in (changes | {"rename": 2, "replace": 2, "symlink": 2, "link": 2}).items():
        patch(os, name, guard_paths(getattr(os, name), count))


def child_env(
    env: dict[str, str], *, full_disk: Path | None = None, read_only: Path | None = None
) -> dict[str, str]:
    """`env` for a child Python that injects these failures (see the module's docstring)."""
    paths = [str(SITE_DIR), str(ROOT), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    env = env | {"PYTHONPATH": os.pathsep.join(paths)}
    if full_disk is not None:
        env[FULL_DISK_ENV] = str(full_disk)
    if read_only is not None:
        env[READ_ONLY_ENV] = str(read_only)
    return env


def install_from_env() -> None:
    def patch(owner: object, name: str, value: object) -> None:
        setattr(owner, name, value)

    if FULL_DISK_ENV in os.environ:
        FullDisk(Path(os.environ[FULL_DISK_ENV])).install(patch)
    if READ_ONLY_ENV in os.environ:
        read_only(Path(os.environ[READ_ONLY_ENV]), patch)
