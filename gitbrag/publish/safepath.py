"""File operations that stay inside one folder (the site), whatever links are planted in it.

`Path.mkdir(parents=True)`, `open()` and `rglob()` follow symbolic links, so a link such as
`site/<login>/1_year -> /` would make the publisher write `/index.html`. Here every path is
relative to a root resolved once (`realpath`: the root itself may be a link, a legitimate
setup such as `/srv/site -> /mnt/disk/site`), and every step below it is taken from the
file descriptor of the folder above with `O_NOFOLLOW` (the `*at` system calls), so nothing
is re-resolved by name and a link swapped in mid-way is noticed, not followed:

- writing: a link where a folder must be is replaced by a real folder (the link's target
  is never touched); a link where a file must be is replaced by the atomic rename;
- reading: a link, or anything that is not a regular file, is refused (`UnsafePathError`),
  so nothing outside the site leaks into it; a FIFO cannot hang the reader (`O_NONBLOCK`);
- deleting and sweeping: folders are entered only when they are real folders; a link is
  removed itself, never what it points to.

Atomic writes live here too, not in a module of their own: the temporary file's name that
`SiteRoot.write` makes and the pattern `SiteRoot.sweep_temp_files` deletes are one convention,
and both are steps taken from a folder's descriptor like every other. `atomic_write` and
`sweep_temp_files` are the same operations for callers that hold a path, not a `SiteRoot`.

Walking the whole site for such files costs what is tracked (6 million entries at 100,000
users), so a publisher's `SiteRoot` (`marks_writers`) does it only when a writer may have died:
each writing process holds a hidden mark at the site's root (`.gitbrag-writer.<random>.lock`),
flocked from before its first temporary file until it ends, and removed when it ends cleanly.
`SiteRoot.sweep_due` walks everything when it finds a mark nobody holds (its writer died, its
temporary files may be anywhere), and the first time on a site (no `SWEPT_XATTR` on its root
folder: its earlier writers did not mark themselves); otherwise it looks only at the root and
the folders this process wrote into. Where flock or extended attributes do not work, every
sweep is the whole walk, as before marks.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import logging
import os
import secrets
import stat
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path, PurePosixPath
from typing import BinaryIO

log = logging.getLogger(__name__)

FILE_MODE = 0o644
# A temporary file this old belongs to no live writer (a write takes milliseconds): the rule
# where a writer's lock cannot be seen (a filesystem without flock).
TEMP_MAX_AGE_SECONDS = 600
# A writer holds an exclusive flock on its temporary file from creation to rename, so an
# unlocked one is a dead writer's, swept at the next pass, however young: GitHub Pages would
# publish it (upload-pages-artifact takes every file). The grace only covers filesystems
# whose flock is a no-op, where a live writer's file would look unlocked too.
TEMP_GRACE_SECONDS = 5
# A writing process's mark at the site's root (see the module docstring); never a login's name.
MARK_PREFIX = ".gitbrag-writer."
MARK_SUFFIX = ".lock"
# Set on the site's root folder by a whole sweep made while writers mark themselves: from then
# on, a writer that left temporary files behind left its mark too. An extended attribute, not a
# file: GitHub Pages would publish a file (and refuses a hidden one: see the tests' Pages check).
SWEPT_XATTR = "user.gitbrag.swept"
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# A name that changes under us this many times in a row is being raced on purpose.
_ATTEMPTS = 5


class UnsafePathError(OSError):
    """A path below the site root that gitbrag will not follow (a symbolic link, a non-file).

    An `OSError`, so a refresh that meets one fails that report only, with this message."""

    def __init__(self, relative: str, why: str):
        super().__init__(errno.ELOOP, f"{relative} {why}")


def _relative_parts(relative: str | PurePosixPath) -> tuple[str, ...]:
    """The names of a path below the root; refuses anything that could climb out of it."""
    parts = PurePosixPath(relative).parts
    if not parts or any(p in ("", ".", "..") or "/" in p or "\0" in p for p in parts):
        raise ValueError(f"not a path below the site: {str(relative)!r}")
    return parts


def _encoded(data: bytes | str) -> bytes:
    return data.encode("utf-8") if isinstance(data, str) else data


def _is_link(dir_fd: int, name: str) -> bool:
    return stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)


def _locked_temp_file(dir_fd: int, name: str) -> tuple[str, int]:
    """A new hidden temporary file for `name`, open for writing and flocked, so that a sweep
    knows it from a dead writer's."""
    tmp, fd, _ = _locked_new_file(dir_fd, lambda: f".{name}.{secrets.token_hex(6)}.tmp", name)
    return tmp, fd


def _locked_new_file(dir_fd: int, new_name: Callable[[], str], what: str) -> tuple[str, int, bool]:
    """A new file named by `new_name`, open for writing and flocked (the bool: whether the
    filesystem could lock it). A sweep may take it between the creation and the lock (it then
    has no name: no link left): a fresh one is made instead."""
    for _ in range(_ATTEMPTS):
        name = new_name()
        fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600,
                     dir_fd=dir_fd)  # fmt: skip
        try:
            locked = _lock(fd, blocking=True)
        except BaseException:
            os.close(fd)
            raise
        if os.fstat(fd).st_nlink > 0:
            return name, fd, locked
        os.close(fd)
    raise OSError(errno.EAGAIN, f"{what}: its temporary files were removed {_ATTEMPTS} times in a row")


def _lock(fd: int, *, blocking: bool) -> bool:
    """An exclusive flock on `fd`: False when another process holds one (non-blocking) or the
    filesystem has no locks (the caller then cannot tell a live writer: see the sweep)."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if blocking else fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError as exc:
        if exc.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
            return False
        raise
    return True


def _fsync_dir(dir_fd: int) -> None:
    with contextlib.suppress(OSError):  # some filesystems cannot; the rename is still atomic
        os.fsync(dir_fd)


def _described(relative: str, info: os.stat_result) -> tuple[object, ...]:
    kind = "file" if stat.S_ISREG(info.st_mode) else "other"
    return (relative, kind, info.st_ino, info.st_size, info.st_mode, info.st_ctime_ns, info.st_mtime_ns)


COMPARE_CHUNK = 1 << 20


def _reads_as(file: BinaryIO, data: bytes) -> bool:
    """Whether the rest of `file` is `data`, read a mebibyte at a time: a 20,000-PR user's
    report.json is 7 MB, and a whole copy of it beside `data` was the peak of a publish."""
    view = memoryview(data)
    for start in range(0, len(data), COMPARE_CHUNK):
        if file.read(COMPARE_CHUNK) != view[start : start + COMPARE_CHUNK]:
            return False
    return file.read(1) == b""


def _is_mark(name: str) -> bool:
    return name.startswith(MARK_PREFIX) and name.endswith(MARK_SUFFIX)


def _is_temp(name: str) -> bool:
    return name.startswith(".") and name.endswith(".tmp")


def _new_mark_name() -> str:
    return f"{MARK_PREFIX}{secrets.token_hex(6)}{MARK_SUFFIX}"


class _Mark:
    """This process's mark at the site's root: created and flocked before its first temporary
    file, unlinked when it ends cleanly (`release`), left behind by a kill, a crash or a power
    loss, where no process holds its lock any more (`_remove_if_dead`)."""

    def __init__(self, root: Path, root_fd: int):
        self.root = root
        self.pid = os.getpid()
        self.name, self.fd, self.locked = _locked_new_file(root_fd, _new_mark_name, "the writer's mark")
        # Who holds it, for an operator; and a site's files are never empty.
        os.write(self.fd, f"gitbrag writer, process {self.pid}\n".encode())

    def release(self) -> None:
        """Remove the mark (this writer ended cleanly), then drop its lock. A forked child
        only closes its copy: the mark is its parent's."""
        if os.getpid() == self.pid:
            with contextlib.suppress(OSError):
                root_fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
                try:
                    os.unlink(self.name, dir_fd=root_fd)
                finally:
                    os.close(root_fd)
        with contextlib.suppress(OSError):
            os.close(self.fd)


def _remove_if_dead(root_fd: int, name: str) -> bool:
    """Whether the mark `name` is a dead writer's (no process holds its lock); it is then
    removed, under our lock: a writer that created it and has not locked it yet finds it
    gone once it does, and makes another (`_locked_new_file`)."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=root_fd)
    except OSError:  # gone meanwhile (its writer ended cleanly), a link: not a mark
        return False
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or not _lock(fd, blocking=False):
            return False  # a live writer's
        if os.fstat(fd).st_nlink == 0:
            return False  # its writer ended cleanly while we looked
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name, dir_fd=root_fd)
        log.warning("a writer of the site died: the whole site is swept", extra={"mark": name})
        return True
    finally:
        os.close(fd)


class SiteRoot:
    """A folder that file operations never leave: see the module docstring.

    `marks_writers`: this process marks itself as a writer of the site before its first
    write, until `close` (or its end), and records the folders it writes into, so that
    `sweep_due` walks the whole site only when a writer may have died."""

    def __init__(self, root: Path | str, *, marks_writers: bool = False):
        self.root = Path(os.path.realpath(root))
        self._marks_writers = marks_writers
        self._mark: _Mark | None = None
        self._release: weakref.finalize[[], SiteRoot] | None = None
        self._written: set[tuple[str, ...]] = set()  # folders written into since the last sweep
        self._guard = threading.Lock()

    # --- folders ---------------------------------------------------------------------------

    @contextlib.contextmanager
    def folder(self, parts: Sequence[str], *, create: bool) -> Iterator[int]:
        """A descriptor of the folder `root/parts...`, opened one real folder at a time.

        With `create`, missing folders are made and links in their place replaced by real
        folders; without, a link raises `UnsafePathError` and a missing folder
        `FileNotFoundError`."""
        if create:
            os.makedirs(self.root, exist_ok=True)  # above the site: the operator's own path
        fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            for depth, name in enumerate(parts, start=1):
                child = self._open_child(fd, name, "/".join(parts[:depth]), create)
                os.close(fd)
                fd = child
            yield fd
        finally:
            os.close(fd)

    def _open_child(self, dir_fd: int, name: str, relative: str, create: bool) -> int:
        for _ in range(_ATTEMPTS):
            try:
                return os.open(name, _DIR_FLAGS, dir_fd=dir_fd)
            except FileNotFoundError:
                if not create:
                    raise
                with contextlib.suppress(FileExistsError):  # a concurrent writer made it
                    os.mkdir(name, 0o777, dir_fd=dir_fd)
            except NotADirectoryError:  # O_NOFOLLOW | O_DIRECTORY on a link says ENOTDIR
                if not _is_link(dir_fd, name):
                    raise NotADirectoryError(errno.ENOTDIR, f"{relative} is not a folder") from None
                if not create:
                    raise UnsafePathError(relative, "is a symbolic link") from None
                self._replace_link(dir_fd, name, relative)
        raise UnsafePathError(relative, "kept changing while it was opened")

    @staticmethod
    def _replace_link(dir_fd: int, name: str, relative: str) -> None:
        """Remove the link itself (its target stays as it is); the caller makes the folder."""
        try:
            target = os.readlink(name, dir_fd=dir_fd)
        except OSError:
            target = "?"
        log.warning(
            "a symbolic link in the site is replaced by a real folder",
            extra={"path": relative, "link_to": target},
        )
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name, dir_fd=dir_fd)

    # --- files -----------------------------------------------------------------------------

    def write(self, relative: str | PurePosixPath, data: bytes) -> None:
        """Replace the file so that nobody ever observes a partial one.

        The bytes go to a hidden temporary file in the same folder (the rename stays on one
        filesystem and is atomic), are fsynced, then renamed over the target (a link there
        is replaced, not followed); the folder is fsynced so the rename survives a crash."""
        *folders, name = _relative_parts(relative)
        self._announce()
        with self.folder(folders, create=True) as dir_fd:
            if self._marks_writers:
                with self._guard:
                    self._written.add(tuple(folders))
            tmp, fd = _locked_temp_file(dir_fd, name)
            try:
                with os.fdopen(fd, "wb") as out:
                    out.write(data)
                    out.flush()
                    os.fchmod(out.fileno(), FILE_MODE)
                    os.fsync(out.fileno())
                os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            except BaseException:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(tmp, dir_fd=dir_fd)
                raise
            _fsync_dir(dir_fd)

    def read_bytes(self, relative: str | PurePosixPath) -> bytes:
        """A regular file's bytes; `UnsafePathError` for a link (at any level) or a non-file."""
        *folders, name = _relative_parts(relative)
        with self.folder(folders, create=False) as dir_fd:
            try:
                fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    raise UnsafePathError(str(relative), "is a symbolic link") from None
                raise
            with os.fdopen(fd, "rb") as file:
                if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
                    raise UnsafePathError(str(relative), "is not a regular file")
                return file.read()

    def write_if_changed(
        self, relative: str | PurePosixPath, data: bytes | str, *, force: bool = False
    ) -> bool:
        """`write`, unless the file already holds exactly `data` (as a real file, with the
        mode `write` gives): an unchanged page then costs a read from the page cache instead
        of a temporary file, two fsyncs and a rename. True when it wrote. `force` writes
        anyway (the behaviour before unchanged files were skipped: a benchmark's baseline)."""
        payload = _encoded(data)
        if not force and self.holds(relative, payload):
            return False
        self.write(relative, payload)
        return True

    def holds(self, relative: str | PurePosixPath, data: bytes) -> bool:
        """Whether the path is a regular file of mode `FILE_MODE` whose bytes are `data`,
        reached without following any link. Anything else (missing, a link at any level, a
        FIFO, another size) is simply "no": `write` then replaces it as it always does."""
        *folders, name = _relative_parts(relative)
        try:
            with self.folder(folders, create=False) as dir_fd:
                fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
                with os.fdopen(fd, "rb") as file:
                    info = os.fstat(file.fileno())
                    if not stat.S_ISREG(info.st_mode) or stat.S_IMODE(info.st_mode) != FILE_MODE:
                        return False
                    # A differing size is the early answer; one byte more read tells a file
                    # that grew since the fstat.
                    return info.st_size == len(data) and _reads_as(file, data)
        except OSError:  # missing, a link (ELOOP, UnsafePathError), not a folder...
            return False

    def is_file(self, relative: str | PurePosixPath) -> bool:
        """A regular file reached without following any link."""
        *folders, name = _relative_parts(relative)
        try:
            with self.folder(folders, create=False) as dir_fd:
                return stat.S_ISREG(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
        except (FileNotFoundError, NotADirectoryError, UnsafePathError):
            return False

    def unlink(self, relative: str | PurePosixPath) -> None:
        """Remove a file (a link: the link itself); nothing when it or its folder is missing."""
        *folders, name = _relative_parts(relative)
        with contextlib.suppress(FileNotFoundError), self.folder(folders, create=False) as dir_fd:
            os.unlink(name, dir_fd=dir_fd)

    def snapshot(self, relatives: Sequence[str]) -> tuple[str, list[str]]:
        """What lies at these paths now, as a digest, and the regular files found (a folder:
        every file below it, hidden names aside; no link followed).

        Each file counts with its inode, size, mode and change time, so a file written again
        (a rename over it makes a new inode), edited in place, touched or replaced changes the
        digest: whoever recorded it can tell that the files are still the ones it wrote
        without reading them (`gitbrag.publish.publisher` skips rendering such pages)."""
        digest = hashlib.blake2b(digest_size=16)
        found: list[str] = []
        for relative in relatives:
            for entry in self._entries(relative):
                digest.update(repr(entry).encode())
                if entry[1] == "file":
                    found.append(str(entry[0]))
        return digest.hexdigest(), found

    def _entries(self, relative: str) -> Iterator[tuple[object, ...]]:
        *folders, name = _relative_parts(relative)
        try:
            with self.folder(folders, create=False) as dir_fd:
                info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
                if not stat.S_ISDIR(info.st_mode):
                    yield _described(relative, info)
                    return
                for top, dirs, files, top_fd in os.fwalk(name, dir_fd=dir_fd, follow_symlinks=False):
                    dirs.sort()
                    here = "/".join([*folders, top])
                    for file in sorted(files + [d for d in dirs if _is_link(top_fd, d)]):
                        if not file.startswith("."):
                            yield _described(
                                f"{here}/{file}", os.stat(file, dir_fd=top_fd, follow_symlinks=False)
                            )
        except OSError as exc:  # missing, behind a link, changing under us: never "the same"
            yield (relative, "unreadable", exc.errno)

    # --- cleaning ----------------------------------------------------------------------------

    def prune(self, relative: str | PurePosixPath, keep: set[PurePosixPath]) -> None:
        """Delete what lies below `relative` except `keep` (paths below the root) and hidden
        names (a live writer's temporary file), then the folders left empty. A link is
        deleted itself, never entered; the folder itself, when a link, is removed."""
        *folders, name = parts = _relative_parts(relative)
        try:
            with self.folder(folders, create=False) as parent_fd:
                try:
                    fd = os.open(name, _DIR_FLAGS, dir_fd=parent_fd)
                except NotADirectoryError:
                    if PurePosixPath(*parts) not in keep and _is_link(parent_fd, name):
                        os.unlink(name, dir_fd=parent_fd)
                    return
                try:
                    self._prune_in(fd, PurePosixPath(*parts), keep)
                finally:
                    os.close(fd)
        except (FileNotFoundError, UnsafePathError):
            return  # nothing there, or not ours to enter

    def remove_tree(self, relative: str | PurePosixPath) -> None:
        """Delete a folder and everything below it (a link: the link itself, never its target);
        a live writer's hidden temporary file keeps its folder until the sweep takes it."""
        *folders, name = _relative_parts(relative)
        gone = contextlib.suppress(FileNotFoundError, UnsafePathError)
        with gone, self.folder(folders, create=False) as dir_fd:
            if _is_link(dir_fd, name):
                os.unlink(name, dir_fd=dir_fd)
                return
        self.prune(relative, set())
        with contextlib.suppress(OSError), self.folder(folders, create=False) as dir_fd:
            os.rmdir(name, dir_fd=dir_fd)

    def _prune_in(self, dir_fd: int, here: PurePosixPath, keep: set[PurePosixPath]) -> None:
        for entry in list(os.scandir(dir_fd)):
            with contextlib.suppress(OSError):  # gone meanwhile, or not empty: keep going
                if entry.is_dir(follow_symlinks=False):
                    child = os.open(entry.name, _DIR_FLAGS, dir_fd=dir_fd)
                    try:
                        self._prune_in(child, here / entry.name, keep)
                    finally:
                        os.close(child)
                    os.rmdir(entry.name, dir_fd=dir_fd)  # only when empty
                elif here / entry.name not in keep and not entry.name.startswith("."):
                    os.unlink(entry.name, dir_fd=dir_fd)

    # --- this process as a writer, and sweeping what dead writers left -------------------------

    def _announce(self) -> None:
        """This process's mark, made before its first temporary file (see `_Mark`)."""
        if not self._marks_writers or self._mark is not None:
            return
        with self._guard:
            if self._mark is None:
                with self.folder((), create=True) as root_fd:
                    mark = _Mark(self.root, root_fd)
                # Released by `close`, when the SiteRoot is collected, or when the interpreter exits.
                self._release = weakref.finalize(self, mark.release)
                self._mark = mark

    def close(self) -> None:
        """End this process's writing: its mark is removed (a later write makes another)."""
        with self._guard:
            if self._release is not None:
                self._release()
            self._mark, self._release = None, None

    def sweep_due(self, older_than_seconds: float) -> int:
        """`sweep_temp_files`, but walking the whole site only when a dead writer's temporary
        files may lie anywhere in it: a mark no process holds (removed here), no `SWEPT_XATTR`
        on the root (the site's earlier writers may not have marked themselves), or no flock
        (no mark can be told from a dead one). Otherwise every writer since the last whole
        sweep either lives (its files are locked) or ended cleanly (it renamed or removed its
        files): only the root and the folders this SiteRoot wrote into since its last sweep
        are looked at, for a write whose cleanup failed. So a pass costs what it writes."""
        with self._guard:
            written, self._written = self._written, set()
        if not self._marks_writers:
            return self.sweep_temp_files(older_than_seconds)
        if not self.root.is_dir():
            return 0
        self._announce()  # before a dead writer's mark is removed: dying mid-sweep leaves ours
        assert self._mark is not None
        now = time.time()
        with self.folder((), create=False) as root_fd:
            marks, temps = _hidden_at_root(root_fd)
            died = [name for name in marks if name != self._mark.name and _remove_if_dead(root_fd, name)]
            if not died and self._mark.locked and _swept_before(root_fd):
                removed = sum(_sweep_one(root_fd, name, now, older_than_seconds) for name in temps)
                return removed + self._sweep_folders(written - {()}, now, older_than_seconds)
        removed = self.sweep_temp_files(older_than_seconds)
        if self._mark.locked:
            with contextlib.suppress(OSError), self.folder((), create=False) as root_fd:
                os.setxattr(root_fd, SWEPT_XATTR, b"1")
        return removed

    def _sweep_folders(self, folders: set[tuple[str, ...]], now: float, older_than_seconds: float) -> int:
        """The dead writers' temporary files in each of `folders` (not below them)."""
        removed = 0
        for parts in sorted(folders):
            with contextlib.suppress(OSError), self.folder(parts, create=False) as dir_fd:
                names = [e.name for e in os.scandir(dir_fd) if _is_temp(e.name)]
                removed += sum(_sweep_one(dir_fd, name, now, older_than_seconds) for name in names)
        return removed

    def sweep_temp_files(self, older_than_seconds: float) -> int:
        """Delete the regular `.*.tmp` files of dead writers, in real folders only (`os.fwalk`
        without following links): those no live writer holds locked (a few seconds old at
        least), and those older than `older_than_seconds` whatever their lock."""
        if not self.root.is_dir():
            return 0
        now = time.time()
        removed = 0
        for _, _, files, dir_fd in os.fwalk(self.root, follow_symlinks=False):
            for name in files:
                if _is_temp(name):
                    removed += _sweep_one(dir_fd, name, now, older_than_seconds)
        return removed


def _hidden_at_root(root_fd: int) -> tuple[list[str], list[str]]:
    """The writers' marks and the temporary files at the site's root, in one listing of it."""
    marks: list[str] = []
    temps: list[str] = []
    for entry in os.scandir(root_fd):
        if entry.name.startswith("."):
            if _is_mark(entry.name):
                marks.append(entry.name)
            elif _is_temp(entry.name):
                temps.append(entry.name)
    return marks, temps


def _swept_before(root_fd: int) -> bool:
    """Whether a whole sweep ran since the site's writers mark themselves (`SWEPT_XATTR`)."""
    try:
        return os.getxattr(root_fd, SWEPT_XATTR) == b"1"
    except OSError:  # never set, or no extended attributes here: sweep it whole
        return False


def _sweep_one(dir_fd: int, name: str, now: float, older_than_seconds: float) -> int:
    """1 when the temporary file `name` was a dead writer's and is deleted, else 0."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd)
    except OSError:  # gone meanwhile, a link (ELOOP), unreadable: not ours to judge
        return 0
    try:
        info = os.fstat(fd)
        age = now - info.st_mtime
        if not stat.S_ISREG(info.st_mode) or age < TEMP_GRACE_SECONDS:
            return 0
        if not _lock(fd, blocking=False) and age < older_than_seconds:
            return 0  # a live writer's (or no locks here: only the age can tell)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name, dir_fd=dir_fd)  # under our lock: a writer flocking it now sees no link
            log.info("swept a dead writer's temporary file", extra={"file": name, "age_seconds": round(age)})
            return 1
        return 0
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes | str) -> None:
    """Replace `path` with `data` so that nobody ever observes a partial file.

    `path`'s folder is taken as the caller names it (made if missing); the file itself is
    never followed: a link there is replaced (see `SiteRoot.write`). The publisher itself
    writes through its site root, which follows no link below the root.
    """
    SiteRoot(path.parent).write(path.name, _encoded(data))


def sweep_temp_files(site_dir: Path, older_than_seconds: float = TEMP_MAX_AGE_SECONDS) -> int:
    """Delete temporary files of writers that died before their rename (kill -9, power
    loss): unlocked ones (a live writer holds its file flocked), and any older than
    `older_than_seconds`. Links are not followed, so nothing outside `site_dir` is ever swept."""
    return SiteRoot(site_dir).sweep_temp_files(older_than_seconds)
