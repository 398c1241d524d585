"""The embedded lab's servers built inside this process, for `sre-lab up`'s checks.

A server started as a process of its own costs 3-4 s of CPU here, two thirds of it imports (the MCP SDK alone is
1.5 s); `sre-lab up` has already paid those imports. So `up` builds each server the way its console script
does, in this process: the settings class loaded from this environment plus the lab's variables
(`ServerDef.embedded_env`, the same mapping the Claude configs and `EmbeddedStack` hand the processes), the
server's own `create_server`, then an MCP `initialize` and `tools/list` through the SDK's in-memory transport.

What this proves is what the process check proved: the settings are valid, the server builds over the seeded
stores (a missing or held store fails here, as at a process's start) and answers over MCP. What it does not
prove, `up` checks on its own (the console script is installed) or the tests do (`tests/test_conformance.py`
runs every server over stdio); `sre-lab investigate` starts the real processes.
"""

from __future__ import annotations

import importlib
import time
from typing import Any

from mcp import Client

from mcp_common.settings import load_settings
from sre_lab.servers import console_script, server_named
from sre_lab.stack import CheckResult, EmbeddedStack

# server -> (settings class, create_server) as "module:attribute", what each console script's main() uses
_FACTORIES = {
    "k8s-mcp": ("k8s_mcp.config:K8sSettings", "k8s_mcp.server:create_server"),
    "logs-mcp": ("logs_mcp.config:LogsSettings", "logs_mcp.server:create_server"),
    "kb-mcp": ("kb_mcp.config:KbSettings", "kb_mcp.server:create_server"),
}


def _attribute(path: str) -> Any:
    module, name = path.split(":")
    return getattr(importlib.import_module(module), name)


def settings_for(stack: EmbeddedStack, name: str) -> Any:
    """The settings the server's process would read: this environment with the lab's variables on top."""
    server = server_named(name)
    settings_path, _ = _FACTORIES[server.name]
    overrides = {
        variable.removeprefix(server.env_prefix).lower(): value
        for variable, value in server.embedded_env(stack.data_dir, stack.audit_dir, stack.scenario_now).items()
    }
    return load_settings(_attribute(settings_path), **overrides)


async def check_in_process(stack: EmbeddedStack, name: str) -> CheckResult:
    """Build server `name` of the embedded `stack` in this process and check it over MCP (initialize, tools/list)."""
    started = time.perf_counter()
    try:
        if console_script(name) is None:  # what the client configs start
            raise FileNotFoundError(f"{name} is not installed in this environment (run make setup)")
        server = _attribute(_FACTORIES[name][1])(settings_for(stack, name))
        async with Client(server) as client:
            tools = (await client.list_tools()).tools
    except Exception as exc:  # any failure to build or talk MCP is the finding, whatever its type
        return CheckResult(name, False, seconds=time.perf_counter() - started, error=f"{exc}"[:300])
    return CheckResult(name, True, tools=len(tools), seconds=time.perf_counter() - started)
