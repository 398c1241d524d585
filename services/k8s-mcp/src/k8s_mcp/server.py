"""The k8s-mcp server: thin glue from MCP tools to the domain functions in inspection/diagnosis/scaling.

The lifespan yields the `AppContext` (settings, the cluster backend, the clock) that every tool reaches through
its `ctx`, and closes the backend on exit. The backend is built in `create_server`, so a bad snapshot or
kubeconfig fails at start; building it does no network I/O, so nothing needs to open in the background.
"""

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import anyio
from mcp.server.mcpserver import Context, MCPServer
from pydantic import Field

from k8s_mcp import __version__, diagnosis, inspection, prompts
from k8s_mcp.backends import ClusterBackend
from k8s_mcp.config import K8sSettings
from k8s_mcp.formatting import is_ready, restarts
from k8s_mcp.models import (
    DeploymentList,
    Diagnosis,
    EventList,
    LogLines,
    NamespaceList,
    PodDetail,
    PodList,
    ScalePreview,
)
from k8s_mcp.scaling import ConfirmationTokens, ScaleIntent
from mcp_common.blocking import run_blocking
from mcp_common.errors import ConfigError, ToolError
from mcp_common.factory import DESTRUCTIVE, READ_ONLY, new_server
from mcp_common.prompts import add_investigate_prompt
from mcp_common.validation import clamp, require_allowed, require_dns1123_label, require_dns1123_subdomain

logger = logging.getLogger(__name__)

PodStatus = Literal[
    "Running",
    "Pending",
    "CrashLoopBackOff",
    "OOMKilled",
    "ImagePullBackOff",
    "ErrImagePull",
    "Error",
    "Completed",
    "ContainerCreating",
    "Terminating",
    "Succeeded",
    "Failed",
    "Unknown",
]

INSTRUCTIONS = """Read-only access to a Kubernetes cluster's workloads in a few allowed namespaces.
Start with list_namespaces or list_pods; diagnose_deployment gives a one-call verdict for a deployment;
describe_pod and get_pod_logs (previous=true for a crashed container) explain a failing pod; get_events
shows what the cluster did. Names come from earlier results: do not guess them."""


def build_backend(settings: K8sSettings) -> ClusterBackend:
    """The backend the settings ask for; a `ConfigError` that says how to configure one otherwise."""
    if settings.backend == "snapshot":
        from k8s_mcp.snapshot import SnapshotBackend

        if settings.snapshot_dir is None:
            raise ConfigError("K8S_MCP_SNAPSHOT_DIR is required with K8S_MCP_BACKEND=snapshot")
        return SnapshotBackend(settings.snapshot_dir)
    if settings.backend == "live":
        from k8s_mcp.live import LiveBackend, api_client_from

        return LiveBackend(
            api_client_from(settings.kubeconfig, settings.context, settings.in_cluster), settings.request_timeout_s
        )
    raise ConfigError(
        "no Kubernetes backend configured: set K8S_MCP_BACKEND=snapshot and K8S_MCP_SNAPSHOT_DIR=<dir> "
        "(`sre-lab seed cluster` writes one), or K8S_MCP_BACKEND=live with a kubeconfig "
        "(K8S_MCP_KUBECONFIG, K8S_MCP_CONTEXT) or K8S_MCP_IN_CLUSTER=true"
    )


@dataclass(frozen=True)
class AppContext:
    """What the lifespan yields and every tool reaches through `ctx.request_context.lifespan_context`."""

    settings: K8sSettings
    cluster: ClusterBackend
    clock: Callable[[], datetime]

    @property
    def timeout_s(self) -> float:
        return self.settings.request_timeout_s + 2  # the client-side wait outlasts the API's own timeout

    def namespace_ok(self, namespace: str) -> str:
        # Defence in depth: the allowlist is checked before any request leaves the server.
        allowed = self.settings.allowed_namespaces
        return require_allowed(require_dns1123_label(namespace.strip(), "namespace"), allowed, "namespace")

    async def call(self, fn: Callable[..., Any], *args: Any, what: str) -> Any:
        """Run a domain function against the cluster in a worker thread, under the request deadline."""
        return await run_blocking(fn, self.cluster, *args, timeout_s=self.timeout_s, what=what)

    async def healthy(self) -> bool:
        return await run_blocking(self.cluster.ping, timeout_s=self.timeout_s, what="health check")


def create_server(
    settings: K8sSettings,
    backend: ClusterBackend | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    token_clock: Callable[[], float] | None = None,
) -> MCPServer[AppContext]:
    """Build k8s-mcp from settings. Tests pass a backend and clocks; `main()` passes settings only."""
    cluster = backend or build_backend(settings)
    allowed = settings.allowed_namespaces

    @asynccontextmanager
    async def lifespan(_: MCPServer[AppContext]) -> AsyncIterator[AppContext]:
        try:
            yield AppContext(settings, cluster, clock)
        finally:
            cluster.close()

    server = new_server(
        "k8s-mcp",
        settings,
        instructions=INSTRUCTIONS,
        version=__version__,
        lifespan=lifespan,
        health=AppContext.healthy,
    )
    _register_read_tools(server, allowed)
    add_investigate_prompt(
        server, "Investigate an incident (Kubernetes)", lambda s, y: prompts.investigate_incident(s, y, allowed)
    )
    if settings.enable_writes:
        _register_scale(server, settings, token_clock)
    return server


def _register_read_tools(server: MCPServer[AppContext], allowed: tuple[str, ...]) -> None:
    Namespace = Annotated[str, Field(max_length=63, description=f"Kubernetes namespace; allowed: {', '.join(allowed)}")]
    PodName = Annotated[str, Field(min_length=1, max_length=253, description="Exact pod name from list_pods")]

    @server.tool(annotations=READ_ONLY)
    async def list_namespaces(ctx: Context[AppContext]) -> NamespaceList:
        """List the namespaces this server may read, with their pod counts. Call first when unsure where a
        workload runs; every other tool takes one of these namespaces."""
        app = ctx.request_context.lifespan_context
        return await app.call(inspection.list_namespaces, allowed, app.clock(), what="list_namespaces")

    @server.tool(annotations=READ_ONLY)
    async def list_pods(
        ctx: Context[AppContext], namespace: Namespace, status_filter: PodStatus | None = None
    ) -> PodList:
        """List pods in a namespace as `kubectl get pods` shows them: status from container states
        (CrashLoopBackOff, OOMKilled, ImagePullBackOff), ready, restarts, age, node, cpu/memory requests.
        `summary` counts running and not-ready pods over the whole namespace, whatever the filter.
        Next: describe_pod or get_pod_logs for a failing pod, diagnose_deployment for its deployment."""
        app = ctx.request_context.lifespan_context
        ns = app.namespace_ok(namespace)
        return await app.call(inspection.list_pods, ns, status_filter, app.clock(), what="list_pods")

    @server.tool(annotations=READ_ONLY)
    async def get_pod_logs(
        ctx: Context[AppContext],
        namespace: Namespace,
        pod_name: PodName,
        lines: Annotated[int, Field(description="How many of the last lines to return; clamped to 1..500")] = 20,
        previous: Annotated[
            bool, Field(description="true: the previous (crashed) container's logs, where the crash is")
        ] = False,
        grep: Annotated[
            str | None, Field(max_length=200, description="Keep only lines containing this text (case-insensitive)")
        ] = None,
        container: Annotated[str | None, Field(max_length=63, description="Container; default: the first")] = None,
    ) -> LogLines:
        """Get the last lines of a pod's container log, newest last. For a pod in CrashLoopBackOff the error
        is usually in the previous container: use previous=true. grep filters lines by a literal substring."""
        app = ctx.request_context.lifespan_context
        ns = app.namespace_ok(namespace)
        name = require_dns1123_subdomain(pod_name.strip(), "pod_name")
        if container is not None:
            require_dns1123_label(container, "container")
        return await app.call(
            inspection.get_pod_logs, ns, name, clamp(lines, 1, 500), previous, grep, container, what="get_pod_logs"
        )

    @server.tool(annotations=READ_ONLY)
    async def describe_pod(ctx: Context[AppContext], namespace: Namespace, pod_name: PodName) -> PodDetail:
        """Describe a pod: each container's image, state and last state (reason, exit code: OOMKilled is 137),
        restart count, requests/limits, probes and env (secrets shown as references), the pod's conditions,
        node, IP and its recent events. Use it to learn WHY a pod fails."""
        app = ctx.request_context.lifespan_context
        ns = app.namespace_ok(namespace)
        name = require_dns1123_subdomain(pod_name.strip(), "pod_name")
        return await app.call(inspection.describe_pod, ns, name, app.clock(), what="describe_pod")

    @server.tool(annotations=READ_ONLY)
    async def list_deployments(ctx: Context[AppContext], namespace: Namespace) -> DeploymentList:
        """List deployments with ready/desired, up-to-date and available replicas, images, age and conditions.
        A deployment whose ready count is below desired is degraded: diagnose_deployment explains why."""
        app = ctx.request_context.lifespan_context
        ns = app.namespace_ok(namespace)
        return await app.call(inspection.list_deployments, ns, app.clock(), what="list_deployments")

    @server.tool(annotations=READ_ONLY)
    async def get_events(
        ctx: Context[AppContext],
        namespace: Namespace,
        event_type: Literal["Warning", "Normal"] | None = None,
        involved_object: Annotated[
            str | None,
            Field(max_length=300, description="Only events about this object: 'pod/NAME', 'deployment/NAME' or NAME"),
        ] = None,
        limit: Annotated[int, Field(ge=1, le=200, description="At most this many events")] = 50,
    ) -> EventList:
        """Get the namespace's events, newest first: OOMKilled, BackOff, Pulled, ScalingReplicaSet, failed
        scheduling, probe failures. Filter with event_type=Warning for problems only."""
        app = ctx.request_context.lifespan_context
        ns = app.namespace_ok(namespace)
        if involved_object:
            kind, _, obj = involved_object.strip().rpartition("/")
            require_dns1123_subdomain(obj, "involved_object name")
            if kind and not kind.isalpha():
                raise ToolError(f"involved_object kind '{kind[:40]}' is not a kind; use e.g. pod/NAME")
            involved_object = f"{kind}/{obj}" if kind else obj
        return await app.call(
            inspection.get_events, ns, event_type, involved_object, limit, app.clock(), what="get_events"
        )

    @server.tool(annotations=READ_ONLY)
    async def diagnose_deployment(
        ctx: Context[AppContext],
        namespace: Namespace,
        name: Annotated[str, Field(min_length=1, max_length=253, description="Deployment name")],
    ) -> Diagnosis:
        """One-call diagnosis of a deployment: walks deployment → pods → container last states → warning
        events → the crash log of the worst pod, and returns a short verdict (e.g. '2/5 pods OOMKilled at
        512Mi limit; last log: java.lang.OutOfMemoryError ...') with evidence and next steps."""
        app = ctx.request_context.lifespan_context
        ns = app.namespace_ok(namespace)
        deployment = require_dns1123_subdomain(name.strip(), "name")
        return await app.call(diagnosis.diagnose_deployment, ns, deployment, app.clock(), what="diagnose_deployment")


def _register_scale(
    server: MCPServer[AppContext], settings: K8sSettings, token_clock: Callable[[], float] | None
) -> None:
    allowed = settings.allowed_namespaces
    Namespace = Annotated[str, Field(max_length=63, description=f"Kubernetes namespace; allowed: {', '.join(allowed)}")]
    key = settings.confirmation_key.get_secret_value().encode() if settings.confirmation_key else None
    tokens = ConfirmationTokens(key, settings.confirmation_ttl_s, **({"clock": token_clock} if token_clock else {}))
    lock = anyio.Lock()  # preview-check-execute is one step per deployment change

    @server.tool(annotations=DESTRUCTIVE)
    async def scale_deployment(
        ctx: Context[AppContext],
        namespace: Namespace,
        name: Annotated[str, Field(min_length=1, max_length=253, description="Deployment name")],
        replicas: Annotated[int, Field(ge=0, le=settings.max_replicas, description="Requested replica count")],
        confirmation_token: Annotated[
            str | None, Field(max_length=1024, description="The token from the preview; omit to get a preview")
        ] = None,
    ) -> ScalePreview:
        """Scale a deployment, in two steps. Without confirmation_token nothing changes: you get a preview
        (current → requested replicas, pods affected) and a token valid for a short time. Show the preview
        to the user; only after they agree, call again with the same arguments and the token to execute."""
        app = ctx.request_context.lifespan_context
        cluster, timeout = app.cluster, app.timeout_s
        ns = app.namespace_ok(namespace)
        deployment_name = require_dns1123_subdomain(name.strip(), "name")
        async with lock:
            deployment = await run_blocking(cluster.deployment, ns, deployment_name, timeout_s=timeout, what="scale")
            current = deployment.spec.replicas if deployment.spec.replicas is not None else 1
            intent = ScaleIntent(ns, deployment_name, replicas, current)
            change = f"{current} → {replicas} replicas"
            if confirmation_token is None:
                pods = await run_blocking(
                    cluster.pods, ns, deployment.spec.selector.match_labels, timeout_s=timeout, what="scale"
                )
                affected = _pods_affected(pods, current, replicas)
                return ScalePreview(
                    executed=False,
                    namespace=ns,
                    deployment=deployment_name,
                    current_replicas=current,
                    requested_replicas=replicas,
                    change=change,
                    pods_affected=affected,
                    confirmation_token=tokens.issue(intent),
                    expires_in_s=tokens.ttl_s,
                    message="Preview only: nothing changed. Confirm with the user, then call again with the token.",
                )
            tokens.redeem(confirmation_token, intent)
            await run_blocking(cluster.scale, ns, deployment_name, replicas, timeout_s=timeout, what="scale")
            logger.warning("scaled %s/%s: %s", ns, deployment_name, change)
            return ScalePreview(
                executed=True,
                namespace=ns,
                deployment=deployment_name,
                current_replicas=replicas,
                requested_replicas=replicas,
                change=change,
                message=f"Scaled {ns}/{deployment_name}: {change}.",
            )


def _pods_affected(pods: list[Any], current: int, requested: int) -> list[str]:
    if requested > current:
        return [f"{requested - current} new pod(s) will be created"]
    if requested == current:
        return ["no change"]
    # The ReplicaSet controller's deletion order: not-ready first, then more restarts, then the youngest.
    ordered = sorted(pods, key=lambda p: (is_ready(p), -restarts(p), -(p.metadata.creation_timestamp.timestamp())))
    return [f"{p.metadata.name} will be removed" for p in ordered[: current - requested]]
