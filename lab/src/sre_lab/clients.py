"""MCP client configuration: what to paste into (or merge into) Claude Desktop, Claude Code or anything else.

The merge keeps every other key and server, backs the old file up first, writes atomically, and refuses to
touch a file that is not valid JSON (a half-edited config is the user's, not ours to "fix"). The file keeps
its mode and owner (a 0600 config holding another server's token stays 0600), a symlinked config is written
through to its target (the link stays a link), and nothing is written or backed up when nothing changes.
The embedded entries pin logs-mcp to the lab's scenario clock, so Claude answers like `sre-lab investigate`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from sre_lab.servers import SERVERS, console_script, docker_cli_env, docker_exec_args

Mode = Literal["docker", "embedded"]


class ConfigFileError(Exception):
    """The client's config file cannot be merged safely; the message says why and what to do."""


def claude_desktop_config_path(
    platform: str | None = None, env: Mapping[str, str] | None = None, home: Path | None = None
) -> Path:
    """Where Claude Desktop reads its config on macOS, Windows and Linux."""
    platform = platform or sys.platform
    env = os.environ if env is None else env
    home = home or Path.home()
    if platform == "darwin":
        return home / "Library" / "Application Support" / "Claude" / "claude_desktop_config.json"
    if platform.startswith("win"):
        appdata = env.get("APPDATA")
        base = Path(appdata) if appdata else home / "AppData" / "Roaming"
        return base / "Claude" / "claude_desktop_config.json"
    base = Path(env["XDG_CONFIG_HOME"]) if env.get("XDG_CONFIG_HOME") else home / ".config"
    return base / "Claude" / "claude_desktop_config.json"


def server_entries(
    mode: Mode, data_dir: Path, audit_dir: Path, scenario_now: str | None = None
) -> dict[str, dict[str, Any]]:
    """The `mcpServers` entries for the three servers.

    docker: stdio through `docker exec -i <container> <server> --transport stdio` (the containers already
    have their stores, audit paths and scenario clock in their environment). embedded: the venv's console
    scripts with absolute paths, pointed at the embedded stores under `data_dir` and the scenario clock.
    """
    entries: dict[str, dict[str, Any]] = {}
    for server in SERVERS:
        if mode == "docker":
            entries[server.key] = {"command": "docker", "args": docker_exec_args(server)}
            if docker_env := docker_cli_env():  # e.g. Podman's socket in DOCKER_HOST: the client must pass it on
                entries[server.key]["env"] = docker_env
        else:
            command = console_script(server.name) or str(Path(sys.executable).parent / server.name)
            entries[server.key] = {
                "command": str(Path(command).absolute()),
                "args": [],
                "env": server.embedded_env(data_dir.absolute(), audit_dir.absolute(), scenario_now),
            }
    return entries


@dataclass(frozen=True)
class MergeResult:
    path: Path  # the file written (a symlink's target)
    backup: Path | None
    added: list[str]
    updated: list[str]
    unchanged: list[str]
    kept: list[str]

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated)


def merge_servers(path: Path, entries: Mapping[str, Mapping[str, Any]], clock: datetime | None = None) -> MergeResult:
    """Merge `entries` into the `mcpServers` of the JSON file at `path` (created if missing)."""
    target = path.resolve() if path.is_symlink() else path  # write through the link; the link stays
    if target.is_dir():
        raise ConfigFileError(f"{path} is a directory: give the path of the config file; nothing was changed")
    data: dict[str, Any] = {}
    exists = target.exists()
    if exists:
        text = target.read_text(encoding="utf-8")
        try:
            loaded = json.loads(text) if text.strip() else {}
        except json.JSONDecodeError as exc:
            raise ConfigFileError(
                f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
                "fix or move it, then run this again. Nothing was changed."
            ) from None
        if not isinstance(loaded, dict):
            raise ConfigFileError(f"{path} holds a JSON {type(loaded).__name__}, not an object; nothing was changed")
        if not isinstance(loaded.get("mcpServers", {}), dict):
            raise ConfigFileError(f"{path}: 'mcpServers' is not an object; nothing was changed")
        data = loaded
    servers: dict[str, Any] = dict(data.get("mcpServers", {}))
    added = [key for key in entries if key not in servers]
    updated = [key for key in entries if key in servers and servers[key] != entries[key]]
    unchanged = [key for key in entries if key in servers and servers[key] == entries[key]]
    kept = [key for key in servers if key not in entries]
    if exists and not (added or updated):
        return MergeResult(target, None, added, updated, unchanged, kept)
    backup = None
    if exists:
        stamp = (clock or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
        backup = target.with_name(f"{target.name}.bak-{stamp}")
        shutil.copy2(target, backup)  # keeps the mode: a private config's backup stays private
    servers.update({key: dict(value) for key, value in entries.items()})
    data["mcpServers"] = servers
    _replace(target, json.dumps(data, indent=2) + "\n")
    return MergeResult(target, backup, added, updated, unchanged, kept)


def _replace(target: Path, text: str) -> None:
    """Write `text` to `target` atomically, keeping its mode and owner (a new file is private: 0600)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    before = target.stat() if target.exists() else None
    descriptor, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as fh:
            fh.write(text)
            if before is not None:
                _keep_mode_and_owner(fh.fileno(), before)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


def _keep_mode_and_owner(descriptor: int, before: os.stat_result) -> None:
    """Give the new file the old one's mode and owner. POSIX only: Windows has neither (a file's access is its
    folder's ACL, which the replacement inherits), nor os.fchmod, os.fchown or os.getuid."""
    if sys.platform == "win32":
        return
    os.fchmod(descriptor, before.st_mode & 0o7777)
    if (before.st_uid, before.st_gid) != (os.getuid(), os.getgid()):
        # only root may give a file away; anyone else keeps the group at best
        with contextlib.suppress(PermissionError):
            os.fchown(descriptor, before.st_uid, before.st_gid)


def pinned_clock(path: Path) -> str | None:
    """The scenario clock a client config pins logs-mcp to (None: no lab entry, or not pinned)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        entry = data["mcpServers"][next(s.key for s in SERVERS if s.name == "logs-mcp")]
        return str(entry["env"]["LOGS_MCP_FIXED_NOW"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def generic_config(
    mode: Mode, data_dir: Path, audit_dir: Path, api_key: str | None, scenario_now: str | None = None
) -> dict[str, Any]:
    """A client-neutral description: stdio commands, and in docker mode the HTTP endpoints too."""
    servers = []
    for key, entry in server_entries(mode, data_dir, audit_dir, scenario_now).items():
        server = next(s for s in SERVERS if s.key == key)
        item: dict[str, Any] = {"name": key, "server": server.name, "transport": "stdio", **entry}
        servers.append(item)
        if mode == "docker":
            http: dict[str, Any] = {
                "name": f"{key}-http",
                "server": server.name,
                "transport": "streamable-http",
                "url": f"http://127.0.0.1:{server.http_port}/mcp",
                "headers": {"Authorization": f"Bearer {api_key or '<LAB_API_KEYS key from .lab/lab.env>'}"},
            }
            servers.append(http)
    return {"servers": servers}
