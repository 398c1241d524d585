"""The audit log: the chain, its faults (torn tails, a full disk), bounds, rotation and the keyed chain."""

from __future__ import annotations

import errno
import hashlib
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from mcp_common.audit import AuditEntry, AuditLimits, AuditLog, AuditWriteError, redact, verify
from mcp_common.filelock import FileLock, LockHeldError

KEY = b"k" * 32


def fixed_clock() -> datetime:
    return datetime(2026, 11, 26, 14, 0, tzinfo=UTC)


def call(i: int, **changes: object) -> AuditEntry:
    fields: dict[str, object] = {
        "server": "k8s-mcp",
        "tool": "list_pods",
        "arguments": {"namespace": f"ns{i}"},
        "client": "stdio",
        "outcome": "ok",
        "duration_ms": 1.5,
        "result_bytes": 10,
    }
    return AuditEntry(**(fields | changes))  # type: ignore[arg-type]


def write_calls(path: Path, count: int, **options: object) -> AuditLog:
    log = AuditLog(path, clock=fixed_clock, **options)  # type: ignore[arg-type]
    for i in range(count):
        log.record(call(i))
    return log


def lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def test_chain_verifies_and_continues_across_restarts(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    write_calls(path, 3)
    write_calls(path, 2)  # a new process picks the chain up from the last line
    result = verify(path)
    assert result.ok and result.lines == 5 and result.records == 5
    first, last = json.loads(lines(path)[0]), json.loads(lines(path)[-1])
    assert first["ts"] == "2026-11-26T14:00:00.000Z" and first["prev"] == "0" * 64 and first["seq"] == 1
    assert last["seq"] == 5 and last["event"] == "call"
    assert any("edits, insertions and removals" in c for c in result.checked)
    assert any("no key given" in n for n in result.not_checked)


def test_edited_line_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    write_calls(path, 5)
    text = lines(path)
    text[2] = text[2].replace('"ns2"', '"kube-system"')
    path.write_text("\n".join(text) + "\n")
    result = verify(path)
    assert not result.ok and not result.intact
    assert result.bad_line == 3 and "altered" in (result.reason or "")


def _recompute(line: str, **changes: object) -> str:
    record = json.loads(line)
    record.update(changes)
    record.pop("hash")
    canonical = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    record["hash"] = hashlib.sha256(canonical.encode()).hexdigest()
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def test_edited_line_with_recomputed_hash_is_caught_by_the_next_line(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    write_calls(path, 4)
    text = lines(path)
    text[1] = _recompute(text[1], outcome="rejected")
    path.write_text("\n".join(text) + "\n")
    result = verify(path)
    assert not result.ok and result.bad_line == 3 and "line 2" in (result.reason or "")


def forge(text: list[str], index: int, **changes: object) -> list[str]:
    """What an attacker without the key can do: rewrite line `index` and relink every later line (SHA-256)."""
    out = text[:index]
    for i, line in enumerate(text[index:], start=index):
        record = json.loads(line)
        record.pop("kid", None)
        if i == index:
            record.update(changes)
        record["prev"] = hashlib.sha256(out[-1].encode()).hexdigest() if out else "0" * 64
        out.append(_recompute(json.dumps(record)))
    return out


def test_recomputing_every_later_hash_passes_without_a_key_and_fails_with_it(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    write_calls(path, 4, key=KEY)
    path.write_text("\n".join(forge(lines(path), 1, outcome="rejected")) + "\n")
    assert verify(path).intact  # without the key only the links can be checked, and they were redone
    keyed = verify(path, key=KEY)
    assert not keyed.ok and keyed.bad_line == 2 and "without the key" in (keyed.reason or "")


def test_keyed_lines_are_checked_with_the_key_and_another_key_is_named(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    write_calls(path, 3, key=KEY)
    assert verify(path, key=KEY).ok
    assert any("HMAC on 3 keyed lines" in c for c in verify(path, key=KEY).checked)
    assert any("need the key" in n for n in verify(path).not_checked)
    wrong = verify(path, key=b"w" * 32)
    assert not wrong.ok and "another key" in (wrong.reason or "")


def test_removed_line_and_garbage_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    write_calls(path, 4)
    text = lines(path)
    path.write_text("\n".join(text[:1] + text[2:]) + "\n")
    assert verify(path).bad_line == 2
    path.write_text("\n".join([*text[:2], "not json", *text[2:]]) + "\n")
    inserted = verify(path)
    assert inserted.bad_line == 3 and "not a record" in (inserted.reason or "")


def test_last_line_edit_is_caught(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    write_calls(path, 3)
    path.write_text(path.read_text().replace('"ns2"', '"ns9"'))
    assert verify(path).bad_line == 3


def test_disabled_log_writes_nothing(tmp_path: Path) -> None:
    log = AuditLog(None)
    assert log.record(call(0)) is None
    assert list(tmp_path.iterdir()) == []


def test_a_torn_tail_is_acknowledged_and_reported_once(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    write_calls(path, 3)
    fragment = b'{"arguments":{"namespace":"ns3"},"client":"std'
    with path.open("ab") as fh:  # what a kill -9 in the middle of a write leaves
        fh.write(fragment)
    assert verify(path).problems[0].kind == "torn"  # a torn tail nobody has written after yet
    write_calls(path, 2)
    raw = lines(path)
    assert raw[3] == fragment.decode() and json.loads(raw[4])["torn"]["bytes"] == len(fragment)
    result = verify(path)
    assert result.intact and not result.ok
    assert [(p.line, p.kind) for p in result.problems] == [(4, "torn")]
    assert "acknowledged by line 5" in result.problems[0].reason
    assert result.records == 5


def test_a_fragment_that_was_removed_or_swapped_is_not_a_torn_write(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    write_calls(path, 2)
    with path.open("ab") as fh:
        fh.write(b'{"half a line')
    write_calls(path, 1)
    text = lines(path)
    path.write_text("\n".join([*text[:2], '{"another half', text[3]]) + "\n")
    assert [p.kind for p in verify(path).problems] == ["inserted"]
    path.write_text("\n".join([*text[:2], text[3]]) + "\n")
    assert [p.kind for p in verify(path).problems] == ["chain"]


def test_long_values_many_items_and_long_lines_are_bounded_with_size_and_digest(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path, limits=AuditLimits(max_line_bytes=4096))
    huge = "k" * 4_000_000
    log.record(call(0, arguments={"keyword": huge, "items": list(range(500)), "deep": [[[[[[["x"]]]]]]]}))
    record = json.loads(lines(path)[0])
    keyword = record["arguments"]["keyword"]
    assert keyword.startswith("k" * 256) and "(+3999744 chars, 4000000 in all, sha256 " in keyword
    assert hashlib.sha256(huge.encode()).hexdigest()[:16] in keyword
    assert record["arguments"]["items"][-1] == {"_more_items": 450} and len(record["arguments"]["items"]) == 51
    assert "_cut" in json.dumps(record["arguments"]["deep"])
    many = {f"arg{i}": "v" * 200 for i in range(40)}  # each value fits; together they do not
    log.record(call(1, arguments=many))
    cut = json.loads(lines(path)[1])["arguments"]["_cut"]
    assert cut["chars"] > 4096 and len(cut["sha256"]) == 64
    assert all(len(line.encode()) <= 4096 for line in lines(path))
    assert verify(path).ok


def test_rate_limited_calls_keep_only_the_size_and_digest_of_their_arguments(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    log.record(call(0, outcome="rate_limited", arguments={"keyword": "x" * 10_000}))
    assert len(lines(path)[0]) < 600
    assert set(json.loads(lines(path)[0])["arguments"]) == {"_cut"}


def test_redact_masks_and_bounds() -> None:
    out = redact({"password": "hunter2", "keyword": "k" * 1000, "namespace": "payments"})
    assert out["password"] == "***" and out["namespace"] == "payments"
    assert out["keyword"].startswith("k" * 256) and "(+744 chars" in out["keyword"]


def test_processes_sharing_one_file_keep_one_chain(tmp_path: Path) -> None:
    path = tmp_path / "shared.jsonl"
    writer = (
        "import sys; from pathlib import Path; from mcp_common.audit import AuditEntry, AuditLog\n"
        "log = AuditLog(Path(sys.argv[1]), max_file_bytes=20_000)\n"
        "for i in range(200): log.record(AuditEntry('k8s-mcp', 'list_pods', {'i': i}, sys.argv[2], 'ok', 1.0))\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", writer, str(path), name]) for name in ("http", "stdio", "cli")]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0]
    result = verify(path)
    assert result.ok, result.problems
    assert result.records == 600 and len(result.files) > 2  # rotated while three processes wrote
    seqs = [json.loads(line)["seq"] for f in result.files for line in lines(tmp_path / f)]
    assert seqs == list(range(1, 601))


def test_very_long_last_line_still_chains(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path, limits=AuditLimits(max_line_bytes=1_000_000, max_items=1000))
    log.record(call(0, arguments={"items": ["x" * 200] * 1000}))
    AuditLog(path).record(call(1))
    assert verify(path).ok


def test_rotation_carries_the_chain_and_keeps_the_newest_files(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    write_calls(path, 60, max_file_bytes=2_000, keep_files=3)
    rotated = sorted(p.name for p in tmp_path.glob("audit.jsonl.0*"))
    assert len(rotated) == 3 and rotated[-1] > rotated[0]
    first = json.loads(lines(tmp_path / rotated[0])[0])
    assert first["continues"] and first["seq"] > 1
    result = verify(path)
    assert result.ok and result.files == (*rotated, "audit.jsonl")
    assert any("gone (rotated out)" in c for c in result.checked)
    (tmp_path / rotated[1]).unlink()  # a middle file removed by hand breaks the chain
    assert not verify(path).intact


def test_seal_catches_a_cut_tail_and_an_emptied_file(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = write_calls(path, 5, key=KEY)
    log.flush()
    assert verify(path, key=KEY).ok and any("seal of" in c for c in verify(path, key=KEY).checked)
    text = lines(path)
    path.write_text("\n".join(text[:3]) + "\n")
    cut = verify(path, key=KEY)
    assert not cut.ok and cut.problems[0].kind == "truncated" and "vouches for 5 records" in cut.problems[0].reason
    assert verify(path).ok  # without the key a cut tail goes unseen, and verify says so
    assert any("cut tail" in n for n in verify(path).not_checked)
    path.write_text("")
    assert verify(path, key=KEY).problems[0].kind == "truncated"


def test_a_forged_seal_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    write_calls(path, 2, key=KEY).flush()
    seal = path.with_name("audit.jsonl.seal")
    record = json.loads(seal.read_text())
    record["seq"] = 1
    seal.write_text(json.dumps(record))
    assert [p.kind for p in verify(path, key=KEY).problems] == ["seal"]


def test_a_write_error_is_clear_counted_and_raised(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    path.symlink_to("/dev/full")  # every write fails with ENOSPC
    log = AuditLog(path)
    for _ in range(2):
        with pytest.raises(AuditWriteError) as caught:
            log.record(call(0))
    assert caught.value.errno == errno.ENOSPC
    assert "cannot write" in str(caught.value) and "ENOSPC" in str(caught.value) and str(path) in str(caught.value)
    assert log.stats.write_errors == {"ENOSPC": 2}


def test_a_full_disk_tears_one_line_and_the_chain_survives_it(small_disk: Any) -> None:
    path = small_disk.path / "audit.jsonl"
    log = write_calls(path, 3)
    small_disk.fill()
    failures = 0
    for i in range(3, 200):
        try:
            log.record(call(i, arguments={"keyword": "y" * 200}))
        except AuditWriteError as exc:
            assert exc.errno == errno.ENOSPC
            failures += 1
            if failures == 3:
                break
    assert log.stats.write_errors["ENOSPC"] == 3
    small_disk.free()  # the operator frees space; the server carries on
    log.record(call(999))
    result = verify(path)
    # tmpfs filled the audit file's last page with the head of one line, then refused: one torn line.
    assert result.intact and [p.kind for p in result.problems] == ["torn"]
    written = lines(path)
    torn_line = result.problems[0].line
    assert json.loads(written[-1])["arguments"] == {"namespace": "ns999"} and torn_line == len(written) - 1
    assert json.loads(written[-1])["torn"]["bytes"] == len(written[torn_line - 1].encode())


def test_file_lock_excludes_a_second_holder(tmp_path: Path) -> None:
    first, second = FileLock(tmp_path / "x.lock"), FileLock(tmp_path / "x.lock")
    with first, pytest.raises(LockHeldError):
        second.acquire(blocking=False)
    second.acquire(blocking=False)
    second.release()
    first.close()
    second.close()
    assert os.path.exists(tmp_path / "x.lock")
