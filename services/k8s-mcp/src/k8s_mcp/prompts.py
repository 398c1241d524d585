"""The `investigate_incident` prompt: guides a model through k8s-mcp's tools in a good order."""

from __future__ import annotations


def investigate_incident(service: str, symptom: str, namespaces: tuple[str, ...]) -> str:
    return f"""You are the on-call SRE. Symptom reported: "{symptom}" (service: {service}).
Investigate the Kubernetes side with the kubernetes tools, in this order, and cite what each call showed:

1. list_deployments in each namespace that could hold {service} (allowed: {", ".join(namespaces)}), then
   diagnose_deployment for {service}: it walks the deployment's pods, their last container states, warning
   events and the crash log of the worst pod, and returns a verdict.
2. list_pods in that namespace: which pods are not ready, their status (CrashLoopBackOff, OOMKilled,
   ImagePullBackOff), restarts and memory limits.
3. For the worst pod: describe_pod (last state reason and exit code — 137 is OOMKilled — limits, probes,
   events), then get_pod_logs with previous=true for the crashed container's last lines.
4. get_events with event_type=Warning for what the cluster did and when (scaling, back-offs, kills).

Then report: what is failing, since when, the evidence (pod names, exit codes, limits, log lines), and
which pod names to look up in the logs server. Do not scale or change anything; this is read-only triage.
"""
