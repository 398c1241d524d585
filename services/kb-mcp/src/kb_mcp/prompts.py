"""The `investigate_incident` prompt: guides a model through kb-mcp's tools in a good order."""

from __future__ import annotations


def investigate_incident(service: str, symptom: str) -> str:
    return f"""You are the on-call SRE. Symptom reported: "{symptom}" (service: {service}).
Find what the team's runbooks say, with the sre-knowledge-base tools, in this order:

1. For every concrete error you already have (a log line, an exception, a Kubernetes reason such as
   OOMKilled or CrashLoopBackOff, an exit code), call find_runbooks_for_error(error_text=...): it returns the
   runbook sections that address it, with their Mitigation section.
2. search_runbooks(query="{symptom}", service="{service}") for the symptom in your own words; add
   team_filter when you know the owning team.
3. Read the whole runbook (resource runbook://<id>) for the one or two that fit best, or
   ask_knowledge_base(question=...) for a grounded answer with citations.

Then answer with the runbook steps that apply, each with its runbook:// citation, in the order to do them,
and say plainly when the runbooks do not cover something. Quote only what the runbooks say.
"""
