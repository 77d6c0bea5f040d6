"""Crash-safe file writes and advisory locks for the local store.

`atomic_write` writes a temporary file next to the target, fsyncs it and renames
it over the target, so the target name only ever holds complete content; on any
failure the temporary file is removed and the `OSError` propagates (callers turn it
into a `StoreError`). The temporary files of writers that were killed are found by
`temporaries` and deleted by `remove_stale_temporaries` once older than `STALE_TEMP_AGE`.
`read_bounded` reads a file only when it is no larger than a limit (checked before reading).
`locked` holds an `fcntl.flock` on a lock file for the
duration of a `with` block and closes its descriptor on exit.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

TEMP_PREFIX = ".tmp-"
#: Seconds after which a temporary file of `atomic_write` is a killed writer's leftover: a write takes
#: seconds, so an hour is safe even for a slow disk.
STALE_TEMP_AGE = 3600.0


def fsync_dir(directory: Path) -> None:
    """Flush a directory entry change (rename, create, unlink) to disk, where supported."""
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Replace `path` with `data` atomically (temp file + fsync + rename + directory fsync).

    The new file gets `mode` masked by the umask, like any created file. Raises
    `OSError`; never leaves a partial file under `path` or a temporary file behind.
    """
    tmp = path.parent / f"{TEMP_PREFIX}{path.name}-{os.getpid()}-{os.urandom(4).hex()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    try:
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)


class FileTooLarge(Exception):
    """A file holds more bytes than its reader accepts (`size` found, `limit` allowed)."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"{size} bytes, more than {limit}")
        self.size = size
        self.limit = limit


def read_bounded(path: Path, limit: int) -> bytes:
    """The bytes of `path`, refused with `FileTooLarge` before reading when it holds more than `limit`.

    The size is taken with fstat on the open file and at most `limit + 1` bytes are read, so a file
    that grows meanwhile is refused too. Raises `OSError` when it cannot be read.
    """
    with open(path, "rb") as file:
        size = os.fstat(file.fileno()).st_size
        if size > limit:
            raise FileTooLarge(size, limit)
        data = file.read(limit + 1)
    if len(data) > limit:
        raise FileTooLarge(len(data), limit)
    return data


def temporaries(directory: Path) -> list[tuple[Path, float]]:
    """The temporary files of `atomic_write` in `directory` with their age in seconds (none if it is missing)."""
    found: list[tuple[Path, float]] = []
    now = time.time()
    try:
        names = os.listdir(directory)
    except OSError:
        return found
    for name in sorted(names):
        if name.startswith(TEMP_PREFIX):
            with contextlib.suppress(OSError):
                found.append((directory / name, now - os.lstat(directory / name).st_mtime))
    return found


def remove_stale_temporaries(directory: Path, max_age: float = STALE_TEMP_AGE) -> list[Path]:
    """Delete the temporary files in `directory` older than `max_age` seconds; the ones deleted."""
    removed = []
    for path, age in temporaries(directory):
        if age > max_age:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
                removed.append(path)
    return removed


@contextlib.contextmanager
def locked(lock_path: Path, *, exclusive: bool, create: bool = True) -> Iterator[bool]:
    """Hold an exclusive or shared `flock` on `lock_path` inside the block.

    Yields True when the lock is held. With `create=True` (writers) the lock file is
    created if needed and failures raise `OSError`. With `create=False` (readers)
    nothing is created: if the lock file does not exist or cannot be opened, the
    block runs unlocked (yielding False), relying on writers' atomic renames.
    """
    try:
        if create:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        else:
            fd = os.open(lock_path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        if create:
            raise
        yield False
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield True
    finally:
        os.close(fd)
