"""What a client sees, on both protocol eras: strict arguments, the spec's error codes, capabilities, compact text.

`legacy` negotiates 2025-11-25 through the initialize handshake; `auto` discovers 2026-07-28.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_types import InputRequiredResult, PaginatedRequestParams, TextContent

from mcp_common.compact import render, table
from mcp_common.models import CompactModel
from mcp_common.prompts import add_investigate_prompt
from mcp_common.protocol import compact_result

pytestmark = pytest.mark.anyio

ERAS = pytest.mark.parametrize(("mode", "version"), [("legacy", "2025-11-25"), ("auto", "2026-07-28")])


def with_prompt(server: Any) -> Any:
    add_investigate_prompt(server, "Investigate", lambda service, symptom: f"look at {service}: {symptom}")
    return server


async def refused(call: Any) -> MCPError:
    with pytest.raises(MCPError) as caught:
        await call
    return caught.value


@ERAS
async def test_prompt_errors_are_invalid_params_with_their_message(demo, mode: str, version: str) -> None:
    async with Client(with_prompt(demo(None)), mode=mode) as client:
        assert client.protocol_version == version
        unknown = await refused(client.get_prompt("investigate", {}))
        missing = await refused(client.get_prompt("investigate_incident", {"service": "payment-gateway"}))
        extra = await refused(
            client.get_prompt("investigate_incident", {"service": "a", "symptom": "b", "sevice": "c"})
        )
        too_long = await refused(client.get_prompt("investigate_incident", {"service": "a", "symptom": "x" * 501}))
        bad_name = await refused(client.get_prompt("investigate_incident", {"service": "Bad Name", "symptom": "b"}))
        ok = await client.get_prompt("investigate_incident", {"service": "payment-gateway", "symptom": "502s"})
    assert {e.error.code for e in (unknown, missing, extra, too_long, bad_name)} == {-32602}
    assert unknown.error.message == "unknown prompt 'investigate'; available: investigate_incident"
    assert missing.error.message == "prompt investigate_incident needs the argument(s) symptom"
    assert extra.error.message == (
        "unknown argument 'sevice' for prompt investigate_incident; valid arguments: service, symptom"
    )
    assert too_long.error.message.startswith("invalid arguments for prompt investigate_incident: symptom: ")
    assert "at most 500" in too_long.error.message
    assert bad_name.error.message.startswith("service 'Bad Name' is not a valid name")
    assert ok.messages[0].content.text == "look at payment-gateway: 502s"


@ERAS
async def test_unknown_tool_is_invalid_params_naming_the_tools(demo, mode: str, version: str) -> None:
    async with Client(demo(None), mode=mode) as client:
        error = await refused(client.call_tool("echoo", {}))
    assert error.error.code == -32602
    assert error.error.message == "unknown tool 'echoo'; available: echo"


@ERAS
async def test_misspelled_arguments_are_refused_naming_the_valid_ones(demo, mode: str, version: str) -> None:
    async with Client(demo(None), mode=mode) as client:
        schema = (await client.list_tools()).tools[0].input_schema
        result = await client.call_tool("echo", {"namespace": "payments", "levle": "ERROR", "zzz": 1})
        fine = await client.call_tool("echo", {"namespace": "payments", "level": "ERROR"})
    assert schema["additionalProperties"] is False
    assert result.is_error
    assert result.content[0].text == (
        "invalid arguments for echo: unknown argument 'levle' (did you mean 'level'?); unknown argument 'zzz'; "
        "valid arguments: namespace, count, level, keyword, api_token"
    )
    assert not fine.is_error


@ERAS
async def test_any_cursor_is_invalid(demo, mode: str, version: str) -> None:
    params = PaginatedRequestParams(cursor="bm90LWEtY3Vyc29y")
    async with Client(with_prompt(demo(None)), mode=mode) as client:
        for listing in (client.session.list_tools, client.session.list_prompts, client.session.list_resources):
            error = await refused(listing(params=params))
            assert error.error.code == -32602 and "omit the cursor" in error.error.message
        assert len((await client.list_tools()).tools) == 1  # without a cursor: the one and only page


@pytest.mark.parametrize(("mode", "code"), [("legacy", -32002), ("auto", -32602)])
async def test_unknown_resource_code_follows_the_protocol_version(demo, mode: str, code: int) -> None:
    async with Client(demo(None), mode=mode) as client:
        error = await refused(client.read_resource("demo://nothing"))
    assert error.error.code == code
    assert error.error.data == {"uri": "demo://nothing"}


@ERAS
async def test_capabilities_declare_only_what_the_server_has(demo, mode: str, version: str) -> None:
    bare = demo(None)
    with_resource = demo(None)

    @with_resource.resource("demo://about", name="about", mime_type="text/plain")
    def about() -> str:
        return "demo"

    async with Client(bare, mode=mode) as client:
        capabilities = client.session.server_capabilities
        assert capabilities is not None and capabilities.resources is None and capabilities.tools is not None
    async with Client(with_resource, mode=mode) as client:
        capabilities = client.session.server_capabilities
        assert capabilities is not None and capabilities.resources is not None


async def test_results_read_compactly_and_keep_their_structured_content(demo) -> None:
    async with Client(demo(None)) as client:
        result = await client.call_tool("echo", {"namespace": "payments", "count": 2})
    assert result.structured_content == {"namespace": "payments", "count": 2}
    assert result.content[0].text == "namespace: payments · count: 2"


def test_default_rendering_is_one_line_per_record_and_no_indentation() -> None:
    data = {
        "count": 2,
        "truncated": True,
        "hint": None,
        "services": ["api", "db"],
        "items": [
            {"timestamp": "14:00", "level": "ERROR", "message": "boom\n  at Foo.bar | baz"},
            {"timestamp": "14:01", "level": "WARN", "extra": {"k": 1}},
        ],
    }
    text = render(data)
    assert text == (
        "count: 2 · truncated: true · services: api, db\n"
        "items (2):\n"
        "timestamp | level | message | extra\n"
        "14:00 | ERROR | boom\\n  at Foo.bar \\| baz | \n"
        '14:01 | WARN |  | {"k":1}'
    )
    assert len(text) < len(json.dumps(data, separators=(",", ":")))  # shorter than even unindented JSON
    assert table([{"a": 1}], columns=["a", "b"]) == "a | b\n1 | "


def test_a_model_that_renders_itself_is_used() -> None:
    class Pods(CompactModel):
        names: list[str]

        def compact_text(self) -> str:
            return "NAME\n" + "\n".join(self.names)

    result = compact_result(Pods(names=["a", "b"]))
    assert result.content[0].text == "NAME\na\nb"
    assert result.structured_content == {"names": ["a", "b"]}


def test_protocol_models_pass_through_untouched() -> None:
    text = TextContent(type="text", text="as is")
    waiting = InputRequiredResult(request_state="round-2")
    assert compact_result(text) is text
    assert compact_result(waiting) is waiting
    assert compact_result("plain") == "plain"
