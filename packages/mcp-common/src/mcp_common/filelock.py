"""An exclusive lock on a file that works on Linux, macOS and native Windows.

POSIX uses `fcntl.flock` (whole file, released when the descriptor closes); Windows uses `msvcrt.locking` on
the file's first byte. Both are advisory between cooperating processes, which is all the audit log and the
stores need: they lock a separate `.lock` file that is never renamed or truncated.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from types import TracebackType

__all__ = ["FileLock", "LockHeldError"]


class LockHeldError(OSError):
    """A non-blocking `acquire` found the lock held by another process."""


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _lock(fd: int, blocking: bool) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        while True:
            try:
                # LK_LOCK retries for ~10 s before failing; keep waiting like flock does.
                msvcrt.locking(fd, msvcrt.LK_LOCK if blocking else msvcrt.LK_NBLCK, 1)
                return
            except OSError:
                if not blocking:
                    raise LockHeldError(f"locked by another process: fd {fd}") from None
                time.sleep(0.05)

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock(fd: int, blocking: bool) -> None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if blocking else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LockHeldError(f"locked by another process: fd {fd}") from None

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


class FileLock:
    """An inter-process exclusive lock on `path` (created if missing), reentrant-free, usable as a context manager.

    `acquire(blocking=False)` raises `LockHeldError` instead of waiting. The descriptor stays open between
    acquisitions so a hot path (one audit line) pays two system calls, not an open and a close.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def _descriptor(self) -> int:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        return self._fd

    def acquire(self, *, blocking: bool = True) -> None:
        """Take the lock, waiting for it unless `blocking` is False."""
        _lock(self._descriptor(), blocking)

    def release(self) -> None:
        """Release the lock (the descriptor stays open for the next `acquire`)."""
        if self._fd is not None:
            _unlock(self._fd)

    def close(self) -> None:
        """Close the descriptor, which also releases the lock."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.release()
