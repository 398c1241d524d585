"""The real boundary: `python -m logs_mcp` as a subprocess speaking MCP over stdio, configured by env."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from logs_mcp.config import LogsSettings
from mcp_common.audit import verify

pytestmark = pytest.mark.anyio

NOW = "2026-11-26T14:23:30Z"


async def test_stdio_subprocess_lists_calls_and_audits(
    tmp_path: Path, known_dataset: Callable[[Path], LogsSettings]
) -> None:
    settings = known_dataset(tmp_path / "clickhouse")  # written and closed: the subprocess can open it
    audit = tmp_path / "audit" / "logs-mcp.jsonl"
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "logs_mcp"],
        env={
            **os.environ,
            "LOGS_MCP_DATA_DIR": str(settings.data_dir),
            "LOGS_MCP_FIXED_NOW": NOW,
            "LOGS_MCP_AUDIT_LOG": str(audit),
        },
    )
    async with Client(params) as client:
        tools = {tool.name for tool in (await client.list_tools()).tools}
        found = await client.call_tool("search_logs", {"keyword": "OutOfMemoryError", "limit": 2})
        literal = await client.call_tool("search_logs", {"service": "x' OR 1=1"})
        refused = await client.call_tool("search_logs", {"level": "error"})
        schema = await client.read_resource("logs://schema")
    assert len(tools) == 7 and "trace_transaction" in tools
    assert found.structured_content["count"] == 2 and found.structured_content["truncated"] is True
    assert found.structured_content["lines"][0]["host"] == "payment-gw-ghi56"
    assert literal.structured_content["lines"] == []  # a bound value: no service has that name
    assert refused.is_error and "level" in refused.content[0].text
    assert "## application_logs" in schema.contents[0].text
    lines = [json.loads(line) for line in audit.read_text().splitlines()]
    assert [line["outcome"] for line in lines] == ["ok", "ok", "rejected", "ok"]
    assert verify(audit).ok
