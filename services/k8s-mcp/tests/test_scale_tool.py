"""scale_deployment through the protocol: off by default, preview then execute, every refusal, and every change
recorded (intent before, outcome after, even when the client cancels)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import anyio
import anyio.lowlevel
import anyio.to_thread
import pytest
from mcp import Client

from k8s_mcp.config import K8sSettings
from k8s_mcp.server import create_server
from k8s_mcp.snapshot import SnapshotBackend
from mcp_common.audit_verify import verify

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


class GatedSnapshot(SnapshotBackend):
    """The lab's snapshot, whose scale waits for the test to let it finish (a slow API server, by hand)."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.started, self.gate = threading.Event(), threading.Event()

    def scale(self, namespace: str, name: str, replicas: int, resource_version: str | None = None):  # type: ignore[no-untyped-def]
        self.started.set()
        self.gate.wait(30)
        return super().scale(namespace, name, replicas, resource_version)


def audit_records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


async def test_a_cancelled_confirmed_scale_leaves_intent_and_outcome_lines(snapshot_dir: Path, tmp_path: Path) -> None:
    backend = GatedSnapshot(snapshot_dir)
    audit = tmp_path / "audit.jsonl"
    settings = K8sSettings(backend="snapshot", snapshot_dir=snapshot_dir, audit_log=audit, enable_writes=True)
    server = create_server(settings, backend=backend)
    async with Client(server) as client, anyio.create_task_group() as outer:
        token = (await client.call_tool("scale_deployment", {**ARGS, "replicas": 2})).structured_content[
            "confirmation_token"
        ]
        async with anyio.create_task_group() as calls:
            calls.start_soon(client.call_tool, "scale_deployment", {**ARGS, "replicas": 2, "confirmation_token": token})
            await anyio.to_thread.run_sync(backend.started.wait, 30)  # the change is under way
            calls.cancel_scope.cancel()  # the client gives up on it
            outer.start_soon(anyio.to_thread.run_sync, backend.gate.set)
        with anyio.fail_after(30):
            while backend.get("Deployment", "payments", "payment-gateway").spec.replicas != 2:
                await anyio.lowlevel.checkpoint()  # let the shielded change finish (no wall-clock wait: it is gated)
    effects = [r for r in audit_records(audit) if r.get("event") in ("intent", "effect")]
    assert [r["event"] for r in effects] == ["intent", "effect"]
    intent, outcome = effects
    assert intent["effect"] == outcome["effect"] and outcome["outcome"] == "done"
    assert intent["action"]["name"] == "scale" and (intent["action"]["from"], intent["action"]["to"]) == (5, 2)
    assert verify(audit).ok


async def test_without_an_audit_log_no_scale_happens(snapshot_dir: Path) -> None:
    settings = K8sSettings(backend="snapshot", snapshot_dir=snapshot_dir, enable_writes=True)
    async with Client(create_server(settings)) as client:
        token = (await client.call_tool("scale_deployment", {**ARGS, "replicas": 2})).structured_content[
            "confirmation_token"
        ]
        refused = await client.call_tool("scale_deployment", {**ARGS, "replicas": 2, "confirmation_token": token})
        assert refused.is_error and "K8S_MCP_AUDIT_LOG" in refused.content[0].text
        assert await replicas(client) == 5


async def test_a_token_spent_before_a_restart_is_refused_after_it(snapshot_dir: Path, tmp_path: Path) -> None:
    """Two server processes in turn (a restart, or two replicas) with one key, over one cluster that keeps its
    state: the second has no memory of the spent token, the cluster's resourceVersion refuses it."""
    cluster = SnapshotBackend(snapshot_dir)
    settings = K8sSettings(
        backend="snapshot",
        snapshot_dir=snapshot_dir,
        audit_log=tmp_path / "audit.jsonl",
        enable_writes=True,
        confirmation_key="k" * 32,
    )
    async with Client(create_server(settings, backend=cluster)) as before:
        token = (await before.call_tool("scale_deployment", {**ARGS, "replicas": 4})).structured_content[
            "confirmation_token"
        ]
        done = await before.call_tool("scale_deployment", {**ARGS, "replicas": 4, "confirmation_token": token})
        assert done.structured_content["executed"] is True
    async with Client(create_server(settings, backend=cluster)) as after:
        await after.call_tool("scale_deployment", {**ARGS, "replicas": 5, "confirmation_token": "x"})
        back = (await after.call_tool("scale_deployment", {**ARGS, "replicas": 5})).structured_content[
            "confirmation_token"
        ]
        assert (
            await after.call_tool("scale_deployment", {**ARGS, "replicas": 5, "confirmation_token": back})
        ).structured_content["executed"]
        replay = await after.call_tool("scale_deployment", {**ARGS, "replicas": 4, "confirmation_token": token})
    assert replay.is_error and "changed since the preview" in replay.content[0].text


async def test_a_non_ascii_token_is_invalid_not_an_internal_error(make_server) -> None:
    async with Client(make_server(enable_writes=True)) as client:
        result = await client.call_tool("scale_deployment", {**ARGS, "replicas": 3, "confirmation_token": "jetón.ñ€"})
    assert result.is_error and "confirmation token is invalid" in result.content[0].text
