"""What the shared layer costs per call: a trivial tool through stdio, bare SDK against `new_server`.

    python -m mcp_common.bench [--calls 2000] [--rounds 3] [--audit-dir DIR] [--transport stdio|memory]

Starts each variant as a real stdio subprocess (or in-process, `--transport memory`, for the layer's own
CPU cost without pipes) and times sequential `tools/call`s from the SDK client (after
a warm-up), alternating variants round by round so machine load hits them alike:

- `bare`: the SDK's `MCPServer` with the tool and nothing else;
- `shared, no audit`: `new_server` (guard: rate limit, argument check, sanitizing; strict schema; compact
  text; protocol middleware) with the audit log off;
- `shared, audit`: the same with the audit log on (a file in `--audit-dir`, default a temporary directory:
  point it at the disk the servers will write to).

The tool returns a small model (structured output), so the result conversion is part of every variant.
Prints per-call medians and p90s per variant and round, and the overhead over bare.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import anyio
from mcp import Client, StdioServerParameters
from mcp.server.mcpserver import MCPServer
from pydantic import Field

from mcp_common.factory import READ_ONLY, new_server
from mcp_common.models import CompactModel
from mcp_common.settings import ServerSettings, server_config
from mcp_common.stdio import serve_stdio

VARIANTS = ("bare", "shared, no audit", "shared, audit")


class BenchSettings(ServerSettings):
    model_config = server_config("BENCH_MCP_")


class Echo(CompactModel):
    text: str
    length: int


Text = Annotated[str, Field(max_length=200, description="Text to echo back")]


def echo(text: Text) -> Echo:
    """Echo the text back with its length."""
    return Echo(text=text, length=len(text))


@dataclass(frozen=True)
class BenchApp:
    settings: BenchSettings


def bare_server() -> MCPServer[Any]:
    server: MCPServer[Any] = MCPServer("bench-bare")
    server.tool(title="Echo", annotations=READ_ONLY)(echo)
    return server


def shared_server() -> MCPServer[BenchApp]:
    # Rate limits out of the way: the benchmark measures the per-call path, not a refusal.
    settings = BenchSettings(rate_limit_per_minute=1e9, rate_limit_burst=1_000_000)

    @asynccontextmanager
    async def lifespan(_: MCPServer[BenchApp]) -> AsyncIterator[BenchApp]:
        yield BenchApp(settings)

    server = new_server("bench-shared", settings, instructions="", version="0", lifespan=lifespan)
    server.tool(title="Echo", annotations=READ_ONLY)(echo)
    return server


async def time_calls(
    target: StdioServerParameters | MCPServer[Any], calls: int, warmup: int = 200
) -> tuple[list[float], float]:
    """Per-call wall seconds of `calls` sequential echo calls (after `warmup` untimed ones), and this process's
    CPU seconds per call (in-process, that is client and server together)."""
    async with Client(target) as client:
        for _ in range(warmup):
            await client.call_tool("echo", {"text": "warm"})
        timings = []
        cpu_started = time.process_time()
        for i in range(calls):
            started = time.perf_counter()
            result = await client.call_tool("echo", {"text": f"call {i}"})
            timings.append(time.perf_counter() - started)
            if result.is_error:
                raise RuntimeError(f"the bench tool failed: {result.content}")
        cpu = (time.process_time() - cpu_started) / calls
    return timings, cpu


def target_for(variant: str, audit_dir: Path, transport: str) -> StdioServerParameters | MCPServer[Any]:
    audit = {"BENCH_MCP_AUDIT_LOG": str(audit_dir / "bench.jsonl")} if variant == "shared, audit" else {}
    kind = "bare" if variant == "bare" else "shared"
    if transport == "memory":  # in-process: the layer's own CPU cost, without pipes and process scheduling
        os.environ.pop("BENCH_MCP_AUDIT_LOG", None)
        os.environ.update(audit)
        return bare_server() if kind == "bare" else shared_server()
    env = {**os.environ, **audit}
    return StdioServerParameters(command=sys.executable, args=["-m", "mcp_common.bench", "serve", kind], env=env)


def serve(kind: str) -> None:
    server = bare_server() if kind == "bare" else shared_server()
    anyio.run(serve_stdio, server)


def report(calls: int, rounds: int, audit_dir: Path, transport: str) -> None:
    load = os.getloadavg()
    print(f"per-call time of a trivial tool over {transport}, {calls} calls x {rounds} rounds; ", end="")
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {os.cpu_count()} cpus; audit in {audit_dir}")
    medians: dict[str, list[float]] = {variant: [] for variant in VARIANTS}
    cpus: dict[str, list[float]] = {variant: [] for variant in VARIANTS}
    for round_number in range(1, rounds + 1):
        for variant in VARIANTS:
            timings, cpu = anyio.run(time_calls, target_for(variant, audit_dir, transport), calls)
            median = statistics.median(timings) * 1000
            p90 = statistics.quantiles(timings, n=10)[-1] * 1000
            medians[variant].append(median)
            cpus[variant].append(cpu * 1000)
            print(
                f"round {round_number}  {variant:<17} median {median:6.3f} ms   p90 {p90:6.3f} ms   "
                f"client-process cpu {cpu * 1000:6.3f} ms"
            )
    bare = statistics.median(medians["bare"])
    bare_cpu = statistics.median(cpus["bare"])
    print(f"\nmedian of round medians: bare {bare:.3f} ms (cpu {bare_cpu:.3f} ms)")
    for variant in VARIANTS[1:]:
        value = statistics.median(medians[variant])
        spread = f"{min(medians[variant]) - bare:+.3f}..{max(medians[variant]) - bare:+.3f}"
        cpu_over = statistics.median(cpus[variant]) - bare_cpu
        print(
            f"  {variant:<17} {value:.3f} ms: overhead {value - bare:+.3f} ms per call (rounds {spread}); "
            f"cpu {cpu_over:+.3f} ms"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m mcp_common.bench", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser("serve", help="(internal) serve one variant on stdio")
    run.add_argument("kind", choices=["bare", "shared"])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--audit-dir", type=Path, default=None)
    parser.add_argument("--transport", choices=["stdio", "memory"], default="stdio")
    args = parser.parse_args(argv)
    if args.command == "serve":
        serve(args.kind)
        return
    if args.audit_dir is not None:
        args.audit_dir.mkdir(parents=True, exist_ok=True)
        report(args.calls, args.rounds, args.audit_dir, args.transport)
        return
    with tempfile.TemporaryDirectory(prefix="mcp-bench-") as tmp:
        report(args.calls, args.rounds, Path(tmp), args.transport)


if __name__ == "__main__":
    main()
