"""Check an audit log (with its rotated files and seal) and say which guarantee could be checked.

What `verify` can tell, by what it is given:

- **Always** (SHA-256 links): every line links to the one before it, across rotated files, so an edited,
  inserted or removed line *inside* the log is found; torn writes (a crash or a full disk mid-line) are told
  apart from tampering by the next record's acknowledgement (`torn`: the fragment's size and digest); a write
  tool's intent with no outcome line is reported.
- **With the key** (`key=`, the server's `AUDIT_KEY`): keyed lines are HMACs, so an edit that recomputes the
  later hashes is found; the seal (an HMAC over the last committed line) catches a cut tail or an emptied
  file, up to the last group commit.
- **Never**: rolling back both the log and its seal to an older copy, or anything done by whoever holds the
  key. Lines written without a key are only as strong as the first item.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mcp_common.audit_format import (
    GENESIS,
    key_id,
    line_hash,
    parse_record,
    rotated_files,
    seal_mac,
    seal_path,
    sha256_hex,
)

__all__ = ["Problem", "VerifyResult", "verify"]

ProblemKind = Literal["altered", "chain", "inserted", "torn", "open_effect", "truncated", "seal", "key"]
_GAPS = frozenset({"torn", "open_effect"})  # records lost to faults, not signs of tampering


@dataclass(frozen=True)
class Problem:
    """One finding: where (file, 1-based line), what kind, and a sentence saying what it means."""

    file: str
    line: int
    kind: ProblemKind
    reason: str

    @property
    def is_gap(self) -> bool:
        """True for records lost to faults (torn writes, unfinished changes); False for tampering or breakage."""
        return self.kind in _GAPS


@dataclass(frozen=True)
class VerifyResult:
    """What `verify` found. `ok` means no problem of any kind; `intact` means nothing but gaps."""

    ok: bool
    lines: int
    records: int = 0
    files: tuple[str, ...] = ()
    problems: tuple[Problem, ...] = ()
    checked: tuple[str, ...] = ()
    not_checked: tuple[str, ...] = ()

    @property
    def intact(self) -> bool:
        """No tampering or breakage found (torn writes and unfinished changes may still be listed)."""
        return all(p.is_gap for p in self.problems)

    @property
    def bad_line(self) -> int | None:
        """The line of the first problem (the first broken one if any)."""
        first = self._first()
        return first.line if first else None

    @property
    def reason(self) -> str | None:
        first = self._first()
        return first.reason if first else None

    def _first(self) -> Problem | None:
        broken = [p for p in self.problems if not p.is_gap]
        candidates = broken or list(self.problems)
        return candidates[0] if candidates else None


@dataclass
class _State:
    key: bytes | None
    prev: str = GENESIS
    seq: int | None = None
    records: int = 0
    lines: int = 0
    keyed: int = 0
    unkeyed: int = 0
    unchecked_keyed: int = 0
    junk: list[tuple[str, int, bytes]] = field(default_factory=list)
    open_effects: dict[str, tuple[str, int, str]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    sealed_seq: int | None = None
    sealed_digest: str | None = None
    seen_sealed: str | None = None
    started: bool = False
    prev_line: int = 0
    note: str | None = None


def _raw_lines(path: Path) -> Iterator[tuple[int, bytes, bool]]:
    """(number, bytes, terminated) for each line; the last may be an unterminated fragment."""
    data = path.read_bytes()
    parts = data.split(b"\n")
    for number, raw in enumerate(parts[:-1], start=1):
        yield number, raw, True
    if parts[-1]:
        yield len(parts), parts[-1], False


def verify(path: Path, key: bytes | None = None, *, include_rotated: bool = True) -> VerifyResult:
    """Check the log at `path` (and, for the active file, its rotated predecessors and its seal).

    `key` is the server's audit key (`AUDIT_KEY`); without it keyed lines are checked for their links only.
    """
    files = [*rotated_files(path), path] if include_rotated and not path.suffix[1:].isdigit() else [path]
    files = [f for f in files if f.exists()]
    state = _State(key=key)
    seal = _read_seal(path, key, state) if key is not None else None
    for file in files:
        for number, raw, _terminated in _raw_lines(file):
            state.lines += 1
            _check_line(state, file.name, number, raw)
    last_file = files[-1].name if files else path.name
    if state.junk:
        name, number, _ = state.junk[0]
        size = len(b"\n".join(raw for _, _, raw in state.junk))
        state.problems.append(
            Problem(name, number, "torn", f"torn tail: the last write was interrupted ({size} bytes, no record after)")
        )
    for effect, (name, number, what) in state.open_effects.items():
        state.problems.append(
            Problem(
                name,
                number,
                "open_effect",
                f"intent {effect} ({what}) has no outcome line: the server stopped during the change, or the "
                "outcome could not be written; check the target's state",
            )
        )
    if seal is not None:
        _check_seal(state, seal, last_file)
    checked, not_checked = _guarantees(state, key, seal, path)
    return VerifyResult(
        ok=not state.problems,
        lines=state.lines,
        records=state.records,
        files=tuple(f.name for f in files),
        problems=tuple(state.problems),
        checked=tuple(checked),
        not_checked=tuple(not_checked),
    )


def _check_line(state: _State, name: str, number: int, raw: bytes) -> None:
    record = parse_record(raw)
    if record is None:
        state.junk.append((name, number, raw))
        return
    state.records += 1
    problems = state.problems
    claimed = record.pop("hash")
    if "kid" in record:
        state.keyed += 1
        if state.key is None:
            state.unchecked_keyed += 1
        elif record["kid"] != key_id(state.key):
            problems.append(Problem(name, number, "key", f"keyed with another key (id {record['kid']})"))
        elif not hmac.compare_digest(line_hash(record, state.key), str(claimed)):
            problems.append(Problem(name, number, "altered", "content does not match its HMAC: the line was altered"))
    else:
        state.unkeyed += 1
        if state.key is not None and state.keyed:
            problems.append(
                Problem(name, number, "altered", "an unkeyed line after keyed ones: rewritten without the key")
            )
        elif line_hash(record, None) != claimed:
            problems.append(Problem(name, number, "altered", "content does not match its hash: the line was altered"))
    _check_junk(state, record, name, number)
    _check_link(state, record, name, number)
    state.prev = sha256_hex(raw)
    state.prev_line = number
    seq = record.get("seq")
    state.seq = seq if isinstance(seq, int) else state.seq
    if state.sealed_seq is not None and seq == state.sealed_seq:
        state.seen_sealed = state.prev
    _track_effect(state, record, name, number)
    state.started = True


def _check_junk(state: _State, record: dict[str, Any], name: str, number: int) -> None:
    torn = record.get("torn")
    if state.junk:
        first_name, first_number, _ = state.junk[0]
        content = b"\n".join(raw for _, _, raw in state.junk)
        acknowledged = (
            isinstance(torn, dict) and torn.get("bytes") == len(content) and torn.get("sha256") == sha256_hex(content)
        )
        where = f"line {first_number}" + (f" of {first_name}" if first_name != name else "")
        if acknowledged:
            state.problems.append(
                Problem(
                    first_name,
                    first_number,
                    "torn",
                    f"torn write ({len(content)} bytes: a crash or a full disk cut a line); {where} is acknowledged "
                    f"by line {number}, the chain continues",
                )
            )
        else:
            state.problems.append(
                Problem(first_name, first_number, "inserted", f"{where} is not a record and no record vouches for it")
            )
        state.junk.clear()
    elif torn is not None:
        state.problems.append(
            Problem(name, number, "chain", "says a torn write precedes it, but there is none: a line was removed")
        )


def _check_link(state: _State, record: dict[str, Any], name: str, number: int) -> None:
    if record.get("prev") == state.prev:
        return
    if not state.started and record.get("continues"):
        state.note = f"{name} continues from {record['continues']}, which is gone (rotated out)"
        return
    if not state.started:
        reason = "the first line does not start the chain (lines before it were removed)"
    else:
        reason = f"prev hash does not match line {state.prev_line}: a line before it was altered, removed or inserted"
    state.problems.append(Problem(name, number, "chain", reason))


def _track_effect(state: _State, record: dict[str, Any], name: str, number: int) -> None:
    effect = record.get("effect")
    if not isinstance(effect, str):
        return
    if record.get("event") == "intent":
        state.open_effects[effect] = (name, number, f"{record.get('tool', '?')} {json.dumps(record.get('action'))}")
    elif record.get("event") == "effect":
        state.open_effects.pop(effect, None)


def _read_seal(path: Path, key: bytes | None, state: _State) -> dict[str, Any] | None:
    target = seal_path(path)
    if key is None or not target.exists():
        return None
    try:
        seal = json.loads(target.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        state.problems.append(Problem(target.name, 1, "seal", "the seal is unreadable"))
        return None
    mac = seal.pop("mac", None) if isinstance(seal, dict) else None
    if not isinstance(seal, dict) or not isinstance(mac, str) or not hmac.compare_digest(mac, seal_mac(seal, key)):
        state.problems.append(
            Problem(target.name, 1, "seal", "the seal does not match its MAC: altered, or another key")
        )
        return None
    state.sealed_seq = seal.get("seq") if isinstance(seal.get("seq"), int) else None
    state.sealed_digest = seal.get("line_sha256")
    return seal


def _check_seal(state: _State, seal: dict[str, Any], last_file: str) -> None:
    sealed = state.sealed_seq
    if sealed is None or sealed == 0:
        return
    if state.seen_sealed is None:
        state.problems.append(
            Problem(
                last_file,
                state.lines,
                "truncated",
                f"the seal ({seal.get('ts')}) vouches for {sealed} records, the log ends at record "
                f"{state.seq or 0}: its tail was cut or the file emptied",
            )
        )
    elif state.seen_sealed != state.sealed_digest:
        state.problems.append(
            Problem(last_file, state.lines, "truncated", f"record {sealed} is not the one the seal vouches for")
        )


def _guarantees(
    state: _State, key: bytes | None, seal: dict[str, Any] | None, path: Path
) -> tuple[list[str], list[str]]:
    checked = [f"hash chain over {state.records} records: edits, insertions and removals inside the log"]
    not_checked: list[str] = []
    if state.note:
        checked.append(state.note)
    if key is None:
        if state.keyed:
            not_checked.append(f"{state.keyed} keyed lines: their HMACs need the key (--key-file); links were checked")
        not_checked.append("recomputed hashes, a cut tail or an emptied file: no key given")
        return checked, not_checked
    if state.keyed:
        checked.append(f"HMAC on {state.keyed} keyed lines (key id {key_id(key)}): recomputed hashes are caught")
    if state.unkeyed:
        not_checked.append(f"{state.unkeyed} lines written without a key: links only")
    if seal is not None:
        checked.append(
            f"seal of {seal.get('ts')} (record {seal.get('seq')}): a cut tail or an emptied file up to the last "
            "group commit"
        )
    elif state.keyed:
        not_checked.append(f"no valid seal beside {path.name}: a cut tail cannot be detected")
    not_checked.append("a rollback of both the log and its seal to an older copy")
    return checked, not_checked
