"""`sre-lab investigate`: one incident investigation across the three servers, as a real MCP client.

Two drivers share one session and one report:
- the playbook (default): a fixed, model-free walk — Kubernetes diagnosis → the crashed pod's log → the
  log store's timeline, error signatures, matching lines and traces → the runbook sections for the error
  signatures — followed by a synthesis built only from what the tools returned;
- the agent: a model (Claude when ANTHROPIC_API_KEY is set) gets the three servers' tools and decides
  itself; every tool call it makes is recorded the same way.
Both are bounded by a step limit and a time limit, and say so when they hit one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from typing import Literal

from sre_lab.investigate.agent import AnthropicModel, Model, ModelTurn, ModelUnavailable, ToolUse, run_agent
from sre_lab.investigate.playbook import run_playbook, synthesize
from sre_lab.investigate.render import render_markdown, render_text
from sre_lab.investigate.report import CallRecord, Limits, Report, report_schema
from sre_lab.investigate.session import LimitReached, Progress, ServerDidNotStart, StackLike, open_session

__all__ = [
    "AnthropicModel",
    "CallRecord",
    "Model",
    "ModelTurn",
    "ModelUnavailable",
    "Progress",
    "Report",
    "ServerDidNotStart",
    "ToolUse",
    "investigate",
    "render_markdown",
    "render_text",
    "report_schema",
]


async def investigate(
    stack: StackLike,
    symptom: str,
    *,
    model: Model | None = None,
    max_steps: int = 40,
    max_seconds: float = 120.0,
    progress: Progress | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Report:
    """Connect to the three servers of `stack`, investigate `symptom`, and return the report.

    With a `model`, the agent drives; when the model cannot answer (unreachable, bad key), the playbook
    finishes the investigation on the same session and the report says so in `notes`.
    """
    started_at = now()
    began = time.monotonic()
    limits = Limits(max_steps=max_steps, max_seconds=max_seconds)
    model_summary = None
    notes: list[str] = []
    driver: Literal["playbook", "agent"] = "playbook" if model is None else "agent"
    async with AsyncExitStack() as exits:
        session = await open_session(stack, exits, max_steps, max_seconds, progress)
        try:
            if model is not None:
                try:
                    model_summary = await run_agent(session, symptom, model)
                except ModelUnavailable as exc:
                    driver = "playbook"
                    done = f" after {len(session.calls)} of its tool calls" if session.calls else ""
                    notes.append(f"the agent driver stopped{done}: {exc}; the playbook finished the investigation")
            if model is None or driver == "playbook":
                await run_playbook(session, symptom, session.findings)
        except LimitReached as limit:
            limits.reached, limits.message = limit.which, str(limit)
    findings = session.findings
    synthesis = synthesize(findings.k8s, findings.logs, findings.kb)
    synthesis.model_summary = model_summary
    return Report(
        symptom=symptom,
        stack=stack.kind,
        driver=driver,
        scenario_now=stack.scenario_now,
        started_at=started_at.isoformat(timespec="seconds").replace("+00:00", "Z"),
        duration_s=round(time.monotonic() - began, 2),
        calls=session.calls,
        focus=findings.focus,
        kubernetes=findings.k8s,
        logs=findings.logs,
        runbooks=findings.kb,
        synthesis=synthesis,
        limits=limits,
        notes=notes,
    )
