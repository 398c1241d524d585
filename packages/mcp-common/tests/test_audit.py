"""The audit chain: lines verify, and an edited, removed or inserted line is found."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from mcp_common.audit import AuditEntry, AuditLog, redact, verify


def write_calls(path: Path, count: int) -> AuditLog:
    log = AuditLog(path, clock=lambda: datetime(2026, 11, 26, 14, 0, tzinfo=UTC))
    for i in range(count):
        log.record(AuditEntry("k8s-mcp", "list_pods", {"namespace": f"ns{i}"}, "stdio", "ok", 1.5, 10))
    return log


def test_chain_verifies_and_continues_across_restarts(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    write_calls(path, 3)
    write_calls(path, 2)  # a new process picks the chain up from the last line
    result = verify(path)
    assert result.ok and result.lines == 5
    first = json.loads(path.read_text().splitlines()[0])
    assert first["ts"] == "2026-11-26T14:00:00.000Z" and first["prev"] == "0" * 64


def test_edited_line_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    write_calls(path, 5)
    lines = path.read_text().splitlines()
    lines[2] = lines[2].replace('"ns2"', '"kube-system"')
    path.write_text("\n".join(lines) + "\n")
    result = verify(path)
    assert not result.ok and result.bad_line == 3 and "altered" in (result.reason or "")


def test_edited_line_with_recomputed_hash_is_caught_by_the_next_line(tmp_path: Path) -> None:
    import hashlib

    path = tmp_path / "audit.jsonl"
    write_calls(path, 4)
    lines = path.read_text().splitlines()
    record = json.loads(lines[1])
    record["outcome"] = "rejected"
    record.pop("hash")
    canonical = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    record["hash"] = hashlib.sha256(canonical.encode()).hexdigest()
    lines[1] = json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    path.write_text("\n".join(lines) + "\n")
    result = verify(path)
    assert not result.ok and result.bad_line == 3 and "line 2" in (result.reason or "")


def test_removed_line_and_garbage_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    write_calls(path, 4)
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:1] + lines[2:]) + "\n")
    assert verify(path).bad_line == 2
    path.write_text("\n".join([*lines[:3], "not json"]) + "\n")
    assert verify(path).bad_line == 4


def test_last_line_edit_is_caught(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    write_calls(path, 3)
    text = path.read_text().replace('"ns2"', '"ns9"')
    path.write_text(text)
    assert verify(path).bad_line == 3


def test_disabled_log_writes_nothing(tmp_path: Path) -> None:
    log = AuditLog(None)
    assert log.record(AuditEntry("s", "t", {}, "stdio", "ok", 1.0)) is None
    assert list(tmp_path.iterdir()) == []


def test_redaction_by_key_and_by_value_and_long_strings_are_cut() -> None:
    out = redact(
        {
            "password": "hunter2",
            "confirmation_token": "abc",
            "nested": {"DB_PASSWORD": "x", "plain": "eyJhbGciOi.eyJzdWIi.sig"},
            "keyword": "k" * 1000,
            "namespace": "payments",
        }
    )
    assert out["password"] == "***" and out["confirmation_token"] == "***"
    assert out["nested"] == {"DB_PASSWORD": "***", "plain": "***"}
    assert out["keyword"].startswith("k" * 256) and "(+744 chars)" in out["keyword"]
    assert out["namespace"] == "payments"


def test_processes_sharing_one_file_keep_one_chain(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = tmp_path / "shared.jsonl"
    writer = (
        "import sys; from pathlib import Path; from mcp_common.audit import AuditEntry, AuditLog\n"
        "log = AuditLog(Path(sys.argv[1]))\n"
        "for i in range(200): log.record(AuditEntry('k8s-mcp', 'list_pods', {'i': i}, sys.argv[2], 'ok', 1.0))\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", writer, str(path), name]) for name in ("http", "stdio", "cli")]
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0]
    result = verify(path)
    assert result.ok, result
    assert result.lines == 600


def test_very_long_last_line_still_chains(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    log.record(AuditEntry("s", "t", {"items": ["x" * 200] * 100}, "stdio", "ok", 1.0))
    log.record(AuditEntry("s", "t", {}, "stdio", "ok", 1.0))
    assert verify(path).ok
