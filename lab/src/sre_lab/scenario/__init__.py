"""The payment incident, defined once: `incident.yaml` holds it as data, `build_scenario` builds it.

Every part of the lab reads names and times from here: the Kubernetes cluster snapshot
(`sre_lab.cluster_snapshot`), the ClickHouse log generator and the investigation. A pod that crashes in the
snapshot crashes at the same second in the logs, and every log ``host`` is a pod of the cluster.

The story
---------
Release v2.3.1 of ``payment-gateway`` (rolled out three days ago) changed ``BatchReconciliation`` to load the
whole day's transactions into an ``ArrayList`` instead of streaming them. The job is sharded across replicas
and a replica re-claims its unfinished shard on every start. Today's volume (2.1M rows) is the first to
exceed the heap (``-Xmx384m``) and the container's 512Mi limit, so the replica holding the largest shard,
``payment-gw-def34``, is OOM-killed about 11 s after each start and has been crash-looping at the 5-minute
back-off cap for hours; ``payment-gw-ghi56`` followed with the next shard. With only one of three replicas
ready, on-call scaled the deployment to 5 at T−23 min (``payment-gw-jkl78`` and ``payment-gw-mno90`` are
that young). Meanwhile Redis is evicting keys under memory pressure, so fraud-detection misses its velocity
cache and inference exceeds 500 ms on misses, and the card network's authorization API slows down: calls
from ``payment-gw-abc12`` time out after 30 s and its circuit breaker opens. Grafana's roll-out 40 minutes
ago, the ``batch-sa`` token warning and the batch workloads (the nightly ``settlement-export`` CronJob, the
hourly ``session-cleanup`` and the ``ledger-backfill`` Job someone started by hand, which failed on a missing
table privilege) are red herrings.

Timeline
--------
T is ``Scenario.now``, the scenario clock: seeding records it and every server of the lab answers relative to
it (see ``sre_lab.labstate``). The named moments are ``moments:`` in the data (``Scenario.timeline``;
``Scenario.timeline.rows()`` lists them oldest first, with what happens, and ``sre-lab timeline`` prints
them). The first OOM kills of the crash-looping pods are derived from the crash schedule (restart counts,
the kubelet's back-off 10 s → 20 s → … → 5 min cap, 12 s per run, 1–3 s to pull and start) and move by a few
seconds with ``seed``; the others are exact offsets from T.

Conventions
-----------
* Times are tz-aware UTC; ``build_scenario`` truncates ``now`` to the second.
* A crash-looping pod's restart count is one less than its OOM kills: the container that ran since the
  roll-out was killed first, then each of ``restarts`` restarted containers; the next restart is pending.
  ``PodState.oom_kills`` lists every kill, ``PodState.container_starts`` every restarted container's start.
* Every pod runs one container. Container logs are what ``kubectl logs --timestamps`` prints:
  ``2026-11-26T14:23:01.000Z INFO  [Main] Starting payment-gateway v2.3.1``. A pod waiting in
  CrashLoopBackOff keeps only the first start-up lines in its current log; the evidence is in
  ``--previous`` (the habit the course teaches).
* Deterministic: the same ``now`` and ``seed`` give an equal ``Scenario``. ``seed`` only moves the
  start-up jitter of the crash loops and the generated ids (uids, container ids).
* No I/O here but reading the bundled data file; writers live in other modules.
"""

from sre_lab.scenario.incident import Scenario, backoff_before_restart
from sre_lab.scenario.loader import ScenarioDataError, build_scenario, incident_data, parse_duration
from sre_lab.scenario.model import (
    INVOLVED_KINDS,
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
    TimelineEvent,
    Trace,
    TraceStep,
    WaitingState,
    Workload,
    WorkloadKind,
    format_log_time,
)

__all__ = [
    "INVOLVED_KINDS",
    "ContainerSpec",
    "CrashLoop",
    "Level",
    "LogLine",
    "LogProfile",
    "LogRecord",
    "Namespace",
    "Node",
    "PodState",
    "Probe",
    "Revision",
    "RunningState",
    "Scenario",
    "ScenarioDataError",
    "SecretKeyRef",
    "SlowQuery",
    "TerminatedState",
    "Timeline",
    "TimelineEvent",
    "Trace",
    "TraceStep",
    "WaitingState",
    "Workload",
    "WorkloadKind",
    "backoff_before_restart",
    "build_scenario",
    "format_log_time",
    "incident_data",
    "parse_duration",
]
