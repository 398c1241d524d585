"""The audit log: one JSON line per tool call and per change a write tool makes, hash-chained, bounded, fault-aware.

Each line carries `prev` (the SHA-256 of the line before it, across restarts, processes and rotated files),
`seq` (its number in the chain) and `hash` (the SHA-256 of its own content, or an HMAC-SHA256 with
`<PREFIX>AUDIT_KEY` / `<PREFIX>AUDIT_KEY_FILE`, so an edit that recomputes the later hashes needs the key).
With a key, a `.seal` file beside the log vouches (HMAC) for the last committed line, so a cut tail or an
emptied file is caught. `audit_verify.verify` checks all of it and says which guarantee it could check.

What survives what (the `durability` setting, `<PREFIX>AUDIT_DURABILITY`):

- **kill -9 / a crash of the server, any mode**: every line of every answered call is in the file: a line is
  handed to the kernel (`write(2)`) before the call answers. Only a line being written at the instant of the
  kill can be torn; the next writer detects the torn tail, starts on a fresh line and records the fragment's
  size and digest, and verify reports it once.
- **power loss / a kernel crash**: `group` (default) fsyncs in the background at most
  `<PREFIX>AUDIT_FSYNC_INTERVAL_MS` after a line is written: read-call lines of that last interval can be
  lost. `fsync` syncs every line before its call answers (nothing answered is lost; 0.2–20 ms per call,
  depending on the disk's load). `os` never syncs (the kernel writes back, typically within 30 s).
- **write tools, every mode**: the intent line is fsync'd *before* the change is made (see
  `mcp_common.effects`); if it cannot be written, the change is refused. The outcome line follows the mode.

Faults: a failed write (ENOSPC, EIO, ...) raises `AuditWriteError` naming the file and the cause, is counted
in `stats` and logged; the partial line it may leave is handled as a torn tail. Argument values are bounded
(strings, list lengths, depth, and the whole line: `<PREFIX>AUDIT_MAX_LINE_BYTES`); what is cut is replaced
by its original size and SHA-256. Files rotate at `<PREFIX>AUDIT_MAX_FILE_MB` into `<name>.000001`, ...
(the chain carries on in the new file; `<PREFIX>AUDIT_KEEP_FILES` rotated files are kept).

Several processes may share one file (stdio and HTTP servers, the lab CLI): a `.lock` file beside it (POSIX
`flock`, Windows `msvcrt.locking`) serializes them and every writer re-reads the tail when another moved it.
"""

from __future__ import annotations

import errno
import logging
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from mcp_common import redaction
from mcp_common.audit_file import COMMITTER, O_BINARY, Tail, fsync_directory, scan_chain, write_all
from mcp_common.audit_format import (
    GENESIS,
    RECORD_VERSION,
    canonical,
    key_id,
    line_hash,
    rotated_files,
    seal_mac,
    seal_path,
    sha256_hex,
)
from mcp_common.audit_verify import Problem, VerifyResult, verify
from mcp_common.errors import AuditUnavailableError, AuditWriteError
from mcp_common.filelock import FileLock

if TYPE_CHECKING:
    from mcp_common.settings import ServerSettings

__all__ = [
    "GENESIS",
    "AuditEntry",
    "AuditLimits",
    "AuditLog",
    "AuditStats",
    "AuditUnavailableError",
    "AuditWriteError",
    "Problem",
    "VerifyResult",
    "bound",
    "redact",
    "verify",
]

logger = logging.getLogger(__name__)

MAX_LOGGED_STRING = 256
Durability = Literal["fsync", "group", "os"]


def redact(value: Any, key: str = "") -> Any:
    """Copy `value` with secrets masked (`mcp_common.redaction`) and long strings shortened (with size and digest)."""
    limits = AuditLimits()
    return redaction.redact(bound(value, limits, cut_strings=False), key, max_chars=limits.max_value_chars)


# --- bounding ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditLimits:
    """How much of a call's arguments a line keeps. What is cut is replaced by its size and SHA-256."""

    max_value_chars: int = MAX_LOGGED_STRING
    max_items: int = 50
    max_depth: int = 6
    max_line_bytes: int = 16 * 1024


def _cut_marker(text: str) -> dict[str, Any]:
    return {"cut": True, "chars": len(text), "sha256": sha256_hex(text)}


def bound(value: Any, limits: AuditLimits, depth: int = 0, *, cut_strings: bool = True) -> Any:
    """A copy of `value` within `limits`: long strings keep their head plus `…(+N chars, M in all, sha256 …)`,
    long lists and mappings their first items plus a count, deeper nesting becomes a digest of its JSON.
    `cut_strings=False` leaves strings to `redaction.redact(..., max_chars=)`, which cuts them after masking."""
    if isinstance(value, str):
        return redaction.shorten(value, limits.max_value_chars) if cut_strings else value
    if isinstance(value, Mapping | list | tuple) and depth >= limits.max_depth:
        return {"_cut": _cut_marker(canonical(value))}
    if isinstance(value, Mapping):
        items = list(value.items())
        out = {str(k): bound(v, limits, depth + 1, cut_strings=cut_strings) for k, v in items[: limits.max_items]}
        if len(items) > limits.max_items:
            out["_more_keys"] = len(items) - limits.max_items
        return out
    if isinstance(value, list | tuple):
        kept = [bound(v, limits, depth + 1, cut_strings=cut_strings) for v in value[: limits.max_items]]
        if len(value) > limits.max_items:
            kept.append({"_more_items": len(value) - limits.max_items})
        return kept
    return value


# --- records ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditEntry:
    """One tool call as the audit log records it."""

    server: str
    tool: str
    arguments: Mapping[str, Any]
    client: str
    outcome: str  # ok | rejected | error | rate_limited | cancelled
    duration_ms: float
    result_bytes: int = 0
    error: str | None = None


@dataclass
class AuditStats:
    """What the log has done since the process started; write errors by errno name."""

    lines: int = 0
    bytes: int = 0
    fsyncs: int = 0
    rotations: int = 0
    torn_tails: int = 0
    write_errors: dict[str, int] = field(default_factory=dict)
    last_error: str | None = None


class AuditLog:
    """Appends hash-chained JSON lines to `path` (`None` disables it). Thread-safe; see the module docstring.

    `clock` gives the timestamps (inject one in tests). `key` turns the chain into an HMAC chain and enables
    the seal. `variable` names the setting in messages (e.g. `K8S_MCP_AUDIT_LOG`).
    """

    def __init__(
        self,
        path: Path | None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        *,
        durability: Durability = "group",
        fsync_interval_s: float = 0.1,
        max_file_bytes: int = 0,
        keep_files: int = 10,
        limits: AuditLimits | None = None,
        key: bytes | None = None,
        variable: str = "AUDIT_LOG",
    ) -> None:
        self.path = path
        self._clock = clock
        self.durability: Durability = durability
        self.fsync_interval_s = fsync_interval_s
        self.max_file_bytes = max_file_bytes
        self.keep_files = keep_files
        self.limits = limits or AuditLimits()
        self._key = key
        self.key_id = key_id(key) if key else None
        self.variable = variable
        self.stats = AuditStats()
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._tail: Tail | None = None
        self._file_lock: FileLock | None = None
        self._error_logged_at = 0
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file_lock = FileLock(path.with_name(path.name + ".lock"))

    @classmethod
    def from_settings(cls, settings: ServerSettings, **overrides: Any) -> AuditLog:
        """The audit log `settings` describe (path, durability, limits, rotation, key)."""
        prefix = str(type(settings).model_config.get("env_prefix", ""))
        options: dict[str, Any] = {
            "durability": settings.audit_durability,
            "fsync_interval_s": settings.audit_fsync_interval_ms / 1000,
            "max_file_bytes": int(settings.audit_max_file_mb * 1024 * 1024),
            "keep_files": settings.audit_keep_files,
            "limits": AuditLimits(max_line_bytes=settings.audit_max_line_bytes),
            "key": settings.audit_key_bytes(),
            "variable": f"{prefix}AUDIT_LOG",
        }
        return cls(settings.audit_log, **(options | overrides))

    @property
    def enabled(self) -> bool:
        return self.path is not None

    # -- public writes ---------------------------------------------------------------------------------------

    def record(self, entry: AuditEntry) -> dict[str, Any] | None:
        """Write one line for a call; return the record written (None when disabled).

        Raises `AuditWriteError` when the line cannot be written. Rate-limited calls keep only the size and
        digest of their arguments: a refused flood must not fill the disk.
        """
        if self.path is None:
            return None
        # Bound first (a 4 MB argument costs no more than a short one), then mask, then cut what is left.
        shape = bound(dict(entry.arguments), self.limits, cut_strings=False)
        arguments: Any = redaction.redact(shape, max_chars=self.limits.max_value_chars)
        if entry.outcome == "rate_limited":
            arguments = {"_cut": _cut_marker(canonical(arguments))}
        fields: dict[str, Any] = {
            "server": entry.server,
            "tool": entry.tool,
            "client": entry.client,
            "arguments": arguments,
            "outcome": entry.outcome,
            "duration_ms": round(entry.duration_ms, 3),
            "result_bytes": entry.result_bytes,
        }
        fields = {k: v if k == "arguments" else bound(v, self.limits) for k, v in fields.items()}
        if entry.error:
            fields["error"] = redaction.redact(entry.error, max_chars=self.limits.max_value_chars * 4)
        return self._write("call", fields)

    def record_event(self, event: str, fields: Mapping[str, Any], *, durable: bool = False) -> dict[str, Any] | None:
        """Write one line of kind `event` (`call`, `intent`, `effect`) holding `fields` (bounded, not redacted).

        `durable=True` returns only once the line is on stable storage (fsync), whatever the durability mode.
        """
        return self._write(event, {k: bound(v, self.limits) for k, v in fields.items()}, durable=durable)

    def _write(self, event: str, fields: dict[str, Any], *, durable: bool = False) -> dict[str, Any] | None:
        if self.path is None:
            return None
        sync_fd: int | None = None
        with self._lock:
            assert self._file_lock is not None
            try:
                with self._file_lock:
                    body, sync_fd = self._append(event, fields, durable or self.durability == "fsync")
            except OSError as exc:
                raise self._write_failed(exc) from exc
        if sync_fd is not None:
            self._fsync(sync_fd)
        if (sync_fd is None and self.durability == "group") or self._key is not None:
            COMMITTER.schedule(self, self.fsync_interval_s)
        return body

    def flush(self) -> None:
        """fsync what was written and renew the seal; the group-commit thread calls this."""
        if self.path is None:
            return
        with self._lock:
            if self._fd is None:
                return
            fd = os.dup(self._fd)
            tail = self._tail
        self._fsync(fd, seal=tail)

    def close(self) -> None:
        """Flush, then close the file and the lock."""
        self.flush()
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            if self._file_lock is not None:
                self._file_lock.close()

    # -- the append path (holds both locks) ------------------------------------------------------------------

    def _append(self, event: str, fields: dict[str, Any], sync: bool) -> tuple[dict[str, Any], int | None]:
        assert self.path is not None
        fd = self._open()
        size = os.fstat(fd).st_size
        if self._tail is None or self._tail.end != size:
            self._tail = scan_chain(self.path, size)
            if self._tail.junk:
                self.stats.torn_tails += 1
                logger.warning(
                    "audit log %s: a torn or foreign tail of %d bytes found; the next line starts fresh and "
                    "records its size and digest",
                    self.path,
                    len(self._tail.junk),
                )
        tail = self._tail
        body, data = self._line(event, fields, tail, continues=None)
        if self.max_file_bytes and size > 0 and size + len(data) > self.max_file_bytes:
            previous = self._rotate()
            fd = self._open()
            if previous is not None:
                tail = self._tail = Tail(end=0, seq=tail.seq, prev=tail.prev)
                body, data = self._line(event, fields, tail, continues=previous)
                size = 0
        try:
            write_all(fd, data)
        except OSError:
            self._tail = None  # part of the line may be on disk: re-read the tail next time
            raise
        self._tail = Tail(end=size + len(data), seq=body["seq"], prev=sha256_hex(data.strip(b"\n")))
        self.stats.lines += 1
        self.stats.bytes += len(data)
        return body, (os.dup(fd) if sync else None)

    def _line(
        self, event: str, fields: dict[str, Any], tail: Tail, continues: str | None
    ) -> tuple[dict[str, Any], bytes]:
        body: dict[str, Any] = {
            "v": RECORD_VERSION,
            "seq": tail.seq + 1,
            "ts": self._clock().isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "event": event,
            **fields,
            "prev": tail.prev,
        }
        if continues:
            body["continues"] = continues
        if tail.junk:
            content = tail.junk[:-1] if tail.junk.endswith(b"\n") else tail.junk
            body["torn"] = {"bytes": len(content), "sha256": sha256_hex(content)}
        if self.key_id:
            body["kid"] = self.key_id
        line = self._encode(body)
        if len(line) > self.limits.max_line_bytes:
            # Whatever made the line too long (many medium values) goes; its size and digest stay.
            for name in ("arguments", "action", "error", "detail"):
                if name in body:
                    body[name] = {"_cut": _cut_marker(canonical(body[name]))}
            line = self._encode(body)
        body["hash"] = line_hash(body, self._key)
        prefix = b"\n" if tail.junk and not tail.junk.endswith(b"\n") else b""
        return body, prefix + canonical(body).encode("utf-8") + b"\n"

    def _encode(self, body: dict[str, Any]) -> bytes:
        return canonical(body).encode("utf-8")

    def _open(self) -> int:
        """The descriptor of the current file, reopened when another process rotated it away."""
        assert self.path is not None
        if self._fd is not None:
            try:
                current = os.stat(self.path)
                mine = os.fstat(self._fd)
                if (current.st_dev, current.st_ino) == (mine.st_dev, mine.st_ino):
                    return self._fd
            except FileNotFoundError:
                pass
            os.close(self._fd)
            self._fd = None
            self._tail = None
        created = not self.path.exists()
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | O_BINARY, 0o600)
        if created:
            fsync_directory(self.path.parent)
        return self._fd

    def _rotate(self) -> str | None:
        """Rename the full file to the next `name.NNNNNN`; None when that failed (the file stays in use)."""
        assert self.path is not None and self._fd is not None
        existing = rotated_files(self.path)
        number = int(existing[-1].suffix[1:]) + 1 if existing else 1
        target = self.path.with_name(f"{self.path.name}.{number:06d}")
        os.fsync(self._fd)
        os.close(self._fd)
        self._fd = None
        try:
            os.replace(self.path, target)
        except OSError as exc:
            # Windows refuses to rename a file another process holds open: keep writing, retry next line.
            logger.warning("audit log %s: cannot rotate (%s); still writing to it", self.path, exc.strerror)
            return None
        self.stats.rotations += 1
        for old in existing[: max(0, len(existing) + 1 - self.keep_files)] if self.keep_files else []:
            old.unlink(missing_ok=True)
        logger.info("audit log rotated: %s -> %s", self.path, target.name)
        return target.name

    # -- syncing and errors ----------------------------------------------------------------------------------

    def _fsync(self, fd: int, seal: Tail | None = None) -> None:
        try:
            if self.durability != "os" or seal is None:
                os.fsync(fd)
                self.stats.fsyncs += 1
            if seal is not None and self._key is not None and self.path is not None:
                self._write_seal(seal)
        except OSError as exc:
            raise self._write_failed(exc) from exc
        finally:
            os.close(fd)

    def _write_seal(self, tail: Tail) -> None:
        assert self.path is not None and self._key is not None
        seal: dict[str, Any] = {
            "file": self.path.name,
            "seq": tail.seq,
            "line_sha256": tail.prev,
            "ts": self._clock().isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "kid": self.key_id,
        }
        seal["mac"] = seal_mac(seal, self._key)
        target = seal_path(self.path)
        temporary = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        temporary.write_text(canonical(seal) + "\n", encoding="utf-8")
        os.replace(temporary, target)

    def _write_failed(self, exc: OSError) -> AuditWriteError:
        name = errno.errorcode.get(exc.errno or 0, "unknown")
        self.stats.write_errors[name] = self.stats.write_errors.get(name, 0) + 1
        count = sum(self.stats.write_errors.values())
        message = f"audit log {self.path}: cannot write: {exc.strerror or exc} ({name})"
        self.stats.last_error = message
        # Log the first failure and then every 100th: a full disk must not also flood stderr.
        if count == 1 or count - self._error_logged_at >= 100:
            self._error_logged_at = count
            logger.error("%s; %d audit write errors so far", message, count)
        return AuditWriteError(exc.errno or 0, message)
