"""The running compose lab's containers, reached through the Docker SDK: what `make test-stack` checks after
`sre-lab up --docker`. Skipped unless pytest runs with `--stack compose`.

Every server is reached the two ways a user reaches it: stdio through `docker exec -i`, exactly as
`sre-lab config claude-desktop --mode docker` writes it, and streamable HTTP on the published port with the key
`sre-lab up --docker` generated.
"""

from __future__ import annotations

import functools
import io
import json
import re
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import docker
import httpx
import httpx2
import pytest
from docker.models.containers import Container
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from sre_lab.clients import server_entries
from sre_lab.docker import compose_command, lab_api_key, read_env_file
from sre_lab.paths import EmbeddedStores, compose_file, data_dir, env_file
from sre_lab.servers import SERVERS, ServerDef, docker_cli_env, docker_exec_args

pytestmark = pytest.mark.stack

LONG_RUNNING = ("sre-lab-clickhouse", "sre-lab-chromadb", *(s.container for s in SERVERS))
AUDIT_DIR = "/var/log/mcp"
IDS = [s.name for s in SERVERS]
# One cheap, read-only call per server, with what its answer must contain.
PROBES = {
    "k8s-mcp": ("list_pods", {"namespace": "payments"}, "payment-gw-def34"),
    "logs-mcp": ("trace_transaction", {"trace_id": "tx-abc123"}, "fraud-detection"),
    "kb-mcp": ("search_runbooks", {"query": "pods keep restarting out of memory"}, "runbook_id"),
}


@pytest.fixture(scope="module", autouse=True)
def compose_only(request: pytest.FixtureRequest) -> None:
    if request.config.getoption("--stack") != "compose":
        pytest.skip("the running compose lab only (--stack compose; make test-stack)")


@pytest.fixture(scope="module")
def engine(compose_only: None) -> Iterator[docker.DockerClient]:
    client = docker.from_env(version="auto")
    yield client
    client.close()


@pytest.fixture(scope="module")
def api_key() -> str:
    key = lab_api_key(read_env_file(env_file()))
    assert key, f"{env_file()} has no LAB_API_KEYS"
    return key


def health(container: Container) -> str:
    container.reload()
    return container.attrs["State"].get("Health", {}).get("Status", "none")


@functools.cache
def claude_desktop_entries() -> dict[str, dict[str, Any]]:
    """What `sre-lab config claude-desktop --mode docker --write` writes into a Claude Desktop config, read back."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "claude_desktop_config.json"
        argv = [sys.executable, "-m", "sre_lab", "config", "claude-desktop", "--mode", "docker", "--write"]
        written = subprocess.run([*argv, "--path", str(path)], capture_output=True, text=True, check=False)
        assert written.returncode == 0, written.stdout + written.stderr
        entries: dict[str, dict[str, Any]] = json.loads(path.read_text())["mcpServers"]
    return entries


async def call_over_stdio(server: ServerDef) -> str:
    """One probe through `docker exec -i`, with the exact command Claude Desktop is given."""
    entry = claude_desktop_entries()[server.key]
    tool, arguments, _ = PROBES[server.name]
    params = StdioServerParameters(command=entry["command"], args=entry["args"], env=entry.get("env"))
    async with Client(params) as client:
        result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content
    return str(result.structured_content)


async def call_over_http(server: ServerDef, key: str) -> str:
    tool, arguments, _ = PROBES[server.name]
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}) as http,
        Client(streamable_http_client(f"http://127.0.0.1:{server.http_port}/mcp", http_client=http)) as client,
    ):
        result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content
    return str(result.structured_content)


def test_every_long_running_container_is_healthy_and_the_seed_job_succeeded(engine: docker.DockerClient) -> None:
    for name in LONG_RUNNING:
        container = engine.containers.get(name)
        assert container.status == "running", f"{name}: {container.status}"
        assert health(container) == "healthy", f"{name}: {health(container)}"
    seed = engine.containers.get("sre-lab-seed")
    assert seed.attrs["State"]["Status"] == "exited" and seed.attrs["State"]["ExitCode"] == 0


@pytest.mark.parametrize("server", SERVERS, ids=IDS)
def test_servers_run_on_a_read_only_root_as_a_numeric_non_root_user(
    engine: docker.DockerClient, server: ServerDef
) -> None:
    container = engine.containers.get(server.container)
    assert container.attrs["HostConfig"]["ReadonlyRootfs"] is True
    user = container.attrs["Config"]["User"]
    assert re.fullmatch(r"[1-9]\d*(:\d+)?", user), f"USER must be a numeric non-root UID, not {user!r}"
    code, output = container.exec_run(["python", "-c", "import os; print(os.getuid(), os.getgid())"])
    assert code == 0 and output.split() == [b"10001", b"10001"]
    code, output = container.exec_run(["python", "-c", "open('/probe', 'w')"])
    assert code != 0 and b"Read-only file system" in output


@pytest.mark.anyio
@pytest.mark.parametrize("server", SERVERS, ids=IDS)
async def test_stdio_through_docker_exec_exactly_as_claude_desktop_is_configured(server: ServerDef) -> None:
    entry = claude_desktop_entries()[server.key]
    assert entry == server_entries("docker", data_dir(), EmbeddedStores(data_dir()).audit)[server.key]
    assert entry["command"] == "docker" and entry["args"] == docker_exec_args(server)
    assert entry.get("env", {}) == docker_cli_env(), "the docker CLI's settings (Podman's socket) are handed on"
    assert PROBES[server.name][2] in await call_over_stdio(server)


@pytest.mark.parametrize("server", SERVERS, ids=IDS)
def test_http_on_the_published_port_refuses_a_missing_or_wrong_key(server: ServerDef) -> None:
    url = f"http://127.0.0.1:{server.http_port}"
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    headers = {"Accept": "application/json, text/event-stream"}
    assert httpx.post(f"{url}/mcp", json=body, headers=headers).status_code == 401
    wrong = {**headers, "Authorization": "Bearer not-the-generated-key"}
    assert httpx.post(f"{url}/mcp", json=body, headers=wrong).status_code == 401
    assert httpx.get(f"{url}/healthz").json() == {"status": "ok"}


@pytest.mark.anyio
@pytest.mark.parametrize("server", SERVERS, ids=IDS)
async def test_http_on_the_published_port_serves_mcp_with_the_generated_key(server: ServerDef, api_key: str) -> None:
    assert PROBES[server.name][2] in await call_over_http(server, api_key)


def test_the_shared_audit_volume_verifies_after_exec_and_http_sessions_at_once(
    engine: docker.DockerClient, api_key: str, tmp_path: Path
) -> None:
    async def sessions_at_once() -> None:
        async with anyio.create_task_group() as group:
            for server in SERVERS:
                for _ in range(2):
                    group.start_soon(call_over_stdio, server)
                    group.start_soon(call_over_http, server, api_key)

    anyio.run(sessions_at_once)
    archive, _ = engine.containers.get("sre-lab-k8s-mcp").get_archive(AUDIT_DIR)
    with tarfile.open(fileobj=io.BytesIO(b"".join(archive))) as tar:
        tar.extractall(tmp_path, filter="data")
    logs = sorted((tmp_path / Path(AUDIT_DIR).name).glob("*.jsonl"))
    assert {log.stem for log in logs} == set(IDS)
    for log in logs:
        clients = {json.loads(line).get("client") for line in log.read_text().splitlines() if line}
        assert {"stdio", "lab"} <= clients, f"{log.name}: both transports audited (clients: {clients})"
        verify = subprocess.run(
            [sys.executable, "-m", "sre_lab", "audit", "verify", str(log)], capture_output=True, text=True, check=False
        )
        assert verify.returncode == 0, f"{log.name}: {verify.stdout}{verify.stderr}"


def test_a_restarted_server_comes_back_healthy_and_answers(engine: docker.DockerClient) -> None:
    server = SERVERS[1]  # logs-mcp: its store opens in the background again after the restart
    container = engine.containers.get(server.container)
    started_before = container.attrs["State"]["StartedAt"]
    container.restart(timeout=10)
    # compose waits for the healthcheck (no sleeps here): --no-deps/--no-recreate touch nothing else
    up = compose_command(
        compose_file(), env_file(), "up", "-d", "--wait", "--no-deps", "--no-build", "--no-recreate", server.name
    )
    subprocess.run(up, check=True, timeout=300, capture_output=True)
    container.reload()
    assert container.attrs["State"]["StartedAt"] != started_before and health(container) == "healthy"
    assert PROBES[server.name][2] in anyio.run(call_over_stdio, server)


def test_the_seed_job_runs_a_second_time_without_harm(engine: docker.DockerClient) -> None:
    async def answers() -> dict[str, str]:
        return {server.name: await call_over_stdio(server) for server in SERVERS}

    rows = "SELECT count() FROM logs.application_logs"
    reader = ("logs_reader", read_env_file(env_file())["CLICKHOUSE_READER_PASSWORD"])
    count_before = httpx.post("http://127.0.0.1:8123/", content=rows, auth=reader).text
    before = anyio.run(answers)
    seed = engine.containers.get("sre-lab-seed")
    seed.start()
    assert seed.wait(timeout=900)["StatusCode"] == 0, seed.logs(tail=40).decode(errors="replace")
    count_after = httpx.post("http://127.0.0.1:8123/", content=rows, auth=reader).text
    assert count_after == count_before and int(count_after) > 0, "the second seed replaced, it did not add"
    after = anyio.run(answers)
    for name in IDS:
        assert PROBES[name][2] in after[name]
    assert after["k8s-mcp"] == before["k8s-mcp"] and after["kb-mcp"] == before["kb-mcp"]
