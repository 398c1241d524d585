"""What one audit line costs the call that writes it, per durability mode, on a quiet disk and under write load.

    python -m mcp_common.bench_audit [--lines 2000] [--rounds 3] [--dir DIR] [--load]

For each mode (`fsync`: every line synced before the call answers; `group`: written at once, synced in the
background within the interval; `os`: never synced by us) it times `AuditLog.record` for `--lines` lines of
a typical call, in the caller's thread: what the guard adds to every call. Write tools' intents are always
synced: the `intent` row times `record_event(..., durable=True)`.

`--load` runs a second process that keeps writing and fsyncing 1 MiB chunks into the same directory, the way
a busy database or log shipper on the same disk would. Point `--dir` at the disk the servers write to.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mcp_common.audit import AuditEntry, AuditLog, Durability

MODES: tuple[Durability, ...] = ("fsync", "group", "os")
ENTRY = AuditEntry(
    server="k8s-mcp",
    tool="list_pods",
    arguments={"namespace": "payments", "status_filter": "CrashLoopBackOff", "limit": 50},
    client="claude",
    outcome="ok",
    duration_ms=0.8,
    result_bytes=722,
)
LOAD_WRITER = """
import os, sys
path = sys.argv[1]
chunk = os.urandom(1 << 20)
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
while True:
    os.write(fd, chunk)
    os.fsync(fd)
    if os.lseek(fd, 0, os.SEEK_CUR) > (256 << 20):
        os.lseek(fd, 0, os.SEEK_SET)
"""


def time_mode(directory: Path, mode: str, lines: int) -> list[float]:
    """Seconds per `record` call for `lines` lines in `mode` (`intent`: durable write-tool intents)."""
    path = directory / f"bench-{mode}.jsonl"
    path.unlink(missing_ok=True)
    log = AuditLog(path, durability="group" if mode == "intent" else mode)  # type: ignore[arg-type]
    timings = []
    for _ in range(lines):
        started = time.perf_counter()
        if mode == "intent":
            log.record_event("intent", {"tool": "scale_deployment", "action": {"name": "scale"}}, durable=True)
        else:
            log.record(ENTRY)
        timings.append(time.perf_counter() - started)
    log.close()
    return timings


def report(directory: Path, lines: int, rounds: int, load: bool) -> None:
    writer = None
    if load:
        writer = subprocess.Popen([sys.executable, "-c", LOAD_WRITER, str(directory / "load.bin")])
    try:
        average = os.getloadavg()
        print(
            f"audit line cost in the caller, {lines} lines x {rounds} rounds in {directory}; "
            f"{'with' if load else 'no'} competing writer; load average {average[0]:.2f} {average[1]:.2f}"
        )
        medians: dict[str, list[float]] = {}
        for round_number in range(1, rounds + 1):
            for mode in (*MODES, "intent"):
                timings = sorted(t * 1000 for t in time_mode(directory, mode, lines))
                median = statistics.median(timings)
                p99 = timings[int(len(timings) * 0.99) - 1]
                medians.setdefault(mode, []).append(median)
                p90 = timings[int(len(timings) * 0.9)]
                print(
                    f"round {round_number}  {mode:<6}  median {median:7.3f} ms  p90 {p90:7.3f} ms  "
                    f"p99 {p99:7.3f} ms  max {timings[-1]:7.3f} ms"
                )
        print()
        for mode, values in medians.items():
            spread = f"{min(values):.3f}..{max(values):.3f}"
            print(f"{mode:<6} median of medians {statistics.median(values):.3f} ms (rounds {spread})")
    finally:
        if writer is not None:
            writer.kill()
            writer.wait()
            (directory / "load.bin").unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m mcp_common.bench_audit", description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None, help="where to write (default: a temporary directory)")
    parser.add_argument("--load", action="store_true", help="a competing process writes and fsyncs meanwhile")
    args = parser.parse_args(argv)
    if args.dir is not None:
        args.dir.mkdir(parents=True, exist_ok=True)
        report(args.dir, args.lines, args.rounds, args.load)
        return
    with tempfile.TemporaryDirectory(prefix="audit-bench-", dir=Path.home()) as tmp:
        report(Path(tmp), args.lines, args.rounds, args.load)


if __name__ == "__main__":
    main()
