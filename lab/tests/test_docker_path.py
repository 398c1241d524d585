"""The docker path as far as it goes without an engine: secrets file, commands, pre-flight errors."""

from __future__ import annotations

import socket
import stat
from pathlib import Path

import pytest

from sre_lab.docker import DockerError, down_command, ensure_env_file, lab_api_key, preflight, read_env_file, up_command


def test_env_file_is_private_generated_once_and_completed(tmp_path: Path) -> None:
    path = tmp_path / ".lab" / "lab.env"
    first = ensure_env_file(path)
    assert set(first) == {"CLICKHOUSE_READER_PASSWORD", "CLICKHOUSE_WRITER_PASSWORD", "LAB_API_KEYS", "SCENARIO_NOW"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert first["CLICKHOUSE_READER_PASSWORD"] != first["CLICKHOUSE_WRITER_PASSWORD"]
    assert len(lab_api_key(first) or "") >= 16
    assert ensure_env_file(path) == first, "idempotent: existing secrets (and the clock) are kept"
    path.write_text("LAB_API_KEYS=lab:keep-this-key-123456\n")
    completed = ensure_env_file(path)
    assert completed["LAB_API_KEYS"] == "lab:keep-this-key-123456" and "CLICKHOUSE_READER_PASSWORD" in completed
    assert read_env_file(path) == completed


def test_compose_commands_use_absolute_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COMPOSE_FILE", raising=False)
    env, compose = tmp_path / ".lab" / "lab.env", tmp_path / "compose.yaml"
    assert up_command(compose, env) == [
        "docker",
        "compose",
        "--env-file",
        str(env),
        "-f",
        str(compose),
        "up",
        "-d",
        "--build",
        "--wait",
    ]
    assert down_command(compose, env, volumes=True)[-2:] == ["down", "--volumes"]


def test_compose_file_names_the_files_when_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """compose's own COMPOSE_FILE (compose.yaml plus an override, as make test-stack sets it) replaces -f."""
    monkeypatch.setenv("COMPOSE_FILE", "compose.yaml:.ci/stack/compose.test.yaml")
    command = up_command(tmp_path / "compose.yaml", tmp_path / "lab.env")
    assert "-f" not in command and command[-4:] == ["up", "-d", "--build", "--wait"]
    assert up_command(tmp_path / "compose.yaml", tmp_path / "lab.env", build=False)[-3:] == ["up", "-d", "--wait"]


def test_env_file_carries_the_scenario_clock(tmp_path: Path) -> None:
    path = tmp_path / "lab.env"
    first = ensure_env_file(path, "2026-11-26T14:23:30Z")
    assert first["SCENARIO_NOW"] == "2026-11-26T14:23:30Z"
    assert ensure_env_file(path)["SCENARIO_NOW"] == "2026-11-26T14:23:30Z", "kept until a new clock is given"
    moved = ensure_env_file(path, "2026-12-01T08:00:00Z")
    assert moved["SCENARIO_NOW"] == "2026-12-01T08:00:00Z" and moved["LAB_API_KEYS"] == first["LAB_API_KEYS"]


def fake_docker(bin_dir: Path, info_exit: int) -> None:
    bin_dir.mkdir()
    script = bin_dir / "docker"
    script.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = info ]; then echo "Cannot connect to the Docker daemon" >&2; exit {info_exit}; fi\n'
        'if [ "$1" = compose ]; then echo "Docker Compose version v2.29.0"; exit 0; fi\n'
        "exit 0\n"
    )
    script.chmod(0o755)


def test_docker_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(DockerError, match=r"Docker is not installed.*sre-lab up --embedded"):
        preflight()


def test_daemon_not_running(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_docker(tmp_path / "bin", info_exit=1)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    with pytest.raises(DockerError, match=r"daemon is not reachable \(Cannot connect to the Docker daemon\)"):
        preflight()


def test_port_taken(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_docker(tmp_path / "bin", info_exit=0)
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(DockerError, match=rf"ports in use on 127.0.0.1: {port}"):
            preflight(ports=(port,))
    assert preflight(ports=(port,)).docker.endswith("docker")
