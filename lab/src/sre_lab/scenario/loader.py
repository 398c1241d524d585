"""`build_scenario`: the incident of `incident.yaml`, as of a given "now".

The data file holds every name, spec and offset; this module only resolves its time expressions against
the scenario clock, works out the crash schedules (the one thing that is computed rather than written
down) and builds the objects of `sre_lab.scenario.model`.
"""

from __future__ import annotations

import functools
import random
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any, Literal, cast

import yaml

from sre_lab.scenario.events import derive_events
from sre_lab.scenario.incident import Scenario, backoff_before_restart, container_id, crash_schedule, uid
from sre_lab.scenario.model import (
    Batch,
    ContainerSpec,
    CrashLoop,
    Level,
    LogLine,
    LogProfile,
    LogRecord,
    Namespace,
    Node,
    PodState,
    Probe,
    Revision,
    RunningState,
    SecretKeyRef,
    SlowQuery,
    TerminatedState,
    Timeline,
    Trace,
    TraceStep,
    WaitingState,
    Workload,
)

DATA_FILE = "incident.yaml"

_UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds", "ms": "milliseconds"}
_OFFSET = re.compile(r"(\d+)(ms|d|h|m|s)")
_EXPRESSION = re.compile(
    r"^(?P<base>[A-Za-z0-9_.\-]+?(?:\[-\d+\])?)(?:(?P<sign>[+-])(?P<offset>(?:\d+(?:ms|d|h|m|s))+))?$"
)
_POD_START = re.compile(r"^(?P<pod>[a-z0-9-]+)\.start\[(?P<index>-\d+)\]$")
_DATE = re.compile(r"\{date:([^}]+)\}")


class ScenarioDataError(ValueError):
    """The incident data is inconsistent (an unknown moment, pod or workload; a bad time expression)."""


@functools.cache
def incident_data() -> dict[str, Any]:
    """The parsed data file (read once per process)."""
    text = (resources.files("sre_lab.scenario") / DATA_FILE).read_text(encoding="utf-8")
    return cast(dict[str, Any], yaml.safe_load(text))


def parse_duration(text: str) -> timedelta:
    """`3d`, `21m30s`, `9176ms` → a timedelta."""
    parts = _OFFSET.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ScenarioDataError(f"not a duration: {text!r} (e.g. 3d, 21m30s, 9176ms)")
    return sum((timedelta(**{_UNITS[unit]: int(number)}) for number, unit in parts), timedelta())


class _Clock:
    """Resolves the data's time expressions: `T-45d`, `rollout+20s`, `payment-gw-def34.start[-1]+9176ms`."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.moments: dict[str, datetime] = {}
        self.starts: dict[str, tuple[datetime, ...]] = {}

    def at(self, expression: str) -> datetime:
        found = _EXPRESSION.match(str(expression))
        if found is None:
            raise ScenarioDataError(f"not a time expression: {expression!r}")
        base = self._base(found["base"])
        if found["offset"] is None:
            return base
        offset = parse_duration(found["offset"])
        return base + offset if found["sign"] == "+" else base - offset

    def _base(self, name: str) -> datetime:
        if name == "T":
            return self.now
        if name in self.moments:
            return self.moments[name]
        start = _POD_START.match(name)
        if start and start["pod"] in self.starts:
            return self.starts[start["pod"]][int(start["index"])]
        raise ScenarioDataError(f"unknown moment {name!r} (moments: T, {', '.join(self.moments)}, <pod>.start[-n])")

    def text(self, template: str) -> str:
        """A string with `{date:<time>}` placeholders filled in (YYYY-MM-DD)."""
        return _DATE.sub(lambda m: self.at(m.group(1)).strftime("%Y-%m-%d"), template)


def build_scenario(now: datetime | None = None, seed: int = 7) -> Scenario:
    """The incident as of ``now`` (default: the current UTC time), truncated to the second."""
    if now is None:
        now = datetime.now(UTC)
    elif now.tzinfo is None:
        raise ValueError("now must be timezone-aware (UTC)")
    data = incident_data()
    clock = _Clock(now.astimezone(UTC).replace(microsecond=0))
    rng = random.Random(seed)  # noqa: S311 — start-up jitter of a simulation, not security
    crash = CrashLoop(
        run_time=parse_duration(data["crash_loop"]["run_time"]),
        startup=_lines(data["crash_loop"]["startup"]),
        oom=_lines(data["crash_loop"]["oom"]),
        backoff_cap=parse_duration(data["cluster"]["backoff_cap"]),
    )

    moments = data["moments"]
    for name, moment in moments.items():
        if "at" in moment:
            at = clock.at(moment["at"])
            clock.moments[name] = at.replace(second=0) if moment.get("round") == "minute" else at
    # crash schedules next (in the data's order: they share one random stream); derived moments come from them
    kills: dict[str, tuple[datetime, ...]] = {}
    for pod in data["pods"]:
        if "crash_loop" in pod:
            loop = pod["crash_loop"]
            starts, pod_kills = crash_schedule(clock.at(loop["last_oom_kill"]), loop["restarts"], crash, rng)
            clock.starts[pod["name"]], kills[pod["name"]] = starts, pod_kills
    for name, moment in moments.items():
        if "first_oom_kill" in moment:
            clock.moments[name] = kills[moment["first_oom_kill"]][0]
    expected = {f.name for f in fields(Timeline)} - {"notes"}
    if set(clock.moments) != expected:
        raise ScenarioDataError(f"moments must be exactly {sorted(expected)}; got {sorted(clock.moments)}")
    timeline = Timeline(
        **{name: clock.moments[name] for name in expected}, notes={name: m["what"] for name, m in moments.items()}
    )

    nodes_created = clock.at(data["nodes"]["created"])
    nodes = tuple(
        Node(
            n["name"], n["ip"], n["pod_cidr"], n.get("role", "worker"), nodes_created, uid(seed, "Node", "", n["name"])
        )
        for n in data["nodes"]["items"]
    )
    namespaces = tuple(
        Namespace(name, clock.at(ns["created"]), uid(seed, "Namespace", "", name), bool(ns["allowed"]))
        for name, ns in data["namespaces"].items()
    )
    workloads = tuple(_workload(w, clock) for w in data["workloads"])
    by_workload = {w.name: w for w in workloads}
    pods = tuple(_pod(p, by_workload[p["workload"]], clock, seed, kills, crash) for p in data["pods"])
    batch = [_batch(b, clock, seed) for b in (*data.get("cronjobs", ()), *data.get("jobs", ()))]
    workloads += tuple(w for made in batch for w in made.workloads)
    pods += tuple(p for made in batch for p in made.pods)
    by_workload = {w.name: w for w in workloads}
    service_of = {pod.name: by_workload[pod.workload].service for pod in pods}
    profiles = {
        service: LogProfile(
            _lines(profile["startup"]),
            cast(tuple[Level, str, str], tuple(profile["heartbeat"])) if "heartbeat" in profile else None,
            parse_duration(profile.get("every", data["cluster"]["heartbeat_every"])),
        )
        for service, profile in data["log_profiles"].items()
    } | {made.service: LogProfile(made.logs, None, timedelta(hours=1)) for made in batch}
    return Scenario(
        now=clock.now,
        seed=seed,
        timeline=timeline,
        nodes=nodes,
        namespaces=namespaces,
        workloads=workloads,
        pods=pods,
        events=derive_events(clock.now, timeline, workloads, pods),
        traces=tuple(_trace(trace_id, t, clock, service_of) for trace_id, t in data["traces"].items()),
        slow_queries=tuple(_slow_query(q, clock) for q in data["slow_queries"]),
        notable_logs=tuple(
            LogRecord(clock.at(at), service_of[host], host, level, logger, message, "", duration, status)
            for at, host, level, logger, duration, status, message in data["notable_logs"]
        ),
        crash_loop=crash,
        log_profiles=profiles,
        kubelet_version=data["cluster"]["kubelet_version"],
    )


def _lines(items: list[Any]) -> tuple[LogLine, ...]:
    """Log lines; an item that is itself a list of lines (a YAML alias of a shared block) is spliced in."""
    lines: list[LogLine] = []
    for item in items:
        if item and isinstance(item[0], list):
            lines.extend(_lines(item))
        else:
            ms, level, logger, message = item
            lines.append((int(ms), level, logger, message))
    return tuple(lines)


def _probe(data: Mapping[str, Any] | None) -> Probe | None:
    if data is None:
        return None
    return Probe(
        data.get("path"),
        data["port"],
        initial_delay=data["initial_delay"],
        timeout=data["timeout"],
        period=data["period"],
        failure_threshold=data.get("failure_threshold", 3),
    )


def _container(data: Mapping[str, Any]) -> ContainerSpec:
    env = tuple(
        (name, SecretKeyRef(value["secret"], value["key"]) if isinstance(value, dict) else str(value))
        for name, value in (data.get("env") or {}).items()
    )
    simple = {key: data[key] for key in ("cpu_request", "mem_request", "cpu_limit", "mem_limit") if key in data}
    simple |= {key: data[key] for key in ("port_name", "protocol", "image_pull_policy") if key in data}
    return ContainerSpec(
        name=data["name"],
        image=data["image"],
        port=data.get("port"),
        env=env,
        liveness=_probe(data.get("liveness")),
        readiness=_probe(data.get("readiness")),
        command=tuple(data.get("command", ())),
        args=tuple(data.get("args", ())),
        **simple,
    )


def _workload(data: Mapping[str, Any], clock: _Clock) -> Workload:
    previous = data.get("previous")
    return Workload(
        namespace=data["namespace"],
        name=data["name"],
        kind=data["kind"],
        service=data["service"],
        replicas=data["replicas"],
        created=clock.at(data["created"]),
        containers=tuple(_container(c) for c in data["containers"]),
        labels=tuple(data["labels"].items()),
        replicaset_hash=data.get("replicaset_hash", ""),
        rolled_out=clock.at(data["rolled_out"]) if "rolled_out" in data else None,
        revision=data.get("revision", 1),
        previous=Revision(previous["replicaset_hash"], previous["image"], clock.at(previous["created"]),
                          previous["number"]) if previous else None,
        service_account=data.get("service_account", "default"),
    )  # fmt: skip


def _pod(
    data: Mapping[str, Any],
    workload: Workload,
    clock: _Clock,
    seed: int,
    kills: Mapping[str, tuple[datetime, ...]],
    crash: CrashLoop,
) -> PodState:
    name, spec = data["name"], workload.containers[0]
    created = clock.at(data["created"])
    common = {
        "name": name,
        "namespace": workload.namespace,
        "workload": workload.name,
        "node": data["node"],
        "ip": data["ip"],
        "created": created,
        "uid": uid(seed, "Pod", workload.namespace, name),
        "container": spec.name,
        "phase": "Running",
        "cpu_usage": data["cpu"],
        "memory_usage": data["memory"],
    }
    if "crash_loop" not in data:
        started = created + timedelta(seconds=4)
        ready_delay = timedelta(seconds=spec.readiness.initial_delay) if spec.readiness else timedelta()
        return PodState(
            **common,
            status="Running",
            ready=True,
            restarts=0,
            state=RunningState(started),
            last_state=None,
            container_id=container_id(seed, name, spec.name, started),
            ready_since=started + ready_delay,
        )
    starts, pod_kills = clock.starts[name], kills[name]
    last_id = container_id(seed, name, spec.name, starts[-1])
    backoff = int(backoff_before_restart(len(starts) + 1, crash.backoff_cap).total_seconds())
    return PodState(
        **common,
        status="CrashLoopBackOff",
        ready=False,
        restarts=len(starts),
        state=WaitingState(
            "CrashLoopBackOff",
            f"back-off {backoff // 60}m{backoff % 60}s restarting failed container={spec.name} "
            f"pod={name}_{workload.namespace}({common['uid']})",
        ),
        last_state=TerminatedState("OOMKilled", 137, starts[-1], pod_kills[-1], last_id),
        container_id=last_id,
        ready_since=pod_kills[-1],
        container_starts=starts,
        oom_kills=pod_kills,
    )


def _trace(trace_id: str, data: Mapping[str, Any], clock: _Clock, service_of: Mapping[str, str]) -> Trace:
    steps = tuple(
        TraceStep(timedelta(milliseconds=ms), service_of[host], host, level, message, duration, status, logger)
        for ms, host, level, logger, duration, status, message in data["steps"]
    )
    return Trace(trace_id, clock.at(data["base"]), steps)


def _slow_query(data: Mapping[str, Any], clock: _Clock) -> SlowQuery:
    at, query = clock.at(data["at"]), clock.text(data["query"])
    return SlowQuery(at, data["service"], data["pod"], query, data["duration_ms"], data["rows_examined"])


@dataclass(frozen=True)
class _BatchMade:
    service: str
    workloads: tuple[Workload, ...]
    pods: tuple[PodState, ...]
    logs: tuple[LogLine, ...]


def _batch(data: Mapping[str, Any], clock: _Clock, seed: int) -> _BatchMade:
    """A CronJob with its last Job, or a Job of its own; each attempt of the Job is a pod that ran and exited."""
    namespace, name, spec = data["namespace"], data["name"], _container(data["container"])
    common = {"namespace": namespace, "service": name, "containers": (spec,),
              "service_account": data.get("service_account", "default")}  # fmt: skip
    made: list[Workload] = []
    if "every" in data:  # a CronJob: its last run is a Job named after the scheduled minute
        scheduled = clock.at(data["last_run"]).replace(second=0, microsecond=0)
        every = parse_duration(data["every"])
        schedule = {timedelta(days=1): f"{scheduled.minute} {scheduled.hour} * * *",
                    timedelta(hours=1): f"{scheduled.minute} * * * *"}[every]  # fmt: skip
        job_name, created, owner = f"{name}-{int(scheduled.timestamp()) // 60}", scheduled, name
    else:
        job_name, created, owner, scheduled, schedule = name, clock.at(data["created"]), "", None, ""
    started, pods = created, []
    for index, attempt in enumerate(data["attempts"]):
        pod_name = f"{job_name}-{attempt['pod']}"
        run_start = started + timedelta(seconds=3)  # scheduled, pulled, started
        finished = run_start + parse_duration(attempt["run"])
        ok = attempt["exit_code"] == 0
        container = container_id(seed, pod_name, spec.name, run_start)
        pods.append(
            PodState(
                name=pod_name, namespace=namespace, workload=job_name, node=attempt["node"], ip=attempt["ip"],
                created=started, uid=uid(seed, "Pod", namespace, pod_name), container=spec.name,
                phase="Succeeded" if ok else "Failed", status="Completed" if ok else "Error", ready=False,
                restarts=0,
                state=TerminatedState("Completed" if ok else "Error", attempt["exit_code"], run_start, finished,
                                      container),
                last_state=None, container_id=container, ready_since=finished, cpu_usage="0m", memory_usage="0Mi",
            )
        )  # fmt: skip
        started = finished + timedelta(seconds=10 * 2**index)  # the Job controller's back-off before a retry
    last = pods[-1].state
    assert isinstance(last, TerminatedState)
    outcome: Literal["Complete", "Failed"] = "Complete" if last.exit_code == 0 else "Failed"
    done = last.finished_at + timedelta(seconds=1)
    job = Workload(
        **common, name=job_name, kind="Job", replicas=1, created=created,
        labels=(("batch.kubernetes.io/job-name", job_name), ("job-name", job_name)),
        batch=Batch(owner=owner, scheduled_at=scheduled, backoff_limit=data.get("backoff_limit", 6), started=created,
                    finished=done, outcome=outcome, attempts=len(pods)),
    )  # fmt: skip
    made.append(job)
    if owner:
        success = done if outcome == "Complete" else None
        history = tuple(data.get("history", (3, 1)))
        made.insert(0, Workload(
            **common, name=name, kind="CronJob", replicas=0, created=clock.at(data["created"]), labels=(),
            batch=Batch(schedule=schedule, last_schedule=scheduled, last_success=success,
                        concurrency_policy=data.get("concurrency_policy", "Allow"), history=(history[0], history[1])),
        ))  # fmt: skip
    return _BatchMade(name, tuple(made), tuple(pods), _lines(data["logs"]))
