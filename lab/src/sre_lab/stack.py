"""The lab's servers and how each stack (embedded processes, or the compose containers) runs them.

One table of servers serves `sre-lab up`, `status`, `config claude-desktop` and `investigate`, so the
command a test runs is the command Claude Desktop runs.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mcp import Client, StdioServerParameters

from kb_mcp.config import default_onnx_cache_dir
from sre_lab.paths import EmbeddedStores


@dataclass(frozen=True)
class ServerDef:
    name: str  # the server and its console script, e.g. k8s-mcp
    key: str  # the mcpServers entry name Claude Desktop shows
    container: str  # the compose container name (compose.yaml sets container_name)
    env_prefix: str
    http_port: int  # published on 127.0.0.1 by compose.yaml

    def embedded_env(self, data_dir: Path, audit_dir: Path) -> dict[str, str]:
        """The environment that points this server at the embedded stores under `data_dir`."""
        stores = EmbeddedStores(data_dir)
        env = {f"{self.env_prefix}AUDIT_LOG": str(audit_dir / f"{self.name}.jsonl")}
        if self.name == "k8s-mcp":
            env |= {"K8S_MCP_BACKEND": "snapshot", "K8S_MCP_SNAPSHOT_DIR": str(stores.cluster)}
        elif self.name == "logs-mcp":
            env |= {"LOGS_MCP_DATA_DIR": str(stores.clickhouse)}
        elif self.name == "kb-mcp":
            env |= {
                "KB_MCP_CHROMA_PATH": str(stores.chroma),
                "KB_MCP_CORPUS_CACHE_DIR": str(stores.kb_corpus_cache),
                # the export `make setup` made, wherever the client's own environment puts its cache
                "KB_MCP_ONNX_CACHE_DIR": os.environ.get("KB_MCP_ONNX_CACHE_DIR") or str(default_onnx_cache_dir()),
            }
        return env


SERVERS: tuple[ServerDef, ...] = (
    ServerDef("k8s-mcp", "kubernetes", "sre-lab-k8s-mcp", "K8S_MCP_", 8101),
    ServerDef("logs-mcp", "clickhouse-logs", "sre-lab-logs-mcp", "LOGS_MCP_", 8102),
    ServerDef("kb-mcp", "sre-knowledge-base", "sre-lab-kb-mcp", "KB_MCP_", 8103),
)


def console_script(name: str) -> str | None:
    """The server's console script next to this interpreter (the venv), else on PATH."""
    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else shutil.which(name)


def embedded_params(
    server: ServerDef, data_dir: Path, audit_dir: Path, base_env: Mapping[str, str]
) -> StdioServerParameters:
    command = console_script(server.name)
    if command is None:
        raise FileNotFoundError(f"{server.name} is not installed in this environment (run make setup)")
    return StdioServerParameters(command=command, args=[], env={**base_env, **server.embedded_env(data_dir, audit_dir)})


def docker_exec_args(server: ServerDef) -> list[str]:
    """How Claude Desktop talks to the compose container: stdio through docker exec."""
    return ["exec", "-i", server.container, server.name, "--transport", "stdio"]


@dataclass(frozen=True)
class CheckResult:
    server: str
    ok: bool
    tools: int = 0
    seconds: float = 0.0
    error: str | None = None


async def check(server: ServerDef, params: StdioServerParameters) -> CheckResult:
    """A real MCP initialize + tools/list against the server."""
    started = time.perf_counter()
    try:
        async with Client(params) as client:
            tools = (await client.list_tools()).tools
    except Exception as exc:  # any failure to talk MCP is the finding, whatever its type
        return CheckResult(server.name, False, error=f"{type(exc).__name__}: {exc}"[:300])
    return CheckResult(server.name, True, tools=len(tools), seconds=time.perf_counter() - started)


class EmbeddedStack:
    """Every server as a local stdio process, over the embedded stores under `data_dir`."""

    kind = "embedded"

    def __init__(self, data_dir: Path, audit_dir: Path | None = None, base_env: Mapping[str, str] | None = None):
        import os

        self.data_dir = data_dir
        self.audit_dir = audit_dir or EmbeddedStores(data_dir).audit
        self.base_env = dict(os.environ if base_env is None else base_env)

    def params(self, name: str) -> StdioServerParameters:
        return embedded_params(server_named(name), self.data_dir, self.audit_dir, self.base_env)

    def client(self, name: str) -> Client:
        return Client(self.params(name))


class ComposeStack:
    """The running compose lab: stdio through `docker exec -i` into each container."""

    kind = "compose"

    def params(self, name: str) -> StdioServerParameters:
        return StdioServerParameters(command="docker", args=docker_exec_args(server_named(name)))

    def client(self, name: str) -> Client:
        return Client(self.params(name))


def server_named(name: str) -> ServerDef:
    for server in SERVERS:
        if name in (server.name, server.key):
            return server
    raise KeyError(f"no server {name!r}; servers: {', '.join(s.name for s in SERVERS)}")
