"""HTTP that one client cannot starve, through a real server process (the shared runner, uvicorn, h11)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import anyio.to_thread
import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager

from mcp_common.http import is_loopback, transport_security
from mcp_common.ratelimit import RateLimiter, retry_after
from mcp_common.settings import ServerSettings

DEMO = Path(__file__).parent / "servers" / "http_demo.py"
ALICE, BOB = "alice-key-0123456789", "bob-key-0123456789abc"
ACCEPT = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}},
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Served:
    base: str
    process: subprocess.Popen[str]
    log: list[str] = field(default_factory=list)

    def headers(self, key: str, **extra: str) -> dict[str, str]:
        return {**ACCEPT, "Authorization": f"Bearer {key}", **extra}

    def open_session(self, key: str) -> httpx.Response:
        return httpx.post(f"{self.base}/mcp", json=INITIALIZE, headers=self.headers(key), timeout=10)


@contextmanager
def serve(tmp_path: Path, *args: str, keys: bool = True, **env: str) -> Iterator[Served]:
    """The demo server on a free loopback port, once uvicorn says it is listening (read from its log)."""
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("DEMO_HTTP_MCP_")}
    environment |= {f"DEMO_HTTP_MCP_{k.upper()}": v for k, v in env.items()}
    if keys:
        environment["DEMO_HTTP_MCP_API_KEYS"] = f"alice:{ALICE},bob:{BOB}"
    environment["DEMO_HTTP_MCP_AUDIT_LOG"] = str(tmp_path / "audit.jsonl")
    process = subprocess.Popen(
        [sys.executable, str(DEMO), "--transport", "http", "--port", str(port), *args],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    served = Served(f"http://127.0.0.1:{port}", process)
    assert process.stderr is not None
    for line in process.stderr:  # blocks until the server writes: no polling
        served.log.append(line)
        if "Uvicorn running on" in line:
            break
    else:
        pytest.fail("server did not start: " + "".join(served.log))
    drain = threading.Thread(target=lambda: served.log.extend(process.stderr or []), daemon=True)
    drain.start()
    try:
        yield served
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
        drain.join(timeout=10)
        if process.stderr is not None:
            process.stderr.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One server with the shipped limits, for the tests that do not change them."""
    with serve(tmp_path_factory.mktemp("http")) as server:
        yield server


async def call_echo(base: str, key: str, text: str, calls: int = 1) -> list[str]:
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"}) as http,
        Client(streamable_http_client(f"{base}/mcp", http_client=http)) as client,
    ):
        answers = []
        for i in range(calls):
            result = await client.call_tool("echo", {"text": f"{text} {i}"})
            assert not result.is_error, result.content
            answers.append(result.content[0].text)  # type: ignore[union-attr]
        return answers


def send_huge_header(base: str, size: int) -> tuple[int, bytes]:
    """Send a request whose header is `size` bytes, without a key; return (bytes the server took, its answer)."""
    host, port = base.removeprefix("http://").split(":")
    sent = 0
    answer = b""
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: ")
        chunk = b"a" * 65536
        try:
            while sent < size:
                sock.sendall(chunk)
                sent += len(chunk)
            sock.sendall(b"\r\n\r\n")
        except OSError:
            pass  # the server closed the connection: what we want
        with suppress(OSError):
            answer = sock.recv(4096)
    return sent, answer


@pytest.mark.anyio
async def test_a_huge_header_is_refused_before_auth_while_another_client_is_served(served: Served) -> None:
    results: dict[str, object] = {}

    async def attack() -> None:
        results["attack"] = await anyio.to_thread.run_sync(send_huge_header, served.base, 48 * 1024 * 1024)

    async def work() -> None:
        results["work"] = await call_echo(served.base, BOB, "still here", calls=20)

    async with anyio.create_task_group() as tg:
        tg.start_soon(attack)
        tg.start_soon(work)
    sent, answer = results["attack"]  # type: ignore[misc]
    assert answer.startswith(b"HTTP/1.1 400") or sent < 48 * 1024 * 1024  # refused, not read to the end
    assert sent < 16 * 1024 * 1024  # the server stopped reading after its 64 KiB head limit
    assert results["work"] == [f"still here {i}" for i in range(20)]
    health = await anyio.to_thread.run_sync(httpx.get, f"{served.base}/healthz")
    assert health.json() == {"status": "ok"}


def test_one_key_at_its_session_cap_leaves_another_key_served(tmp_path: Path) -> None:
    with serve(tmp_path, http_max_sessions_per_key="5", http_new_session_burst="100") as served:
        sessions = [served.open_session(ALICE) for _ in range(5)]
        assert all(r.status_code == 200 and r.headers.get("mcp-session-id") for r in sessions)
        refused = served.open_session(ALICE)
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
        assert "holds 5 sessions (at most 5)" in refused.json()["detail"]
        assert anyio.run(call_echo, served.base, BOB, "bob") == ["bob 0"]  # another key is served
        gone = httpx.delete(
            f"{served.base}/mcp",
            headers=served.headers(ALICE, **{"mcp-session-id": sessions[0].headers["mcp-session-id"]}),
        )
        assert gone.status_code == 200
        assert served.open_session(ALICE).status_code == 200  # room again


@pytest.mark.slow
def test_ten_thousand_session_openings_from_one_key_leave_another_key_served(tmp_path: Path) -> None:
    # The probe that once locked every other key out for 30 minutes, against the shipped limits.
    with serve(tmp_path) as served, httpx.Client(headers=served.headers(ALICE), timeout=10) as flood:
        codes: dict[int, int] = {}
        for _ in range(10_000):
            status = flood.post(f"{served.base}/mcp", json=INITIALIZE).status_code
            codes[status] = codes.get(status, 0) + 1
        assert set(codes) == {200, 429}, codes  # refused with a retry time, never a 5xx
        assert codes[200] <= 100, codes  # the per-key cap and the rate limit hold the flood
        assert anyio.run(call_echo, served.base, BOB, "bob", 3) == ["bob 0", "bob 1", "bob 2"]
        assert served.open_session(BOB).status_code == 200
        assert httpx.get(f"{served.base}/healthz").json() == {"status": "ok"}


def test_a_session_belongs_to_the_key_that_opened_it(served: Served) -> None:
    session = served.open_session(ALICE).headers["mcp-session-id"]
    as_alice = served.headers(ALICE, **{"mcp-session-id": session})
    as_bob = served.headers(BOB, **{"mcp-session-id": session})
    initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    assert httpx.post(f"{served.base}/mcp", json=initialized, headers=as_alice).status_code == 202
    listing = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
    assert httpx.post(f"{served.base}/mcp", json=listing, headers=as_bob).status_code == 404
    assert httpx.delete(f"{served.base}/mcp", headers=as_bob).status_code == 404
    assert httpx.post(f"{served.base}/mcp", json=listing, headers=as_alice).status_code == 200  # still alive


def test_new_sessions_are_rate_limited_per_key(tmp_path: Path) -> None:
    with serve(tmp_path, http_new_sessions_per_minute="1", http_new_session_burst="3") as served:
        assert [served.open_session(ALICE).status_code for _ in range(3)] == [200, 200, 200]
        limited = served.open_session(ALICE)
        assert limited.status_code == 429 and limited.json()["retry_after_s"] > 0
        assert int(limited.headers["retry-after"]) >= 1
        assert served.open_session(BOB).status_code == 200


def test_host_and_origin_are_checked(served: Served) -> None:
    url = f"{served.base}/mcp"
    assert httpx.post(url, json=INITIALIZE, headers=served.headers(ALICE, Host="evil.example")).status_code == 421
    evil = served.headers(ALICE, Origin="http://evil.example")
    assert httpx.post(url, json=INITIALIZE, headers=evil).status_code == 403
    local = served.headers(ALICE, Origin=f"http://localhost:{served.base.rsplit(':', 1)[1]}")
    assert httpx.post(url, json=INITIALIZE, headers=local).status_code == 200


def test_allowed_hosts_for_any_bind_address() -> None:
    anywhere = transport_security(ServerSettings(), "0.0.0.0")
    assert anywhere.enable_dns_rebinding_protection and "localhost:*" in anywhere.allowed_hosts
    assert "0.0.0.0:*" not in anywhere.allowed_hosts
    named = transport_security(ServerSettings(), "10.0.0.5")
    assert "10.0.0.5:*" in named.allowed_hosts
    custom = transport_security(
        ServerSettings(http_allowed_hosts="mcp.example.com, mcp.example.com:*", http_allowed_origins="https://x.io"),
        "0.0.0.0",
    )
    assert custom.allowed_hosts == ["mcp.example.com", "mcp.example.com:*"]
    assert custom.allowed_origins == ["https://x.io"]
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost") and is_loopback("127.8.0.1")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.0.0.5") and not is_loopback("example.com")


def test_insecure_no_auth_is_refused_off_loopback(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(DEMO), "--transport", "http", "--host", "0.0.0.0", "--insecure-no-auth"],
        env={k: v for k, v in os.environ.items() if not k.startswith("DEMO_HTTP_MCP_")},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "--insecure-no-auth serves only on a loopback address" in done.stderr and "0.0.0.0" in done.stderr


def test_insecure_no_auth_on_loopback_still_serves(tmp_path: Path) -> None:
    with serve(tmp_path, "--insecure-no-auth", keys=False) as served:
        response = httpx.post(f"{served.base}/mcp", json=INITIALIZE, headers=ACCEPT)
        assert response.status_code == 200


def test_a_request_right_after_a_session_delete_always_gets_an_answer(tmp_path: Path) -> None:
    limits = {"http_new_session_burst": "1000", "http_new_sessions_per_minute": "60000"}
    with serve(tmp_path, **limits) as served, httpx.Client(headers=served.headers(ALICE), timeout=10) as http:
        for _ in range(45):
            session = http.post(f"{served.base}/mcp", json=INITIALIZE).headers["mcp-session-id"]
            assert http.delete(f"{served.base}/mcp", headers={"mcp-session-id": session}).status_code == 200
            after = http.post(f"{served.base}/mcp", json=INITIALIZE, headers={"mcp-session-id": session})
            assert after.status_code == 404


@pytest.mark.anyio
async def test_sigterm_lets_calls_in_flight_finish(tmp_path: Path) -> None:
    fifo = tmp_path / "started"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # open first, so the server's writes never block
    os.set_blocking(reader, True)
    with serve(tmp_path, fifo=str(fifo), http_shutdown_grace_s="20") as served:
        answers: list[str] = []

        async def hold() -> None:
            # The handshake protocol (what most clients speak): the answer travels on the POST's event stream.
            async with httpx.AsyncClient(base_url=served.base, headers=served.headers(ALICE), timeout=30) as http:
                opened = await http.post("/mcp", json=INITIALIZE)
                session = {"mcp-session-id": opened.headers["mcp-session-id"]}
                await http.post("/mcp", json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=session)
                call = {
                    "jsonrpc": "2.0",
                    "id": 2,
                    "method": "tools/call",
                    "params": {"name": "hold", "arguments": {"seconds": 1.0}},
                }
                answer = await http.post("/mcp", json=call, headers=session)
                assert answer.headers["content-type"].startswith("text/event-stream")
                for line in answer.text.splitlines():
                    if line.startswith("data:") and '"id":2' in line:
                        answers.append(json.loads(line[5:])["result"]["content"][0]["text"])

        async with anyio.create_task_group() as tg:
            for _ in range(8):
                tg.start_soon(hold)
            started = b""
            while len(started) < 8:  # every call is running in the server
                started += await anyio.to_thread.run_sync(os.read, reader, 8)
            served.process.send_signal(signal.SIGTERM)
        assert answers == ["held 1.0 s"] * 8
        # uvicorn ends by re-raising the signal it caught: terminated by SIGTERM, after the drain.
        assert await anyio.to_thread.run_sync(served.process.wait, 30) == -signal.SIGTERM
        assert any("Finished server process" in line for line in served.log)
    os.close(reader)


def test_retry_after_is_rounded_up_and_never_zero() -> None:
    assert retry_after(0.0) == 0.1 and retry_after(0.004) == 0.1 and retry_after(0.1) == 0.1
    assert retry_after(0.11) == 0.2 and retry_after(2.0) == 2.0
    now = [0.0]
    limiter = RateLimiter(60, 1, clock=lambda: now[0])
    assert limiter.acquire("a") is None
    now[0] = 0.999  # 0.001 s short of a token
    assert limiter.acquire("a") == 0.1


def test_sessions_gate_reads_the_sdk_record_of_owners() -> None:
    # The gate counts sessions per key from the SDK's own record; if the SDK renames it, this fails first.
    assert "_session_owners" in vars(StreamableHTTPSessionManager(app=None))  # type: ignore[arg-type]
    assert json.dumps({"client_id": "alice"})  # owners are AuthorizationContext dicts keyed by client_id
