"""The lab's three servers: names, containers, ports and the environment that points each at the embedded
stores. No MCP here (the SDK takes a second to import): the config writers and the CLI read this table."""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from sre_lab.paths import EmbeddedStores


@dataclass(frozen=True)
class ServerDef:
    name: str  # the server and its console script, e.g. k8s-mcp
    key: str  # the mcpServers entry name Claude Desktop shows
    container: str  # the compose container name (compose.yaml sets container_name)
    env_prefix: str
    http_port: int  # published on 127.0.0.1 by compose.yaml

    def embedded_env(self, data_dir: Path, audit_dir: Path, scenario_now: str | None = None) -> dict[str, str]:
        """The environment that points this server at the embedded stores under `data_dir`, and (logs-mcp)
        at the scenario clock; k8s-mcp takes its clock from the snapshot it reads, kb-mcp has none."""
        stores = EmbeddedStores(data_dir)
        env = {f"{self.env_prefix}AUDIT_LOG": str(audit_dir / f"{self.name}.jsonl")}
        if self.name == "k8s-mcp":
            env |= {"K8S_MCP_BACKEND": "snapshot", "K8S_MCP_SNAPSHOT_DIR": str(stores.cluster)}
        elif self.name == "logs-mcp":
            env |= {"LOGS_MCP_DATA_DIR": str(stores.clickhouse)}
            if scenario_now:
                env |= {"LOGS_MCP_FIXED_NOW": scenario_now}
        elif self.name == "kb-mcp":
            env |= {
                "KB_MCP_CHROMA_PATH": str(stores.chroma),
                "KB_MCP_CORPUS_CACHE_DIR": str(stores.kb_corpus_cache),
                # the export `make setup` made, wherever the client's own environment puts its cache
                "KB_MCP_ONNX_CACHE_DIR": os.environ.get("KB_MCP_ONNX_CACHE_DIR") or str(_onnx_cache_dir()),
            }
        return env


SERVERS: tuple[ServerDef, ...] = (
    ServerDef("k8s-mcp", "kubernetes", "sre-lab-k8s-mcp", "K8S_MCP_", 8101),
    ServerDef("logs-mcp", "clickhouse-logs", "sre-lab-logs-mcp", "LOGS_MCP_", 8102),
    ServerDef("kb-mcp", "sre-knowledge-base", "sre-lab-kb-mcp", "KB_MCP_", 8103),
)


def server_named(name: str) -> ServerDef:
    for server in SERVERS:
        if name in (server.name, server.key):
            return server
    raise KeyError(f"no server {name!r}; servers: {', '.join(s.name for s in SERVERS)}")


def console_script(name: str) -> str | None:
    """The server's console script next to this interpreter (the venv), else on PATH."""
    local = Path(sys.executable).parent / name
    return str(local) if local.exists() else shutil.which(name)


def docker_exec_args(server: ServerDef) -> list[str]:
    """How Claude Desktop talks to the compose container: stdio through docker exec."""
    return ["exec", "-i", server.container, server.name, "--transport", "stdio"]


# The docker CLI's own settings. An engine other than the default socket (Podman's, a remote one) is reached
# through them, and an MCP client starts `docker exec` with a minimal environment unless it is given them.
DOCKER_CLI_ENV = ("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CONFIG", "DOCKER_CERT_PATH", "DOCKER_TLS_VERIFY")


def docker_cli_env() -> dict[str, str]:
    """The docker CLI settings of this environment, to hand on to `docker exec` (empty for the default engine)."""
    return {name: value for name in DOCKER_CLI_ENV if (value := os.environ.get(name))}


def _onnx_cache_dir() -> Path:
    from kb_mcp.config import default_onnx_cache_dir  # noqa: PLC0415 - kb-mcp's settings module: loaded only for embedded entries

    return default_onnx_cache_dir()
