"""What one hostile HTTP client can do to the others: a huge header, and a flood of sessions from one key.

    python -m mcp_common.bench_http [--header-mb 48 64] [--sessions 10000] [--per-key N] [--rate N]

Starts a small server with the shared runner (`--transport http`, two API keys) as a subprocess, then:

1. **Header attack**: sends a request whose header is `--header-mb` MB, without a key, and times how long the
   server takes to refuse it (answer or close), while a second client keeps calling a tool; prints that
   client's latencies during the attack.
2. **Session flood**: one key tries to open `--sessions` sessions as fast as it can (sequential `initialize`
   requests), counting the accepted and the refused (429/503) and the server's memory; then the other key
   opens a session and calls a tool: is it still served?

`--per-key`/`--rate` override the server's per-key session cap and opening rate (default: the shipped
settings), e.g. `--per-key 10000 --rate 1000000` to see what the flood costs without the per-key gate.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

import httpx
from mcp.server.mcpserver import MCPServer
from pydantic import Field

from mcp_common.factory import READ_ONLY, new_server
from mcp_common.runner import main_for
from mcp_common.settings import ServerSettings, server_config

KEYS = {"attacker": "attacker-key-0123456789", "victim": "victim-key-0123456789"}
ACCEPT = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "bench", "version": "0"}},
}


class BenchHttpSettings(ServerSettings):
    model_config = server_config("BENCH_HTTP_MCP_")


def create_server(settings: BenchHttpSettings) -> MCPServer[None]:
    @asynccontextmanager
    async def lifespan(_: MCPServer[None]) -> AsyncIterator[None]:
        yield None

    server = new_server("bench-http", settings, instructions="", version="0", lifespan=lifespan)

    @server.tool(title="Echo", annotations=READ_ONLY)
    async def echo(text: Annotated[str, Field(max_length=200, description="Text to echo")]) -> str:
        """Echo the text."""
        return text

    return server


class Server:
    """The bench server as a subprocess, started and stopped by `with`."""

    def __init__(self, env: dict[str, str]) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = env
        self.process: subprocess.Popen[str] | None = None

    def __enter__(self) -> Server:
        env = {**os.environ, **self.env, "BENCH_HTTP_MCP_API_KEYS": ",".join(f"{k}:{v}" for k, v in KEYS.items())}
        env["BENCH_HTTP_MCP_LOG_LEVEL"] = "WARNING"
        command = [sys.executable, "-m", "mcp_common.bench_http", "serve", "--transport", "http"]
        self.process = subprocess.Popen(
            [*command, "--port", str(self.port)], env=env, stderr=subprocess.PIPE, text=True
        )
        for _ in range(600):  # up to a minute for a loaded machine to import the SDK
            try:
                httpx.get(f"{self.base}/healthz", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        threading.Thread(target=lambda: [None for _ in self.process.stderr or []], daemon=True).start()  # type: ignore[union-attr]
        return self

    def rss_mb(self) -> float:
        assert self.process is not None
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def __exit__(self, *_: object) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=30)


def headers(key: str, **extra: str) -> dict[str, str]:
    return {**ACCEPT, "Authorization": f"Bearer {KEYS[key]}", **extra}


def victim_calls(base: str, stop: threading.Event, latencies: list[float]) -> None:
    """The well-behaved client: one session, echo calls back to back until `stop`."""
    with httpx.Client(base_url=base, headers=headers("victim"), timeout=30) as http:
        session = {"mcp-session-id": http.post("/mcp", json=INITIALIZE).headers["mcp-session-id"]}
        http.post("/mcp", json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=session)
        call = {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "echo", "arguments": {"text": "x"}},
        }
        while not stop.is_set():
            started = time.perf_counter()
            answer = http.post("/mcp", json=call, headers=session)
            answer.raise_for_status()
            latencies.append(time.perf_counter() - started)


def header_attack(base: str, megabytes: int) -> tuple[float, int, bytes]:
    """Seconds until the server refused a `megabytes` MB header, bytes it took, and its first answer bytes."""
    host, port = base.removeprefix("http://").split(":")
    sent = 0
    answer = b""
    started = time.perf_counter()
    with socket.create_connection((host, int(port)), timeout=60) as sock:
        sock.sendall(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: ")
        chunk = b"a" * 65536
        try:
            while sent < megabytes * 1024 * 1024:
                sock.sendall(chunk)
                sent += len(chunk)
            sock.sendall(b"\r\n\r\n")
            answer = sock.recv(64)
        except OSError:
            pass
        elapsed = time.perf_counter() - started
        if not answer:
            try:
                answer = sock.recv(64)
            except OSError:
                answer = b"(connection reset)"
    return elapsed, sent, answer


def run_header_attacks(sizes: list[int]) -> None:
    with Server({}) as server:
        for size in sizes:
            stop, during = threading.Event(), list[float]()
            worker = threading.Thread(target=victim_calls, args=(server.base, stop, during))
            worker.start()
            time.sleep(0.5)  # let the victim settle into its loop before the attack
            before = len(during)
            elapsed, sent, answer = header_attack(server.base, size)
            attacked = during[before:]
            time.sleep(0.2)
            stop.set()
            worker.join()
            first_line = answer.split(b"\r\n", 1)[0].decode("latin-1", "replace")
            window = attacked or [float("nan")]
            print(
                f"{size} MB header: refused after {elapsed * 1000:.1f} ms having read {sent / 1024:.0f} KiB "
                f"({first_line!r}); other client during the attack: {len(attacked)} calls, "
                f"median {statistics.median(window) * 1000:.2f} ms, max {max(window) * 1000:.2f} ms"
            )


def run_session_flood(count: int, env: dict[str, str]) -> None:
    with Server(env) as server:
        rss_before = server.rss_mb()
        outcomes: dict[int, int] = {}
        started = time.perf_counter()
        with httpx.Client(base_url=server.base, headers=headers("attacker"), timeout=30) as http:
            for _ in range(count):
                status = http.post("/mcp", json=INITIALIZE).status_code
                outcomes[status] = outcomes.get(status, 0) + 1
        elapsed = time.perf_counter() - started
        rss_after = server.rss_mb()
        with httpx.Client(base_url=server.base, headers=headers("victim"), timeout=30) as http:
            opened = http.post("/mcp", json=INITIALIZE)
            served = opened.status_code == 200
            if served:
                session = {"mcp-session-id": opened.headers["mcp-session-id"]}
                http.post("/mcp", json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=session)
                call = {
                    "jsonrpc": "2.0",
                    "id": 2,
                    "method": "tools/call",
                    "params": {"name": "echo", "arguments": {"text": "still served"}},
                }
                served = "still served" in http.post("/mcp", json=call, headers=session).text
        limits = ", ".join(f"{k}={v}" for k, v in env.items()) or "shipped defaults"
        print(
            f"{count} session openings from one key in {elapsed:.1f} s ({limits}): "
            + ", ".join(f"{n} x HTTP {status}" for status, n in sorted(outcomes.items()))
            + f"; server RSS {rss_before:.0f} -> {rss_after:.0f} MB; the other key "
            + ("is served (session opened, tool answered)" if served else f"is NOT served ({opened.status_code})")
        )


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["serve"]:
        sys.exit(main_for("bench-http", BenchHttpSettings, create_server, argv[1:]))
    parser = argparse.ArgumentParser(prog="python -m mcp_common.bench_http", description=__doc__.splitlines()[0])
    parser.add_argument("--header-mb", type=int, nargs="*", default=[48, 64])
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--per-key", type=int, default=None, help="override HTTP_MAX_SESSIONS_PER_KEY")
    parser.add_argument("--rate", type=float, default=None, help="override HTTP_NEW_SESSIONS_PER_MINUTE (and burst)")
    args = parser.parse_args(argv)
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {os.cpu_count()} cpus")
    if args.header_mb:
        run_header_attacks(args.header_mb)
    if args.sessions:
        env: dict[str, str] = {}
        if args.per_key is not None:
            env["BENCH_HTTP_MCP_HTTP_MAX_SESSIONS_PER_KEY"] = str(args.per_key)
            env["BENCH_HTTP_MCP_HTTP_MAX_SESSIONS"] = str(max(args.per_key + 10, 1000))
        if args.rate is not None:
            env["BENCH_HTTP_MCP_HTTP_NEW_SESSIONS_PER_MINUTE"] = str(args.rate)
            env["BENCH_HTTP_MCP_HTTP_NEW_SESSION_BURST"] = str(int(args.rate))
        run_session_flood(args.sessions, env)


if __name__ == "__main__":
    main()
