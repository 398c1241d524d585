"""The audit log's file layer: appending whole lines, finding the chain's tail, and the group-commit thread.

`mcp_common.audit.AuditLog` decides what a line says and when it must be durable; this module knows bytes,
descriptors and fsync. Split from `audit` so that each reads as one concern.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import threading
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from mcp_common.audit_format import GENESIS, parse_record, rotated_files, sha256_hex

SCAN_LIMIT = 64 * 1024 * 1024  # how far back a writer looks for the last whole line before giving up
O_BINARY = getattr(os, "O_BINARY", 0)  # Windows: no newline translation


@dataclass
class Tail:
    """What the writer knows about the end of the chain: valid while the file's size is still `end`."""

    end: int
    seq: int
    prev: str
    junk: bytes = b""  # bytes after the last whole record (a torn write), acknowledged by the next record


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def fsync_directory(directory: Path) -> None:
    # A new file's name is durable only once its directory is synced (POSIX; Windows has no directory fds).
    if os.name == "nt":  # pragma: no cover
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_range(path: Path, start: int, end: int) -> bytes:
    with path.open("rb") as fh:
        fh.seek(start)
        return fh.read(end - start)


def last_record(fh: Any, size: int) -> Tail | None:
    """Read backwards from `size` to the last newline-terminated record; None when there is none."""
    position = size
    buffer = b""
    while position > 0 and size - position < SCAN_LIMIT:
        step = min(position, 64 * 1024)
        position -= step
        fh.seek(position)
        buffer = fh.read(step) + buffer
        lines = buffer.split(b"\n")
        starts = []
        offset = position
        for line in lines:
            starts.append(offset)
            offset += len(line) + 1
        # lines[-1] follows the last newline (a fragment, or b""); lines[0] may be cut unless position == 0.
        for index in range(len(lines) - 2, -1 if position == 0 else 0, -1):
            record = parse_record(lines[index])
            if record is not None:
                junk = buffer[starts[index] + len(lines[index]) + 1 - position :]
                seq = record.get("seq")
                return Tail(end=size, seq=seq if isinstance(seq, int) else 0, prev=sha256_hex(lines[index]), junk=junk)
    return None


def scan_chain(path: Path, size: int) -> Tail:
    """Find the last whole record of `path` at or before `size`: its seq and digest, and any bytes after it."""
    with path.open("rb") as fh:
        found = last_record(fh, size)
    if found is not None:
        return found
    # No whole record here (new or torn file): the chain continues from the newest rotated file.
    junk = read_range(path, 0, size) if size <= SCAN_LIMIT else b""
    for older in reversed(rotated_files(path)):
        with older.open("rb") as fh:
            previous = last_record(fh, older.stat().st_size)
        if previous is not None:
            return Tail(end=size, seq=previous.seq, prev=previous.prev, junk=junk)
    return Tail(end=size, seq=0, prev=GENESIS, junk=junk)


class _Flushable(Protocol):
    def flush(self) -> None: ...


class GroupCommitter:
    """One background thread per process that fsyncs (and seals) dirty logs, each within its interval."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._due: dict[int, tuple[weakref.ref[_Flushable], float]] = {}
        self._thread: threading.Thread | None = None

    def schedule(self, log: _Flushable, delay_s: float) -> None:
        with self._cond:
            if id(log) not in self._due:
                self._due[id(log)] = (weakref.ref(log), time.monotonic() + delay_s)
                self._cond.notify()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="audit-group-commit", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._due:
                    self._cond.wait()
                now = time.monotonic()
                wait = min(due for _, due in self._due.values()) - now
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                ready = [ref for key, (ref, due) in list(self._due.items()) if due <= now and self._due.pop(key)]
            self._commit(ready)

    def _commit(self, refs: list[weakref.ref[_Flushable]]) -> None:
        for ref in refs:
            log = ref()
            if log is None:
                continue
            with contextlib.suppress(OSError):  # an AuditWriteError: counted and logged by the log itself
                log.flush()

    def flush_all(self) -> None:
        """At exit: sync whatever is still waiting."""
        with self._cond:
            refs = [ref for ref, _ in self._due.values()]
            self._due.clear()
        self._commit(refs)


COMMITTER = GroupCommitter()
atexit.register(COMMITTER.flush_all)
