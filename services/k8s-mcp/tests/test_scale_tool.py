"""scale_deployment through the protocol: off by default, preview then execute, and every refusal."""

from __future__ import annotations

import pytest
from mcp import Client

pytestmark = pytest.mark.anyio
ARGS = {"namespace": "payments", "name": "payment-gateway"}


async def replicas(client: Client) -> int:
    data = (await client.call_tool("list_deployments", {"namespace": "payments"})).structured_content
    return next(d["desired"] for d in data["items"] if d["name"] == "payment-gateway")


async def test_preview_changes_nothing_then_token_executes_once(make_server) -> None:
    async with Client(make_server(enable_writes=True)) as client:
        tool = next(t for t in (await client.list_tools()).tools if t.name == "scale_deployment")
        assert tool.annotations.destructive_hint is True and tool.annotations.read_only_hint is False
        preview = (await client.call_tool("scale_deployment", {**ARGS, "replicas": 3})).structured_content
        assert preview["executed"] is False and preview["change"] == "5 → 3 replicas"
        assert preview["pods_affected"] == ["payment-gw-def34 will be removed", "payment-gw-ghi56 will be removed"]
        assert await replicas(client) == 5
        token = preview["confirmation_token"]
        done = await client.call_tool("scale_deployment", {**ARGS, "replicas": 3, "confirmation_token": token})
        assert done.structured_content["executed"] is True and await replicas(client) == 3
        replay = await client.call_tool("scale_deployment", {**ARGS, "replicas": 3, "confirmation_token": token})
        assert replay.is_error and "already used" in replay.content[0].text


async def test_token_for_other_arguments_or_stale_replicas_is_refused(make_server) -> None:
    async with Client(make_server(enable_writes=True)) as client:
        token_for_3 = (await client.call_tool("scale_deployment", {**ARGS, "replicas": 3})).structured_content[
            "confirmation_token"
        ]
        other = await client.call_tool("scale_deployment", {**ARGS, "replicas": 4, "confirmation_token": token_for_3})
        assert other.is_error and "issued for payments/payment-gateway → 3 replicas" in other.content[0].text
        token_for_7 = (await client.call_tool("scale_deployment", {**ARGS, "replicas": 7})).structured_content[
            "confirmation_token"
        ]
        await client.call_tool("scale_deployment", {**ARGS, "replicas": 3, "confirmation_token": token_for_3})
        stale = await client.call_tool("scale_deployment", {**ARGS, "replicas": 7, "confirmation_token": token_for_7})
        assert stale.is_error and "changed since the preview (was 5, now 3)" in stale.content[0].text


async def test_expired_and_tampered_tokens(make_server, clock) -> None:
    async with Client(make_server(enable_writes=True, confirmation_ttl_s=60)) as client:
        token = (await client.call_tool("scale_deployment", {**ARGS, "replicas": 2})).structured_content[
            "confirmation_token"
        ]
        tampered = await client.call_tool(
            "scale_deployment", {**ARGS, "replicas": 2, "confirmation_token": token[:-3] + "AAA"}
        )
        assert tampered.is_error and "invalid" in tampered.content[0].text
        clock.now += 61
        expired = await client.call_tool("scale_deployment", {**ARGS, "replicas": 2, "confirmation_token": token})
        assert expired.is_error and "expired" in expired.content[0].text
        assert await replicas(client) == 5


async def test_replicas_are_bounded_by_config(make_server) -> None:
    async with Client(make_server(enable_writes=True, max_replicas=8)) as client:
        result = await client.call_tool("scale_deployment", {**ARGS, "replicas": 9})
        namespace = await client.call_tool("scale_deployment", {**ARGS, "namespace": "kube-system", "replicas": 1})
    assert result.is_error and "out of range; allowed 0..8" in result.content[0].text
    assert namespace.is_error and "not allowed" in namespace.content[0].text
