"""The k8s-mcp server: thin glue from MCP tools to the domain functions in inspection/diagnosis/scaling.

The lifespan yields the `AppContext` (settings, the namespace policy, the cluster backend, the clock) that every
tool reaches through its `ctx`, and closes the backend on exit. The backend is built in `create_server`, so a
bad snapshot directory or kubeconfig fails at start; building it reads nothing big and does no network I/O. A
snapshot's list files are read and indexed in the background right after (`open_in_background`), so
`initialize` and `tools/list` never wait for them; a call that comes first waits for the data it needs.
"""

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context, MCPServer
from pydantic import Field

from k8s_mcp import __version__, prompts
from k8s_mcp.backends import ClusterBackend
from k8s_mcp.config import K8sSettings
from k8s_mcp.models import (
    CronJobList,
    DaemonSetList,
    DeploymentList,
    Diagnosis,
    EventList,
    JobList,
    LogLines,
    NamespaceList,
    PodDetail,
    PodList,
    ScalePreview,
    StatefulSetList,
)
from k8s_mcp.namespaces import NamespacePolicy
from k8s_mcp.scaling import ConfirmationTokens, ScaleFlow
from k8s_mcp.statuses import CATEGORIES
from mcp_common.background import Background, open_in_background
from mcp_common.blocking import run_blocking
from mcp_common.effects import audited_effect
from mcp_common.errors import ConfigError, ToolError
from mcp_common.factory import DESTRUCTIVE, READ_ONLY, new_server
from mcp_common.guard import client_identity
from mcp_common.prompts import add_investigate_prompt
from mcp_common.validation import clamp, require_dns1123_label, require_dns1123_subdomain

logger = logging.getLogger(__name__)

INSTRUCTIONS = """Read-only access to a Kubernetes cluster's workloads in a few allowed namespaces.
Start with list_namespaces or list_pods; diagnose_workload gives a one-call verdict with its evidence for a
Deployment, StatefulSet, DaemonSet, Job or CronJob; describe_pod and get_pod_logs (previous=true for a crashed
container) explain a failing pod; get_events shows what the cluster did. Names come from earlier results:
do not guess them."""

WorkloadKind = Literal["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"]


def build_backend(settings: K8sSettings) -> ClusterBackend:
    """The backend the settings ask for; a `ConfigError` that says how to configure one otherwise."""
    if settings.backend == "snapshot":
        from k8s_mcp.snapshot import SnapshotBackend  # noqa: PLC0415 - start-up: only the backend in use loads

        if settings.snapshot_dir is None:
            raise ConfigError("K8S_MCP_SNAPSHOT_DIR is required with K8S_MCP_BACKEND=snapshot")
        return SnapshotBackend(settings.snapshot_dir)
    if settings.backend == "live":
        from k8s_mcp.live import LiveBackend, api_client_from  # noqa: PLC0415 - start-up: only the backend in use loads

        return LiveBackend(
            api_client_from(settings.kubeconfig, settings.context, settings.in_cluster),
            settings.request_timeout_s,
            context=settings.context,
        )
    raise ConfigError(
        "no Kubernetes backend configured: set K8S_MCP_BACKEND=snapshot and K8S_MCP_SNAPSHOT_DIR=<dir> "
        "(`sre-lab seed cluster` writes one), or K8S_MCP_BACKEND=live with a kubeconfig "
        "(K8S_MCP_KUBECONFIG or KUBECONFIG, K8S_MCP_CONTEXT) or K8S_MCP_IN_CLUSTER=true"
    )


@dataclass(frozen=True)
class AppContext:
    """What the lifespan yields and every tool reaches through `ctx.request_context.lifespan_context`."""

    settings: K8sSettings
    policy: NamespacePolicy
    cluster: Background[ClusterBackend]
    clock: Callable[[], datetime] | None  # None: the snapshot's captured_at, else the wall clock

    @property
    def timeout_s(self) -> float:
        return self.settings.request_timeout_s + 2  # the client-side wait outlasts the API's own timeout

    def namespace_ok(self, namespace: str) -> str:
        # Defence in depth: the allowlist is checked before any request leaves the server.
        return self.policy.check(namespace)

    async def now(self) -> datetime:
        """The snapshot's `captured_at` (ages and event windows read as when it was taken), else the clock."""
        if self.clock is not None:
            return self.clock()
        return (await self.cluster.get()).captured_at or datetime.now(UTC)

    async def call(self, function: str, *args: Any) -> Any:
        """Run a domain function ('inspection.list_pods') against the cluster in a worker thread, under the
        request deadline. Named, not passed: the domain modules load in the background after start (`_domain`),
        and are looked up once the cluster is open."""
        cluster = await self.cluster.get()
        module, _, name = function.partition(".")
        fn = getattr(_domain()[module], name)
        return await run_blocking(fn, cluster, *args, timeout_s=self.timeout_s, what=name)

    async def healthy(self) -> bool:
        cluster = self.cluster.value  # a health check must not wait for the snapshot to be read
        return cluster is not None and await run_blocking(cluster.ping, timeout_s=self.timeout_s, what="health check")


def _domain() -> dict[str, Any]:
    # Deferred: the domain modules import the kubernetes client's models, most of a second of start-up; they load
    # in the background right after start (see `_opened`), so `initialize` and `tools/list` do not wait for them.
    from k8s_mcp import diagnosis, inspection  # noqa: PLC0415 - start-up cost, see above

    return {"inspection": inspection, "diagnosis": diagnosis}


def _opened(cluster: ClusterBackend, namespaces: tuple[str, ...]) -> ClusterBackend:
    """Load the domain and read and index what the tools will ask for first (a snapshot's allowed namespaces);
    a live backend has nothing to read ahead."""
    _domain()
    warm = getattr(cluster, "warm", None)
    if warm is not None:
        warm(namespaces)
    return cluster


def create_server(
    settings: K8sSettings,
    backend: ClusterBackend | None = None,
    clock: Callable[[], datetime] | None = None,
    token_clock: Callable[[], float] | None = None,
) -> MCPServer[AppContext]:
    """Build k8s-mcp from settings. Tests pass a backend and clocks; `main()` passes settings only."""
    cluster = backend or build_backend(settings)
    policy = NamespacePolicy.from_settings(settings.allowed_namespaces, settings.denied_namespaces)

    @asynccontextmanager
    async def lifespan(_: MCPServer[AppContext]) -> AsyncIterator[AppContext]:
        try:
            opener = partial(_opened, cluster, policy.named)
            async with open_in_background(
                f"the cluster ({cluster.name})", opener, wait_s=settings.request_timeout_s * 6
            ) as opening:
                yield AppContext(settings, policy, opening, clock)
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
    _register_read_tools(server, policy)
    add_investigate_prompt(
        server,
        "Investigate an incident (Kubernetes)",
        lambda s, y: prompts.investigate_incident(s, y, policy.named or (policy.describe(),)),
    )
    if settings.enable_writes:
        _register_scale(server, settings, cluster, policy, token_clock)
    return server


def _register_read_tools(server: MCPServer[AppContext], policy: NamespacePolicy) -> None:  # noqa: PLR0915 - one per tool
    Namespace = Annotated[str, Field(max_length=63, description=f"Kubernetes namespace; allowed: {policy.describe()}")]
    PodName = Annotated[str, Field(min_length=1, max_length=253, description="Exact pod name from list_pods")]
    Name = Annotated[str, Field(min_length=1, max_length=253, description="Workload name")]

    async def listing(ctx: Context[AppContext], function: str, namespace: str) -> Any:
        app = ctx.request_context.lifespan_context
        return await app.call(function, app.namespace_ok(namespace), await app.now())

    @server.tool(title="List namespaces", annotations=READ_ONLY)
    async def list_namespaces(ctx: Context[AppContext]) -> NamespaceList:
        """List the namespaces this server may read, with their pod counts. Call first when unsure where a
        workload runs; every other tool takes one of these namespaces."""
        app = ctx.request_context.lifespan_context
        return await app.call("inspection.list_namespaces", app.policy, await app.now())

    @server.tool(title="List pods", annotations=READ_ONLY)
    async def list_pods(
        ctx: Context[AppContext],
        namespace: Namespace,
        status_filter: Annotated[
            str | None,
            Field(
                max_length=80,
                description="Only pods with this STATUS (any value list_pods prints, e.g. CrashLoopBackOff, "
                f"Init:Error, Evicted), 'Init:*', or a category: {', '.join(CATEGORIES)}",
            ),
        ] = None,
    ) -> PodList:
        """List pods in a namespace exactly as `kubectl get pods` shows them (READY, STATUS, RESTARTS with init
        containers and native sidecars counted), with age, node, memory limit and last termination. `summary`
        counts ready and not-ready pods over the whole namespace, whatever the filter.
        Next: describe_pod or get_pod_logs for a failing pod, diagnose_workload for its workload."""
        app = ctx.request_context.lifespan_context
        ns = app.namespace_ok(namespace)
        return await app.call("inspection.list_pods", ns, status_filter, await app.now())

    @server.tool(title="Get a pod's logs", annotations=READ_ONLY)
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
        container: Annotated[
            str | None,
            Field(
                max_length=63,
                description="Any container of the pod, init containers and sidecars included; "
                "default: kubectl's default container",
            ),
        ] = None,
    ) -> LogLines:
        """Get the last lines of a pod's container log, newest last. For a pod in CrashLoopBackOff the error
        is usually in the previous container: use previous=true. For Init:* pods, name the init container.
        grep filters lines by a literal substring."""
        app = ctx.request_context.lifespan_context
        ns = app.namespace_ok(namespace)
        name = require_dns1123_subdomain(pod_name.strip(), "pod_name")
        if container is not None:
            require_dns1123_label(container, "container")
        return await app.call("inspection.get_pod_logs", ns, name, clamp(lines, 1, 500), previous, grep, container)

    @server.tool(title="Describe a pod", annotations=READ_ONLY)
    async def describe_pod(ctx: Context[AppContext], namespace: Namespace, pod_name: PodName) -> PodDetail:
        """Describe a pod: every container (init containers and sidecars marked) with its state and last state
        (reason, message, exit code: OOMKilled is 137), restarts, requests/limits, probes and env (secrets shown
        as references), the pod's conditions, node, IP and recent events. Use it to learn WHY a pod fails."""
        app = ctx.request_context.lifespan_context
        ns = app.namespace_ok(namespace)
        name = require_dns1123_subdomain(pod_name.strip(), "pod_name")
        return await app.call("inspection.describe_pod", ns, name, await app.now())

    @server.tool(title="List deployments", annotations=READ_ONLY)
    async def list_deployments(ctx: Context[AppContext], namespace: Namespace) -> DeploymentList:
        """List deployments with ready/desired, up-to-date and available replicas, images, age and conditions.
        A deployment whose ready count is below desired is degraded: diagnose_workload explains why."""
        return await listing(ctx, "inspection.list_deployments", namespace)

    @server.tool(title="List StatefulSets", annotations=READ_ONLY)
    async def list_statefulsets(ctx: Context[AppContext], namespace: Namespace) -> StatefulSetList:
        """List StatefulSets with ready/desired, current and updated replicas, images and age."""
        return await listing(ctx, "inspection.list_statefulsets", namespace)

    @server.tool(title="List DaemonSets", annotations=READ_ONLY)
    async def list_daemonsets(ctx: Context[AppContext], namespace: Namespace) -> DaemonSetList:
        """List DaemonSets with desired, current, ready, up-to-date and available pods and node selector."""
        return await listing(ctx, "inspection.list_daemonsets", namespace)

    @server.tool(title="List Jobs", annotations=READ_ONLY)
    async def list_jobs(ctx: Context[AppContext], namespace: Namespace) -> JobList:
        """List Jobs, newest first: status (Running, Complete, Failed, Suspended), completions, active,
        succeeded and failed pods, duration, the CronJob that created it, and why a failed one failed."""
        return await listing(ctx, "inspection.list_jobs", namespace)

    @server.tool(title="List CronJobs", annotations=READ_ONLY)
    async def list_cronjobs(ctx: Context[AppContext], namespace: Namespace) -> CronJobList:
        """List CronJobs: schedule, time zone, suspended, active jobs, last schedule and last success, and the
        last job with its status. A failed last job: diagnose_workload(kind='CronJob') explains it."""
        return await listing(ctx, "inspection.list_cronjobs", namespace)

    @server.tool(title="Get events", annotations=READ_ONLY)
    async def get_events(
        ctx: Context[AppContext],
        namespace: Namespace,
        event_type: Annotated[
            Literal["Warning", "Normal"] | None, Field(description="Only this type: Warning for problems")
        ] = None,
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
        now = await app.now()
        return await app.call("inspection.get_events", ns, event_type, involved_object, limit, now)

    @server.tool(title="Diagnose a workload", annotations=READ_ONLY)
    async def diagnose_workload(
        ctx: Context[AppContext],
        namespace: Namespace,
        name: Name,
        kind: Annotated[WorkloadKind, Field(description="The workload's kind")] = "Deployment",
    ) -> Diagnosis:
        """One-call diagnosis of a Deployment, StatefulSet, DaemonSet, Job or CronJob: walks its pods (init
        containers and sidecars included), their states and last states, their events, the workload's own
        conditions (quota, stuck rollout, failed job) and the crash log of the worst pod; returns a health
        (healthy only when every desired pod is ready and nothing restarted recently), a verdict naming each
        cause (crash loop, OOMKilled, image pull, config error, unschedulable, init failure, stuck creating,
        probe failure, stuck rollout, quota) with its evidence, and next steps."""
        app = ctx.request_context.lifespan_context
        ns = app.namespace_ok(namespace)
        workload = require_dns1123_subdomain(name.strip(), "name")
        now = await app.now()
        return await app.call("diagnosis.diagnose_workload", ns, kind, workload, now)

    @server.tool(title="Diagnose a deployment", annotations=READ_ONLY)
    async def diagnose_deployment(ctx: Context[AppContext], namespace: Namespace, name: Name) -> Diagnosis:
        """diagnose_workload for a Deployment (kept for clients that know this name)."""
        app = ctx.request_context.lifespan_context
        ns = app.namespace_ok(namespace)
        workload = require_dns1123_subdomain(name.strip(), "name")
        now = await app.now()
        return await app.call("diagnosis.diagnose_workload", ns, "Deployment", workload, now)


def _register_scale(
    server: MCPServer[AppContext],
    settings: K8sSettings,
    cluster: ClusterBackend,
    policy: NamespacePolicy,
    token_clock: Callable[[], float] | None,
) -> None:
    Namespace = Annotated[str, Field(max_length=63, description=f"Kubernetes namespace; allowed: {policy.describe()}")]
    key = settings.confirmation_key.get_secret_value().encode() if settings.confirmation_key else None
    tokens = ConfirmationTokens(key, settings.confirmation_ttl_s, **({"clock": token_clock} if token_clock else {}))
    flow = ScaleFlow(cluster, tokens)

    @server.tool(title="Scale a deployment", annotations=DESTRUCTIVE)
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
        ns = app.namespace_ok(namespace)
        deployment = require_dns1123_subdomain(name.strip(), "name")
        client = client_identity(ctx.request_context)
        await app.cluster.get()  # the snapshot is read (a live backend is ready at once)
        timeout = app.timeout_s
        if confirmation_token is None:
            return await run_blocking(flow.preview, ns, deployment, replicas, client, timeout_s=timeout, what="scale")
        intent = await run_blocking(
            flow.check, ns, deployment, replicas, confirmation_token, client, timeout_s=timeout, what="scale"
        )
        # The change, and only the change: its intent is on disk before it starts (or it does not start), it runs
        # to its end even if the client cancels, and its outcome is recorded after.
        details = {
            "namespace": ns,
            "deployment": deployment,
            "from": intent.current,
            "to": intent.requested,
            "resource_version": intent.resource_version,
        }
        async with audited_effect("scale", details):
            done: ScalePreview = await run_blocking(flow.execute, intent, timeout_s=timeout, what="scale")
        return done
