"""The audit log's line format, shared by the writer (`audit`) and the checker (`audit_verify`).

A line is the canonical JSON (sorted keys, no spaces, UTF-8) of a record: `v`, `seq`, `ts`, `event`, the
event's fields, `prev` (the SHA-256 of the previous line's bytes, or 64 zeros for the first), optionally
`kid` (the key id of a keyed chain), `torn` (size and SHA-256 of a torn fragment it follows) and `continues`
(the rotated file it follows), then `hash` over all the others (SHA-256, or HMAC-SHA256 with the key).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

GENESIS = "0" * 64
RECORD_VERSION = 2


def sha256_hex(data: str | bytes) -> str:
    """Hex SHA-256 of `data` (text is encoded as UTF-8)."""
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


def canonical(record: Any) -> str:
    """The canonical JSON of `record`: what is hashed, and what a line holds."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def key_id(key: bytes) -> str:
    """A short public name for an audit key (the first 16 hex digits of its SHA-256), stored in keyed lines."""
    return hashlib.sha256(b"audit-key-id:" + key).hexdigest()[:16]


def line_hash(body: Mapping[str, Any], key: bytes | None) -> str:
    """The `hash` field for `body` (every field but `hash`): SHA-256 of its canonical JSON, or HMAC with `key`."""
    data = canonical(body).encode("utf-8")
    if key is None:
        return hashlib.sha256(data).hexdigest()
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def seal_mac(seal: Mapping[str, Any], key: bytes) -> str:
    """The MAC of a seal (every field but `mac`)."""
    return hmac.new(key, b"audit-seal:" + canonical(seal).encode("utf-8"), hashlib.sha256).hexdigest()


def rotated_files(path: Path) -> list[Path]:
    """The rotated files of the log at `path`, oldest first (`name.000001`, `name.000002`, ...)."""
    found = [p for p in path.parent.glob(path.name + ".*") if p.suffix[1:].isdigit() and len(p.suffix) == 7]
    return sorted(found)


def seal_path(path: Path) -> Path:
    """Where the seal of the log at `path` lives."""
    return path.with_name(path.name + ".seal")


def parse_record(raw: bytes) -> dict[str, Any] | None:
    """The record a line holds, or None when it is not one (torn, foreign, not JSON)."""
    if not raw.startswith(b"{"):
        return None
    try:
        record = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(record, dict) or "hash" not in record or "prev" not in record:
        return None
    return record
