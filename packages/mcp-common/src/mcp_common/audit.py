"""A tamper-evident audit log: one JSON line per tool call, each carrying the SHA-256 of the line before it.

Every line also carries `hash`, the SHA-256 of its own canonical content, so an edit to the last line is
caught too. The chain continues across restarts (the last line's hash is read back on open). One file per
server process: two writers appending to one file would interleave their chains.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from mcp_common import redaction

GENESIS = "0" * 64
MAX_LOGGED_STRING = 256


def redact(value: Any, key: str = "") -> Any:
    """Copy `value` with secrets masked (`mcp_common.redaction`'s rules) and long strings shortened."""
    return _shorten(redaction.redact(value, key))


def _shorten(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _shorten(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shorten(v) for v in value]
    if isinstance(value, str) and len(value) > MAX_LOGGED_STRING:
        return value[:MAX_LOGGED_STRING] + f"…(+{len(value) - MAX_LOGGED_STRING} chars)"
    return value


def _canonical(record: Mapping[str, Any]) -> str:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class AuditEntry:
    """One tool call as the audit log records it."""

    server: str
    tool: str
    arguments: Mapping[str, Any]
    client: str
    outcome: str  # ok | rejected | error | rate_limited
    duration_ms: float
    result_bytes: int = 0
    error: str | None = None


class AuditLog:
    """Appends hash-chained JSON lines to a file, flushed and fsync'd per line. `path=None` disables it."""

    def __init__(self, path: Path | None, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.path = path
        self._clock = clock
        self._lock = threading.Lock()
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)

    @property
    def enabled(self) -> bool:
        return self.path is not None

    def record(self, entry: AuditEntry) -> dict[str, Any] | None:
        """Write one line for `entry`; return the record written (None when disabled)."""
        if self.path is None:
            return None
        body: dict[str, Any] = {
            "ts": self._clock().isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "server": entry.server,
            "tool": entry.tool,
            "arguments": redact(dict(entry.arguments)),
            "client": entry.client,
            "outcome": entry.outcome,
            "duration_ms": round(entry.duration_ms, 3),
            "result_bytes": entry.result_bytes,
        }
        if entry.error:
            body["error"] = redact(entry.error)
        with self._lock, self.path.open("a+b") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)  # released when the file closes
            body["prev"] = _last_line_digest(fh)
            body["hash"] = _digest(_canonical(body))
            line = _canonical(body)
            fh.write((line + "\n").encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        return body


def _last_line_digest(fh: BinaryIO) -> str:
    """SHA-256 of the file's last line, read backwards in blocks (lines can be long)."""
    end = fh.seek(0, os.SEEK_END)
    if end == 0:
        return GENESIS
    tail = b""
    position = end
    while position > 0:
        step = min(position, 8192)
        position -= step
        fh.seek(position)
        tail = fh.read(step) + tail
        stripped = tail.rstrip(b"\n")
        if b"\n" in stripped or position == 0:
            return _digest(stripped.rsplit(b"\n", 1)[-1].decode("utf-8", errors="replace"))
    return GENESIS


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of `verify`: ok, how many lines were checked, and the first bad line (1-based) with why."""

    ok: bool
    lines: int
    bad_line: int | None = None
    reason: str | None = None


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    with path.open(encoding="utf-8", errors="replace") as fh:
        for number, raw in enumerate(fh, start=1):
            yield number, raw.rstrip("\n")


def verify(path: Path) -> VerifyResult:
    """Walk the chain; report the first line that is malformed, altered, inserted or follows a removed line."""
    prev = GENESIS
    count = 0
    for number, line in _lines(path):
        count = number
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            return VerifyResult(False, count, number, "not valid JSON")
        if not isinstance(record, dict) or "hash" not in record or "prev" not in record:
            return VerifyResult(False, count, number, "missing the prev/hash fields")
        claimed = record.pop("hash")
        if _digest(_canonical(record)) != claimed:
            return VerifyResult(False, count, number, "content does not match its hash: the line was altered")
        if record["prev"] != prev:
            return VerifyResult(
                False,
                count,
                number,
                f"prev hash does not match line {number - 1}: a line before it was altered, removed or inserted"
                if number > 1
                else "first line does not start the chain",
            )
        prev = _digest(line)
    return VerifyResult(True, count)
