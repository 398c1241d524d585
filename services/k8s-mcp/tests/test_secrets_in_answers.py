"""The shared secrets corpus (mcp-common's tests/fixtures/secrets/corpus.toml) through describe_pod and get_events:
every credential in a container's env is masked, every secret in a free-text message (a crash message, a
condition, an event) is masked, and the harmless look-alikes come out unchanged."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest
from cluster_objects import NAMESPACE, deployment, event, pod, replicaset, status, terminated, waiting, write_snapshot
from mcp import Client

from k8s_mcp.config import K8sSettings
from k8s_mcp.server import create_server

pytestmark = pytest.mark.anyio

CORPUS: dict[str, list[dict[str, Any]]] = tomllib.loads(
    (Path(__file__).parents[3] / "packages/mcp-common/tests/fixtures/secrets/corpus.toml").read_text("utf-8")
)
IMAGE = "shop/app:1.4.2"
# What the corpus says may be shown (a URL's host, a harmless value): removed before looking for hidden parts,
# since another entry's hidden word can sit inside one ("keycloak" in "@keycloak.example.com/realms/master").
SHOWN = sorted(
    {s for entries in CORPUS.values() for e in entries for s in e.get("shown", [])}
    | {e["value"] for e in CORPUS["harmless_env"] + CORPUS["harmless_text"]},
    key=len,
    reverse=True,
)


def leaky_pod() -> list[dict]:
    texts = [entry["value"] for entry in CORPUS["secret_text"]]
    # the credentials in the app container, the look-alikes (some under the same names) in the init container
    init = {
        "name": "migrate",
        "image": IMAGE,
        "env": [{"name": e["name"], "value": e["value"]} for e in CORPUS["harmless_env"]],
    }
    app = {
        "name": "app",
        "image": IMAGE,
        "env": [{"name": e["name"], "value": e["value"]} for e in CORPUS["secret_env"]],
    }
    leaky = pod(
        "web-7d9f8-x",
        phase="Pending",
        containers=[app],
        init_containers=[init],
        init_statuses=[status("migrate", waiting("CrashLoopBackOff", texts[0]), last=terminated("Error", 1, texts[1]))],
        statuses=[status("app", waiting("PodInitializing"), image=IMAGE)],
        conditions=[{"type": "Ready", "status": "False", "reason": "ContainersNotReady", "message": texts[2]}],
    )
    events = [event("web-7d9f8-x", "Failed", text, minutes=i + 1) for i, text in enumerate(texts)]
    return [leaky, *events]


async def answers(tmp_path: Path) -> list[tuple[str, Any]]:
    root = write_snapshot(tmp_path / "snap", leaky_pod())
    settings = K8sSettings(
        backend="snapshot", snapshot_dir=root, allowed_namespaces=NAMESPACE, audit_log=tmp_path / "audit.jsonl"
    )
    async with Client(create_server(settings)) as client:
        results = [
            await client.call_tool("describe_pod", {"namespace": NAMESPACE, "pod_name": "web-7d9f8-x"}),
            await client.call_tool("get_events", {"namespace": NAMESPACE}),
        ]
    assert not any(r.is_error for r in results)
    return [(block.text, r.structured_content) for r in results for block in r.content]


def leaks(blob: str) -> list[str]:
    for shown in SHOWN:
        blob = blob.replace(shown, "")
    return [h for e in CORPUS["secret_env"] + CORPUS["secret_text"] for h in e["hidden"] if h in blob]


async def test_every_corpus_secret_is_masked_in_describe_pod_and_get_events(tmp_path: Path) -> None:
    for text, structured in await answers(tmp_path):
        assert leaks(text) == [], "in the text a model reads"
        assert leaks(json.dumps(structured)) == [], "in the structured content"


async def test_env_values_are_masked_per_variable_and_harmless_ones_shown_as_given(tmp_path: Path) -> None:
    (_, detail), _ = await answers(tmp_path)
    env = {c["name"]: c["env"] for c in detail["containers"]}
    for entry in CORPUS["secret_env"]:
        assert not any(h in env["app"][entry["name"]] for h in entry["hidden"]), entry["name"]
        assert all(s in env["app"][entry["name"]] for s in entry.get("shown", [])), entry["name"]
    for entry in CORPUS["harmless_env"]:
        assert env["migrate"][entry["name"]] == entry["value"], entry["name"]


async def test_messages_keep_their_readable_part(tmp_path: Path) -> None:
    _, (_, events) = await answers(tmp_path)
    messages = [e["message"] for e in events["items"]]
    assert len(messages) == len(CORPUS["secret_text"])
    for entry in CORPUS["secret_text"]:
        assert any(all(s in m for s in entry.get("shown", [])) for m in messages), entry["value"]


async def test_every_corpus_secret_is_masked_in_the_diagnosis(tmp_path: Path) -> None:
    """The verdict and the evidence quote the same messages (container states, the workload's conditions,
    events) and were shown as is: a CreateContainerConfigError or an admission webhook's denial carrying a DSN put
    its password in the diagnosis."""
    texts = [entry["value"] for entry in CORPUS["secret_text"]]
    failing = {"type": "ReplicaFailure", "status": "True", "reason": "FailedCreate", "message": texts[-1]}
    workload = deployment(replicas=2, conditions=[failing])
    # the corpus hides the env value "example": the helpers' image (registry.example/...) would read as a leak
    workload["spec"]["template"]["spec"]["containers"][0]["image"] = IMAGE
    objects = [workload, replicaset("web-7d9f8"), *leaky_pod()]
    root = write_snapshot(tmp_path / "snap", objects)
    settings = K8sSettings(backend="snapshot", snapshot_dir=root, allowed_namespaces=NAMESPACE)
    async with Client(create_server(settings)) as client:
        result = await client.call_tool("diagnose_workload", {"namespace": NAMESPACE, "name": "web"})
    assert not result.is_error and result.structured_content
    assert {"replica_failure", "init_failure"} <= {c["kind"] for c in result.structured_content["causes"]}
    assert leaks(result.content[0].text) == [], "in the text a model reads"
    assert leaks(json.dumps(result.structured_content)) == [], "in the structured content"
