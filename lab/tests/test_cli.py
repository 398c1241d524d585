"""The sre-lab command line through typer's runner: every expected failure is one line and a non-zero exit.

The situations are the ones issue 14 found ending in tracebacks; each is made real here (a process holding
the embedded store, a Docker without its daemon or compose plugin, a file where a directory goes, an
unwritable path, Chroma not listening, a directory where a config file goes).
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
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


@pytest.fixture
def lab_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "lab" / "data"
    monkeypatch.setenv("SRE_LAB_DATA_DIR", str(root))
    monkeypatch.setenv("COLUMNS", "200")  # rich wraps table cells to the terminal width
    for variable in ("LOGS_MCP_CLICKHOUSE_URL", "KB_MCP_CHROMA_URL", "ANTHROPIC_API_KEY", "SRE_LAB_HOME"):
        monkeypatch.delenv(variable, raising=False)
    return root


def fake_docker(bin_dir: Path, *, daemon: bool = True, compose: bool = True, running: str = "") -> Path:
    """A `docker` on PATH that answers like one whose daemon or compose plugin is (not) there."""
    bin_dir.mkdir(exist_ok=True)
    info = "echo 27.3.1; exit 0" if daemon else "echo Cannot connect to the Docker daemon >&2; exit 1"
    version = "echo v2.29.0; exit 0" if compose else "echo docker: compose is not a docker command >&2; exit 1"
    script = bin_dir / "docker"
    script.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = info ]; then {info}; fi\n'
        f'if [ "$1" = compose ] && [ "$2" = version ]; then {version}; fi\n'
        f'if [ "$1" = ps ]; then printf "{running}"; exit 0; fi\n'
        "exit 0\n"
    )
    script.chmod(0o755)
    return bin_dir


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- the thirteen situations --------------------------------------------------------------------------------


@pytest.fixture
def held_log_store(lab_dir: Path) -> Iterator[Path]:
    """A seeded lab whose embedded log store another process holds (as Claude Desktop's logs-mcp would)."""
    # seeded by a process of its own: chDB keeps a directory open in the process that opened it
    seeded = subprocess.run(
        [sys.executable, "-m", "sre_lab", "seed", "logs", "--rows", "1000", "--now", NOW],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert seeded.returncode == 0, seeded.stderr
    store = EmbeddedStores(lab_dir).clickhouse
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, chdb.session as s; held = s.Session(sys.argv[1]); held.query('SELECT 1');"
         "print('ready', flush=True); sys.stdin.read()", str(store)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
    yield store
    assert holder.stdin is not None
    holder.stdin.close()
    holder.wait(timeout=30)
    holder.stdout.close()


def test_1_investigate_while_another_process_holds_the_log_store(held_log_store: Path) -> None:
    line = one_line_error(runner.invoke(app, ["investigate", "--driver", "playbook"]))
    assert f"the embedded log store {held_log_store} is in use by pid" in line
    assert "stop that process" in line


def test_2_investigate_the_compose_lab_when_it_is_not_running(tmp_path: Path, lab_dir: Path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(fake_docker(tmp_path / "bin", running="")))
    line = one_line_error(runner.invoke(app, ["investigate", "--stack", "docker", "--driver", "playbook"]))
    assert "the compose lab is not running" in line and "sre-lab up --docker" in line


@pytest.mark.parametrize("command", [["status", "--docker"], ["down", "--docker"]])
def test_3_to_6_docker_commands_without_docker_or_its_compose_plugin(
    command: list[str], tmp_path: Path, lab_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    line = one_line_error(runner.invoke(app, command))
    assert "Docker is not installed" in line and "sre-lab up --embedded" in line
    monkeypatch.setenv("PATH", str(fake_docker(tmp_path / "bin", compose=False)))
    line = one_line_error(runner.invoke(app, command))
    assert "compose plugin (v2) is missing" in line
    monkeypatch.setenv("PATH", str(fake_docker(tmp_path / "bin2", daemon=False)))
    line = one_line_error(runner.invoke(app, command))
    assert "daemon is not reachable (Cannot connect to the Docker daemon)" in line


def test_7_seed_cluster_out_at_a_file(tmp_path: Path, lab_dir: Path) -> None:
    target = tmp_path / "snapshot.json"
    target.write_text("{}")
    line = one_line_error(runner.invoke(app, ["seed", "cluster", "--out", str(target), "--now", NOW]))
    assert f"{target} exists and is not a directory" in line
    assert target.read_text() == "{}"


def test_8_seed_cluster_out_at_an_unwritable_path(tmp_path: Path, lab_dir: Path) -> None:
    if os.geteuid() == 0:
        target = Path("/sys/sre-lab-snapshot")  # root may write anywhere but sysfs
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        target = locked / "snapshot"
    line = one_line_error(runner.invoke(app, ["seed", "cluster", "--out", str(target), "--now", NOW]))
    assert "permission denied" in line.lower() or "not permitted" in line.lower()


def test_9_seed_runbooks_with_chroma_unreachable(lab_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KB_MCP_CHROMA_URL", f"http://127.0.0.1:{closed_port()}")
    line = one_line_error(runner.invoke(app, ["seed", "runbooks"]))
    assert "127.0.0.1" in line and "Chroma" in line


@pytest.mark.parametrize("client", ["claude-desktop", "claude-code"])
def test_10_11_config_write_path_at_a_directory(client: str, tmp_path: Path, lab_dir: Path) -> None:
    command = ["config", client, "--mode", "docker", "--path", str(tmp_path)]
    line = one_line_error(runner.invoke(app, [*command, "--write"] if client == "claude-desktop" else command))
    assert f"{tmp_path} is a directory" in line and "nothing was changed" in line


# (12 and 13, the agent driver with the API unreachable or a bad key, need a seeded lab with its servers:
#  tests/test_investigate.py runs them through the CLI against the stack.)


# -- the docker path: the same pre-flight, and a failed check fails `up` ------------------------------------


def test_up_docker_without_a_daemon_says_what_to_do(tmp_path: Path, lab_dir: Path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(fake_docker(tmp_path / "bin", daemon=False)))
    line = one_line_error(runner.invoke(app, ["up", "--docker"]))
    assert "daemon is not reachable" in line and "sre-lab up --embedded" in line


def test_up_docker_fails_when_the_servers_fail_their_checks(tmp_path: Path, lab_dir: Path, monkeypatch) -> None:
    # compose "succeeds" but no server answers MCP: `up` must fail, naming each server and why
    monkeypatch.setenv("PATH", str(fake_docker(tmp_path / "bin")))
    home = tmp_path / "checkout"
    (home / "lab").mkdir(parents=True)
    (home / "compose.yaml").write_text("services: {}\n")
    (home / "lab" / "pyproject.toml").write_text("")
    monkeypatch.setenv("SRE_LAB_HOME", str(home))
    result = runner.invoke(app, ["up", "--docker", "--now", NOW])
    line = one_line_error(result)
    assert "3 of 3 servers failed their check (k8s-mcp, logs-mcp, kb-mcp)" in line
    assert "failed" in result.stdout and "Next" not in result.stdout
    env = (home / ".lab" / "lab.env").read_text()
    assert f"SCENARIO_NOW={NOW}" in env and stat.S_IMODE((home / ".lab" / "lab.env").stat().st_mode) == 0o600


def test_docker_commands_outside_a_checkout_say_where_to_run_them(
    tmp_path: Path, lab_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(fake_docker(tmp_path / "bin")))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sre_lab.paths.find_checkout", lambda start=None, env=None: None)
    line = one_line_error(runner.invoke(app, ["status", "--docker"]))
    assert "no lab checkout here" in line and "SRE_LAB_HOME" in line
    assert not (tmp_path / ".lab").exists(), "nothing written where it does not belong"


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
    no_answer = runner.invoke(app, ["down", "--volumes"], input="")
    assert no_answer.exit_code == 1 and lab_dir.is_dir()
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


def test_help_shows_choices_and_defaults() -> None:
    text = " ".join(runner.invoke(app, ["investigate", "--help"]).stdout.split())
    assert "<text|markdown|json>" in text and "[default: text]" in text
    assert "<auto|playbook|agent>" in text and "[default: 40; 1<=x<=200]" in text
    config = " ".join(runner.invoke(app, ["config", "claude-desktop", "--help"]).stdout.split())
    assert "<docker|embedded>" in config and "[default: docker]" in config
    assert "[default: the platform's Claude Desktop path]" in config
