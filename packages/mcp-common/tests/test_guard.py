"""The guard through the real protocol: error model, argument checks, rate limits and audit lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from mcp_common.audit import verify
from mcp_common.ratelimit import RateLimiter

pytestmark = pytest.mark.anyio


def audit_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


async def test_ok_call_returns_structured_output_without_nulls(demo, audit_path: Path) -> None:
    async with Client(demo(audit_path)) as client:
        result = await client.call_tool("echo", {"namespace": "payments", "count": 2})
    assert not result.is_error
    assert result.structured_content == {"namespace": "payments", "count": 2}
    (line,) = audit_lines(audit_path)
    assert line["tool"] == "echo" and line["outcome"] == "ok" and line["client"] == "stdio"
    assert line["arguments"] == {"namespace": "payments", "count": 2}
    assert line["result_bytes"] > 0 and line["duration_ms"] >= 0


async def test_disallowed_value_is_a_tool_error_naming_what_is_allowed(demo, audit_path: Path) -> None:
    async with Client(demo(audit_path)) as client:
        result = await client.call_tool("echo", {"namespace": "kube-system"})
    assert result.is_error
    assert result.content[0].text == "namespace 'kube-system' is not allowed; allowed: payments, auth"
    assert audit_lines(audit_path)[0]["outcome"] == "rejected"


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"namespace": "payments", "count": 9}, "count: 9 is out of range; allowed 1..5"),
        ({"namespace": "payments", "level": "FATAL"}, "level: 'FATAL' is not one of ERROR, WARN (or omit it)"),
        ({}, "'namespace' is a required argument"),
        ({"namespace": "payments", "count": "many"}, "count: expected integer"),
        ({"namespace": "payments", "keyword": "x" * 10_000}, "keyword: too long (10000 characters; at most 100)"),
    ],
)
async def test_schema_violations_are_clear_and_audited(demo, audit_path: Path, arguments: dict, expected: str) -> None:
    async with Client(demo(audit_path)) as client:
        result = await client.call_tool("echo", arguments)
    assert result.is_error
    assert expected in result.content[0].text
    assert result.content[0].text.startswith("invalid arguments for echo: ")
    (line,) = audit_lines(audit_path)
    assert line["outcome"] == "rejected" and expected in line["error"]


async def test_unexpected_exception_is_sanitized_logged_and_server_survives(
    demo, audit_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with Client(demo(audit_path)) as client:
        crashed = await client.call_tool("echo", {"namespace": "auth", "count": 5})
        after = await client.call_tool("echo", {"namespace": "auth"})
    assert crashed.is_error
    text = crashed.content[0].text
    assert "internal error in echo" in text
    assert "hunter2" not in text and "db-7" not in text and "Traceback" not in text
    logged = [r.exc_info[1] for r in caplog.records if r.exc_info and r.exc_info[1] is not None]
    assert any("hunter2" in str(exc.__cause__) for exc in logged), "the traceback goes to the server log"
    assert not after.is_error
    assert [line["outcome"] for line in audit_lines(audit_path)] == ["error", "ok"]


async def test_unknown_tool_is_a_protocol_error_and_audited(demo, audit_path: Path) -> None:
    async with Client(demo(audit_path)) as client:
        with pytest.raises(MCPError) as refused:
            await client.call_tool("drop_everything", {})
    assert refused.value.error.code == -32602
    assert refused.value.error.message == "unknown tool 'drop_everything'; available: echo"
    (line,) = audit_lines(audit_path)
    assert line["outcome"] == "rejected" and line["tool"] == "drop_everything"


async def test_rate_limit_refuses_with_retry_after_and_refills_with_time(demo, clock, audit_path: Path) -> None:
    limiter = RateLimiter(rate_per_minute=60, burst=2, clock=clock)
    async with Client(demo(audit_path, limiter)) as client:
        first = await client.call_tool("echo", {"namespace": "payments"})
        second = await client.call_tool("echo", {"namespace": "payments"})
        refused = await client.call_tool("echo", {"namespace": "payments"})
        clock.now += 1.0  # one token per second
        again = await client.call_tool("echo", {"namespace": "payments"})
    assert not first.is_error and not second.is_error and not again.is_error
    assert refused.is_error
    assert refused.structured_content == {"error": "rate_limited", "retry_after_s": 1.0}
    assert "retry after 1.0 s" in refused.content[0].text
    outcomes = [line["outcome"] for line in audit_lines(audit_path)]
    assert outcomes == ["ok", "ok", "rate_limited", "ok"]


async def test_secret_looking_arguments_are_redacted_in_the_audit(demo, audit_path: Path) -> None:
    async with Client(demo(audit_path)) as client:
        await client.call_tool(
            "echo", {"namespace": "payments", "api_token": "tok-123456", "keyword": "Bearer abc.def"}
        )
    (line,) = audit_lines(audit_path)
    assert line["arguments"]["api_token"] == "***"
    assert line["arguments"]["keyword"] == "Bearer ***"
    assert "tok-123456" not in audit_path.read_text()


async def test_every_call_chains_and_verifies(demo, audit_path: Path) -> None:
    async with Client(demo(audit_path)) as client:
        for namespace in ["payments", "nope", "auth"]:
            await client.call_tool("echo", {"namespace": namespace})
    assert verify(audit_path).ok
    assert verify(audit_path).lines == 3


async def test_tools_carry_read_only_annotations(demo, audit_path: Path) -> None:
    async with Client(demo(audit_path)) as client:
        tools = (await client.list_tools()).tools
    assert tools[0].annotations is not None and tools[0].annotations.read_only_hint is True
    assert tools[0].annotations.destructive_hint is False


async def test_tool_descriptions_reach_the_client_dedented(demo, audit_path: Path) -> None:
    server = demo(audit_path)

    @server.tool()
    async def indented() -> str:
        """First line.

        Second paragraph, indented in the source.
        """
        return "x"

    async with Client(server) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert tools["indented"].description == "First line.\n\nSecond paragraph, indented in the source."
