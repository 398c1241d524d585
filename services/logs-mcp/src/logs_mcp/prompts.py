"""The `investigate_incident` prompt: guides a model through logs-mcp's tools in a good order."""

from __future__ import annotations


def investigate_incident(service: str, symptom: str) -> str:
    return f"""You are the on-call SRE. Symptom reported: "{symptom}" (service: {service}).
Investigate the application logs with the clickhouse-logs tools, in this order, citing what each call showed:

1. list_services: the exact service names, their volumes and error rates against the hour before.
2. error_timeline(service="{service}", time_range="6h"): when the error rate first rose above its baseline
   (first_rise) and when it peaked; that is when the incident started.
3. count_errors(group_by="message", time_range="1h"): the error signatures, most frequent first; then
   count_errors(group_by="host") to see which pods produce them.
4. search_logs(service="{service}", level="ERROR", keyword=<the top signature's distinctive word>): the actual
   lines, newest first, with trace ids and hosts (hosts are Kubernetes pod names).
5. trace_transaction(trace_id) for one or two failing trace ids: which services a failing request crossed.
6. log_patterns(service="{service}", level="ERROR"): templates that are new compared with the window before.
7. get_slow_queries(service="{service}"): queries that load millions of rows can explain memory or latency.

Then report: when it started, the first error, the signatures and hosts, the failing traces, and which pod
names and error signatures to look up in Kubernetes and in the runbooks. Read-only: nothing is changed.
"""
