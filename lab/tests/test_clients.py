"""The MCP client config writer on real files: merge, backup, refusal of invalid JSON, platform paths."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sre_lab.clients import (
    ConfigFileError,
    claude_desktop_config_path,
    generic_config,
    merge_servers,
    pinned_clock,
    server_entries,
)

CLOCK = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)


def test_platform_paths() -> None:
    home = Path("/home/ana")
    assert claude_desktop_config_path("darwin", {}, home) == Path(
        "/home/ana/Library/Application Support/Claude/claude_desktop_config.json"
    )
    assert (
        claude_desktop_config_path("win32", {"APPDATA": r"C:\Users\ana\AppData\Roaming"}, home)
        == Path(r"C:\Users\ana\AppData\Roaming") / "Claude" / "claude_desktop_config.json"
    )
    assert claude_desktop_config_path("linux", {}, home) == Path("/home/ana/.config/Claude/claude_desktop_config.json")
    assert claude_desktop_config_path("linux", {"XDG_CONFIG_HOME": "/x"}, home) == Path(
        "/x/Claude/claude_desktop_config.json"
    )


def test_docker_entries_exec_into_the_containers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CONFIG", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY"):
        monkeypatch.delenv(name, raising=False)
    entries = server_entries("docker", tmp_path / "data", tmp_path / "audit")
    assert set(entries) == {"kubernetes", "clickhouse-logs", "sre-knowledge-base"}
    assert entries["kubernetes"] == {
        "command": "docker",
        "args": ["exec", "-i", "sre-lab-k8s-mcp", "k8s-mcp", "--transport", "stdio"],
    }


def test_docker_entries_hand_on_the_docker_cli_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Podman socket in DOCKER_HOST: Claude Desktop starts `docker exec` without the shell's environment, so the
    entry carries it."""
    monkeypatch.setenv("DOCKER_HOST", "unix:///run/podman/podman.sock")
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
    entry = server_entries("docker", tmp_path, tmp_path)["kubernetes"]
    assert entry["command"] == "docker" and entry["env"]["DOCKER_HOST"] == "unix:///run/podman/podman.sock"


def test_embedded_entries_use_absolute_paths(tmp_path: Path) -> None:
    entries = server_entries("embedded", Path("rel/data"), Path("rel/audit"))
    k8s = entries["kubernetes"]
    assert Path(k8s["command"]).is_absolute() and k8s["command"].endswith("k8s-mcp")
    assert Path(k8s["env"]["K8S_MCP_SNAPSHOT_DIR"]).is_absolute()
    assert k8s["env"]["K8S_MCP_BACKEND"] == "snapshot"
    assert Path(entries["clickhouse-logs"]["env"]["LOGS_MCP_AUDIT_LOG"]).is_absolute()
    kb = entries["sre-knowledge-base"]["env"]
    # the seeding writes the corpus copy there, and `make setup` the ONNX export: the client's server finds both
    assert Path(kb["KB_MCP_CORPUS_CACHE_DIR"]) == (Path("rel/data") / "kb-corpus-cache").resolve()
    assert Path(kb["KB_MCP_ONNX_CACHE_DIR"]).is_absolute()


def test_merge_keeps_other_servers_and_keys_and_backs_up(tmp_path: Path) -> None:
    path = tmp_path / "claude_desktop_config.json"
    original = {
        "globalShortcut": "Ctrl+Space",
        "mcpServers": {"github": {"command": "gh-mcp"}, "kubernetes": {"command": "old"}},
    }
    path.write_text(json.dumps(original))
    entries = server_entries("docker", tmp_path, tmp_path)
    result = merge_servers(path, entries, clock=CLOCK)
    merged = json.loads(path.read_text())
    assert merged["globalShortcut"] == "Ctrl+Space"
    assert merged["mcpServers"]["github"] == {"command": "gh-mcp"}
    assert merged["mcpServers"]["kubernetes"] == entries["kubernetes"]
    assert result.updated == ["kubernetes"] and result.kept == ["github"]
    assert sorted(result.added) == ["clickhouse-logs", "sre-knowledge-base"]
    assert result.backup == tmp_path / "claude_desktop_config.json.bak-20261126T140000Z"
    assert json.loads(result.backup.read_text()) == original
    before = sorted(p.name for p in tmp_path.iterdir())
    again = merge_servers(path, entries, clock=datetime(2026, 11, 27, tzinfo=UTC))
    assert again.unchanged == list(entries) and again.added == [] and again.updated == []
    assert not again.changed and again.backup is None
    assert sorted(p.name for p in tmp_path.iterdir()) == before, "nothing changed: no write, no new backup"


def test_a_private_config_stays_private_and_its_owner_stays(tmp_path: Path) -> None:
    path = tmp_path / "claude_desktop_config.json"
    path.write_text(json.dumps({"mcpServers": {"github": {"env": {"GITHUB_TOKEN": "ghp_secret"}}}}))
    path.chmod(0o600)
    owner = (path.stat().st_uid, path.stat().st_gid)
    result = merge_servers(path, server_entries("docker", tmp_path, tmp_path), clock=CLOCK)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert (path.stat().st_uid, path.stat().st_gid) == owner
    assert result.backup is not None and stat.S_IMODE(result.backup.stat().st_mode) == 0o600
    path.chmod(0o644)  # a shared one stays shared
    merge_servers(path, server_entries("embedded", tmp_path, tmp_path, "2026-11-26T14:23:30Z"), clock=CLOCK)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_a_config_of_another_user_keeps_its_owner(tmp_path: Path) -> None:
    # `sudo sre-lab config … --write` on the user's own file must not hand it to root
    if os.geteuid() != 0:
        pytest.skip("only root can write a file another user owns and give it back")
    path = tmp_path / "claude_desktop_config.json"
    path.write_text(json.dumps({"mcpServers": {}}))
    path.chmod(0o600)
    os.chown(path, 65534, 65534)
    merge_servers(path, server_entries("docker", tmp_path, tmp_path), clock=CLOCK)
    after = path.stat()
    assert (after.st_uid, after.st_gid, stat.S_IMODE(after.st_mode)) == (65534, 65534, 0o600)


_WINDOWS = """
import importlib, json, os, pkgutil, sys
from pathlib import Path
for name in ("fchmod", "fchown", "chown", "lchown", "getuid", "getgid", "geteuid", "getegid"):
    delattr(os, name)  # what Windows' os module does not have
import sre_lab
for module in pkgutil.walk_packages(sre_lab.__path__, "sre_lab."):
    importlib.import_module(module.name)
sys.platform = "win32"
from sre_lab.clients import merge_servers, server_entries
folder = Path(sys.argv[1])
existing = folder / "claude_desktop_config.json"
existing.write_text(json.dumps({"mcpServers": {"github": {"command": "gh"}}}))
for path in (existing, folder / "new" / "claude_desktop_config.json"):
    merge_servers(path, server_entries("docker", folder, folder))
    print(sorted(json.loads(path.read_text())["mcpServers"]))
"""


def test_the_writer_and_every_module_work_without_posix_only_functions(tmp_path: Path) -> None:
    # Claude Desktop runs on Windows: nothing of the lab may call os.fchown/getuid at import or unguarded
    result = subprocess.run(
        [sys.executable, "-c", _WINDOWS, str(tmp_path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "['clickhouse-logs', 'github', 'kubernetes', 'sre-knowledge-base']",
        "['clickhouse-logs', 'kubernetes', 'sre-knowledge-base']",
    ]


def test_a_new_config_is_created_private(tmp_path: Path) -> None:
    path = tmp_path / "Claude" / "claude_desktop_config.json"
    merge_servers(path, server_entries("docker", tmp_path, tmp_path))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_symlinked_config_is_written_through_and_stays_a_link(tmp_path: Path) -> None:
    dotfiles = tmp_path / "dotfiles" / "claude.json"
    dotfiles.parent.mkdir()
    dotfiles.write_text(json.dumps({"mcpServers": {"github": {"command": "gh"}}}))
    link = tmp_path / "Claude" / "claude_desktop_config.json"
    link.parent.mkdir()
    link.symlink_to(dotfiles)
    result = merge_servers(link, server_entries("docker", tmp_path, tmp_path), clock=CLOCK)
    assert link.is_symlink() and link.resolve() == dotfiles.resolve()
    assert result.path == dotfiles.resolve()
    assert set(json.loads(dotfiles.read_text())["mcpServers"]) >= {"github", "kubernetes"}
    assert result.backup is not None and result.backup.parent == dotfiles.parent


def test_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match="is a directory"):
        merge_servers(tmp_path, server_entries("docker", tmp_path, tmp_path))


def test_embedded_entries_pin_logs_mcp_to_the_scenario_clock(tmp_path: Path) -> None:
    entries = server_entries("embedded", tmp_path, tmp_path, "2026-11-26T14:23:30Z")
    assert entries["clickhouse-logs"]["env"]["LOGS_MCP_FIXED_NOW"] == "2026-11-26T14:23:30Z"
    path = tmp_path / "claude_desktop_config.json"
    merge_servers(path, entries)
    assert pinned_clock(path) == "2026-11-26T14:23:30Z"
    assert pinned_clock(tmp_path / "missing.json") is None


def test_missing_file_is_created_without_backup(tmp_path: Path) -> None:
    path = tmp_path / "new" / "claude_desktop_config.json"
    result = merge_servers(path, server_entries("docker", tmp_path, tmp_path))
    assert result.backup is None and set(json.loads(path.read_text())["mcpServers"]) == set(result.added)


@pytest.mark.parametrize("text", ['{"mcpServers": {', "[1, 2]", '{"mcpServers": []}'])
def test_invalid_json_is_refused_and_left_untouched(tmp_path: Path, text: str) -> None:
    path = tmp_path / "claude_desktop_config.json"
    path.write_text(text)
    with pytest.raises(ConfigFileError, match=r"(?i)nothing was changed"):
        merge_servers(path, server_entries("docker", tmp_path, tmp_path))
    assert path.read_text() == text
    assert list(tmp_path.iterdir()) == [path], "no backup, no temp file"


def test_generic_config_lists_stdio_and_http(tmp_path: Path) -> None:
    config = generic_config("docker", tmp_path, tmp_path, "k3y")
    http = [s for s in config["servers"] if s["transport"] == "streamable-http"]
    assert [s["url"] for s in http] == [
        "http://127.0.0.1:8101/mcp",
        "http://127.0.0.1:8102/mcp",
        "http://127.0.0.1:8103/mcp",
    ]
    assert http[0]["headers"] == {"Authorization": "Bearer k3y"}
