"""The process boundary: a real stdio subprocess and a real HTTP server (no key, wrong key, right key)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

KEY = "lab-key-0123456789abcdef"


def server_env(snapshot_dir: Path, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("K8S_MCP_")}
    env.update(
        K8S_MCP_BACKEND="snapshot",
        K8S_MCP_SNAPSHOT_DIR=str(snapshot_dir),
        K8S_MCP_AUDIT_LOG=str(tmp_path / "audit.jsonl"),
        **extra,
    )
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_stdio_stdout_carries_only_json_rpc(snapshot_dir: Path, tmp_path: Path) -> None:
    messages = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "t", "version": "0"},
            },
        },
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "list_pods", "arguments": {"namespace": "payments"}},
        },
        {
            "jsonrpc": "2.0",
            "id": 3,
            "method": "tools/call",
            "params": {"name": "list_pods", "arguments": {"namespace": "kube-system"}},
        },
    ]
    proc = subprocess.Popen(
        [sys.executable, "-m", "k8s_mcp"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=server_env(snapshot_dir, tmp_path),
    )
    assert proc.stdin is not None and proc.stdout is not None
    # Keep stdin open until every reply is in: at EOF a stdio server may rightly stop.
    for message in messages:
        proc.stdin.write(json.dumps(message) + "\n")
    proc.stdin.flush()
    lines = []
    while len([line for line in lines if '"id"' in line]) < 3:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
    proc.stdin.close()
    lines += proc.stdout.read().splitlines()
    stderr = proc.stderr.read() if proc.stderr else ""
    proc.wait(timeout=30)
    proc.stdout.close()
    if proc.stderr:
        proc.stderr.close()

    replies = [json.loads(line) for line in lines if line.strip()]  # every stdout line is JSON ...
    assert all(r.get("jsonrpc") == "2.0" for r in replies)  # ... and JSON-RPC
    by_id = {r["id"]: r for r in replies if "id" in r}
    assert by_id[1]["result"]["serverInfo"]["name"] == "k8s-mcp"
    assert "payment-gw-def34" in json.dumps(by_id[2]["result"])
    assert by_id[3]["result"]["isError"] is True
    assert proc.returncode == 0, stderr


@pytest.mark.anyio
async def test_stdio_session_with_the_sdk_client(snapshot_dir: Path, tmp_path: Path) -> None:
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "k8s_mcp"], env=server_env(snapshot_dir, tmp_path)
    )
    async with Client(params) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        logs = await client.call_tool(
            "get_pod_logs", {"namespace": "payments", "pod_name": "payment-gw-def34", "previous": True}
        )
    assert "diagnose_deployment" in names
    assert "OutOfMemoryError" in json.dumps(logs.structured_content)
    audit = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert audit[-1]["client"] == "stdio" and audit[-1]["tool"] == "get_pod_logs"


def test_http_refuses_to_start_without_keys(snapshot_dir: Path, tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "k8s_mcp", "--transport", "http", "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=60,
        env=server_env(snapshot_dir, tmp_path),
        check=False,
    )
    assert proc.returncode == 2
    assert "refusing to serve HTTP without API keys" in proc.stderr and "K8S_MCP_API_KEYS" in proc.stderr


def test_missing_backend_is_a_clear_start_up_error(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("K8S_MCP_")}
    proc = subprocess.run(
        [sys.executable, "-m", "k8s_mcp"], capture_output=True, text=True, timeout=60, env=env, check=False, input=""
    )
    assert proc.returncode == 2
    assert "no Kubernetes backend configured" in proc.stderr and "K8S_MCP_BACKEND=snapshot" in proc.stderr


@pytest.fixture
def http_server(snapshot_dir: Path, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    log = tmp_path / "server.log"
    with log.open("w") as sink:
        proc = subprocess.Popen(
            [sys.executable, "-m", "k8s_mcp", "--transport", "http", "--port", str(port)],
            env=server_env(snapshot_dir, tmp_path, K8S_MCP_API_KEYS=f"claude:{KEY}"),
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"server did not start: {log.read_text()}")
        time.sleep(0.1)  # polling a real process for readiness, not waiting on behaviour
    yield base
    proc.terminate()
    proc.wait(timeout=10)


def test_http_without_or_with_wrong_key_is_401(http_server: str) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    headers = {"Accept": "application/json, text/event-stream"}
    assert httpx.post(f"{http_server}/mcp", json=body, headers=headers).status_code == 401
    wrong = httpx.post(
        f"{http_server}/mcp", json=body, headers={**headers, "Authorization": "Bearer not-the-key-at-all"}
    )
    assert wrong.status_code == 401
    health = httpx.get(f"{http_server}/healthz")
    assert health.status_code == 200 and health.json() == {"status": "ok"}


@pytest.mark.anyio
async def test_http_with_the_right_key_serves_mcp_and_audits_the_key_name(http_server: str, tmp_path: Path) -> None:
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {KEY}"}) as http,
        Client(streamable_http_client(f"{http_server}/mcp", http_client=http)) as client,
    ):
        result = await client.call_tool("list_deployments", {"namespace": "payments"})
    assert not result.is_error
    assert any(d["name"] == "payment-gateway" for d in result.structured_content["items"])
    audit = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert audit[-1]["client"] == "claude" and audit[-1]["outcome"] == "ok"
    assert KEY not in (tmp_path / "audit.jsonl").read_text()
