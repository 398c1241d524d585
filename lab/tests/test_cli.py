"""The sre-lab command line through typer's runner: the clock, the marker, config output, audit, help.

Issue 14's thirteen situations that ended in tracebacks are one table in tests/test_cli_situations.py.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin, get_type_hints

import pytest
import typer
from typer.testing import CliRunner

from mcp_common.audit import AuditEntry, AuditLog
from sre_lab import labstate
from sre_lab.cli import app
from sre_lab.paths import EmbeddedStores

runner = CliRunner()
NOW = "2026-11-26T14:23:30Z"


def one_line_error(result, code: int = 1) -> str:  # result: click.testing.Result
    """The failure's single stderr line (and no traceback anywhere)."""
    assert result.exit_code == code, (result.exit_code, result.output)
    assert ("Traceback" not in result.output and result.exception is None) or isinstance(result.exception, SystemExit)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("sre-lab: error: ")
    return lines[0]


# -- the embedded lab: its clock, its marker, down --volumes ------------------------------------------------


def test_seed_cluster_then_status_shows_the_clock_and_counts(lab_dir: Path) -> None:
    seeded = runner.invoke(app, ["seed", "cluster", "--now", NOW])
    assert seeded.exit_code == 0 and "23 pods" in seeded.stdout
    state = labstate.read_state(lab_dir)
    assert state is not None and state.clock_text() == NOW
    assert state.stores["cluster"].counts["pods"] == 23
    status = runner.invoke(app, ["status"])
    assert status.exit_code == 0, status.output
    assert f"scenario clock: {NOW}" in status.stdout and "23 pods" in status.stdout
    assert "missing" in status.stdout, "logs and runbooks are not seeded yet"


def test_a_single_store_reseeded_keeps_the_lab_clock(lab_dir: Path) -> None:
    assert runner.invoke(app, ["seed", "cluster", "--now", NOW]).exit_code == 0
    again = runner.invoke(app, ["seed", "cluster"])  # no --now: the recorded clock, not the current time
    assert again.exit_code == 0
    manifest = json.loads((EmbeddedStores(lab_dir).cluster / "manifest.json").read_text())
    assert manifest["captured_at"] == NOW


def test_bad_now_is_a_usage_error(lab_dir: Path) -> None:
    line = one_line_error(runner.invoke(app, ["seed", "cluster", "--now", "yesterday"]), code=2)
    assert "not an ISO timestamp" in line


def test_status_without_a_lab(lab_dir: Path) -> None:
    line = one_line_error(runner.invoke(app, ["status"]))
    assert f"no embedded lab in {lab_dir}" in line and "sre-lab up --embedded" in line


def test_down_volumes_refuses_a_folder_the_lab_did_not_create(lab_dir: Path) -> None:
    lab_dir.mkdir(parents=True)
    precious = lab_dir / "thesis.tex"
    precious.write_text("years of work")
    line = one_line_error(runner.invoke(app, ["down", "--volumes", "--yes"]))
    assert "refusing to delete" in line and "not created by sre-lab" in line
    assert precious.read_text() == "years of work"
    line = one_line_error(runner.invoke(app, ["seed", "cluster", "--now", NOW]))
    assert "not created by sre-lab" in line, "nor is it seeded into"


def test_down_volumes_asks_first_and_deletes_only_the_lab(lab_dir: Path) -> None:
    assert runner.invoke(app, ["seed", "cluster", "--now", NOW]).exit_code == 0
    declined = runner.invoke(app, ["down", "--volumes"], input="n\n")
    assert "nothing was deleted" in declined.stderr and declined.exit_code == 1
    assert lab_dir.is_dir()
    no_answer = runner.invoke(app, ["down", "--volumes"], input="")  # end of input: no, in the same one line
    assert "nothing was deleted" in one_line_error(no_answer) and lab_dir.is_dir()
    accepted = runner.invoke(app, ["down", "--volumes"], input="y\n")
    assert accepted.exit_code == 0 and not lab_dir.exists()
    assert (lab_dir.parent).is_dir(), "only the data directory goes"


def test_timeline_is_derived_from_the_recorded_clock(lab_dir: Path) -> None:
    assert runner.invoke(app, ["seed", "cluster", "--now", NOW]).exit_code == 0
    result = runner.invoke(app, ["timeline"])
    assert result.exit_code == 0
    assert "2026-11-26 14:00:30" in result.stdout and "scale_up" in result.stdout  # T−23m


# -- config output and audit -------------------------------------------------------------------------------


def test_printed_config_is_plain_json_even_with_force_color(lab_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORCE_COLOR", "1")
    result = runner.invoke(app, ["config", "claude-desktop", "--mode", "docker"])
    assert result.exit_code == 0 and "\x1b[" not in result.stdout
    assert set(json.loads(result.stdout)["mcpServers"]) == {"kubernetes", "clickhouse-logs", "sre-knowledge-base"}


def test_embedded_config_needs_a_seeded_lab_and_pins_its_clock(lab_dir: Path, tmp_path: Path) -> None:
    line = one_line_error(runner.invoke(app, ["config", "claude-desktop", "--mode", "embedded"]))
    assert "sre-lab up --embedded" in line
    assert runner.invoke(app, ["seed", "cluster", "--now", NOW]).exit_code == 0
    target = tmp_path / "claude.json"
    written = runner.invoke(app, ["config", "claude-desktop", "--mode", "embedded", "--write", "--path", str(target)])
    assert written.exit_code == 0, written.output
    logs = json.loads(target.read_text())["mcpServers"]["clickhouse-logs"]
    assert logs["env"]["LOGS_MCP_FIXED_NOW"] == NOW
    again = runner.invoke(app, ["config", "claude-desktop", "--mode", "embedded", "--write", "--path", str(target)])
    assert "nothing written, no backup" in again.stdout
    assert len(list(tmp_path.glob("claude.json.bak-*"))) == 0


def test_config_write_merges_into_the_given_file(tmp_path: Path, lab_dir: Path) -> None:
    target = tmp_path / "claude_desktop_config.json"
    target.write_text(json.dumps({"mcpServers": {"github": {"command": "gh"}}}))
    result = runner.invoke(app, ["config", "claude-desktop", "--mode", "docker", "--write", "--path", str(target)])
    assert result.exit_code == 0, result.output
    servers = json.loads(target.read_text())["mcpServers"]
    assert set(servers) == {"github", "kubernetes", "clickhouse-logs", "sre-knowledge-base"}
    target.write_text("{broken")
    refused = runner.invoke(app, ["config", "claude-desktop", "--write", "--path", str(target)])
    assert "not valid JSON" in one_line_error(refused) and target.read_text() == "{broken"


def test_audit_verify_reports_ok_and_the_first_altered_line(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    for namespace in ["payments", "auth", "monitoring"]:
        log.record(AuditEntry("k8s-mcp", "list_pods", {"namespace": namespace}, "stdio", "ok", 1.0))
    ok = runner.invoke(app, ["audit", "verify", str(path)])
    assert ok.exit_code == 0 and "3 lines, chain intact" in ok.stdout
    path.write_text(path.read_text().replace('"auth"', '"kube-system"'))
    assert "broken at line 2" in one_line_error(runner.invoke(app, ["audit", "verify", str(path)]))
    missing = runner.invoke(app, ["audit", "verify", str(tmp_path / "nope.jsonl")])
    assert "no such file" in one_line_error(missing, code=2)


def test_audit_verify_names_a_torn_line_once_and_checks_the_key(tmp_path: Path) -> None:
    path, key = tmp_path / "audit.jsonl", tmp_path / "audit.key"
    key.write_text("an-audit-key-of-32-characters!!!\n")
    log = AuditLog(path, key=key.read_text().strip().encode())
    log.record(AuditEntry("k8s-mcp", "list_pods", {"namespace": "payments"}, "stdio", "ok", 1.0))
    with path.open("ab") as fh:
        fh.write(b'{"arguments":{"namesp')  # a write cut by a crash or a full disk
    log.record(AuditEntry("k8s-mcp", "list_pods", {"namespace": "auth"}, "stdio", "ok", 1.0))
    log.flush()
    torn = runner.invoke(app, ["audit", "verify", str(path), "--key-file", str(key)])
    assert "lost to faults, first at line 2" in one_line_error(torn, code=3)
    assert torn.stdout.count("torn write") == 1
    assert "HMAC on 2 keyed lines" in torn.stdout and "seal of" in torn.stdout
    unkeyed = runner.invoke(app, ["audit", "verify", str(path)])
    assert unkeyed.exit_code == 3 and "need the key" in unkeyed.stdout


def _commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every leaf command of the CLI, with its path (`("seed", "cluster")`)."""
    subcommands = getattr(command, "commands", None)
    if not subcommands:
        yield path, command
        return
    for name, sub in subcommands.items():
        yield from _commands(sub, (*path, name))


LEAVES = dict(_commands(typer.main.get_command(app)))


def _choices(command: Any, name: str) -> tuple[str, ...]:
    """The values a parameter's `Literal[...]` annotation allows (none: not a choice)."""
    hint = get_type_hints(inspect.unwrap(command.callback), include_extras=True)[name]
    hint = get_args(hint)[0] if get_origin(hint) is Annotated else hint
    return tuple(map(str, get_args(hint))) if get_origin(hint) is Literal else ()


@pytest.mark.parametrize("path", [pytest.param(path, id=" ".join(path)) for path in LEAVES])
def test_help_shows_every_options_default_and_choices(path: tuple[str, ...]) -> None:
    result = runner.invoke(app, [*path, "--help"], terminal_width=400)  # one line per parameter
    assert result.exit_code == 0, result.output
    lines = [line.strip() for line in result.stdout.splitlines() if line.startswith("  ")]
    command = LEAVES[path]
    for param in command.params:
        names = (*param.opts, *param.secondary_opts)
        line = next(line for line in lines if line.split()[0].rstrip(",") in names or line.split()[0] == param.name)
        assert "[default: " in line or "[required]" in line, f"{' '.join(path)} {names[0]}: {line!r}"
        if choices := _choices(command, param.name):
            assert f"<{'|'.join(choices)}>" in line, f"{' '.join(path)} {names[0]} hides its choices: {line!r}"


def test_help_names_the_choices_and_defaults_people_ask_about() -> None:
    text = " ".join(runner.invoke(app, ["investigate", "--help"]).stdout.split())
    assert "<text|markdown|json>" in text and "[default: text]" in text
    assert "<auto|playbook|agent>" in text and "[default: 40; 1<=x<=200]" in text
    config = " ".join(runner.invoke(app, ["config", "claude-desktop", "--help"]).stdout.split())
    assert "<docker|embedded>" in config and "[default: docker]" in config
    assert "[default: the platform's Claude Desktop path]" in config
