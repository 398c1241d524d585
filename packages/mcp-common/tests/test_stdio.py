"""A real stdio subprocess: a line that is not JSON-RPC gets the JSON-RPC error, and the server reads on."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

DEMO = Path(__file__).with_name("stdio_demo.py")

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}},
}


def exchange(lines: list[str], replies: int) -> list[dict[str, Any]]:
    """Send `lines` on stdin and read `replies` lines from stdout before closing stdin (a request still in
    flight when stdin closes is dropped, so the test waits for its answers first)."""
    with subprocess.Popen(
        [sys.executable, str(DEMO)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as process:
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write("".join(line + "\n" for line in lines))
        process.stdin.flush()
        answers = [json.loads(process.stdout.readline()) for _ in range(replies)]
        process.stdin.close()
        process.wait(timeout=60)
    return answers


def test_malformed_lines_get_json_rpc_errors_and_the_session_goes_on() -> None:
    replies = exchange(
        [
            "{not json",
            json.dumps({"jsonrpc": "2.0", "id": 7, "method": 12}),
            json.dumps(INITIALIZE),
            json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}),
            '{"jsonrpc": "2.0", "id": 2, "method": "tools/list"',  # cut short
            json.dumps({"jsonrpc": "2.0", "id": 3, "method": "tools/list"}),
        ],
        replies=5,
    )
    assert replies[0] == {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "Parse error"}}
    assert replies[1]["id"] == 7 and replies[1]["error"]["code"] == -32600
    assert replies[2]["id"] == 1 and replies[2]["result"]["serverInfo"]["name"] == "demo-mcp"
    assert replies[3] == {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "Parse error"}}
    assert replies[4]["id"] == 3 and [t["name"] for t in replies[4]["result"]["tools"]] == ["echo"]
