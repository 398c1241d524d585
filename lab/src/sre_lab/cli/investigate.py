"""`sre-lab investigate`: the incident investigated across the three servers as a real MCP client."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated, Literal

import anyio
import typer
from rich.text import Text

from sre_lab import labstate
from sre_lab.cli.base import app, echo_json, err, note
from sre_lab.cli.lab import DRILL4
from sre_lab.docker import CLOCK_KEY, preflight, read_env_file, running_servers
from sre_lab.errors import LabError, UsageError
from sre_lab.paths import EmbeddedStores, data_dir, env_file
from sre_lab.servers import SERVERS

if TYPE_CHECKING:
    from sre_lab.investigate import CallRecord
    from sre_lab.stack import ComposeStack, EmbeddedStack, Stack


class _Progress:
    """Each tool call on stderr as it runs: what is being called, then its one-line result."""

    def __init__(self) -> None:
        self.status = err.status("connecting to k8s-mcp, logs-mcp and kb-mcp…")

    def start(self, server: str, tool: str, arguments: dict[str, object]) -> None:
        self.status.update(f"{server} {tool}…")

    def done(self, call: CallRecord) -> None:
        # Text, not markup: results carry brackets and placeholders ("[Main]", "<id>") that must print as they are
        line = Text.assemble(
            (f"{call.step:>2} ", "dim"),
            f"{call.server} ",
            (call.tool, "bold"),
            " ",
            ("✗ " if not call.ok else "", "red"),
            call.summary,
            (f" ({call.duration_ms:.0f} ms)", "dim"),
        )
        err.print(line, overflow="fold")


def _embedded_stack() -> EmbeddedStack:
    from logs_mcp.store import check_embedded  # noqa: PLC0415 - names the process holding the store (Claude Desktop?)
    from sre_lab.stack import EmbeddedStack  # noqa: PLC0415 - the MCP SDK: a second to import, only for commands that talk MCP

    root = data_dir()
    state = labstate.read_state(root)
    if state is None or state.scenario_now is None:
        raise LabError(f"no seeded embedded lab in {root}", "run `sre-lab up --embedded` (or `make lab`) first")
    check_embedded(EmbeddedStores(root).clickhouse)
    return EmbeddedStack(root)


def _compose_stack() -> ComposeStack:
    from sre_lab.stack import ComposeStack  # noqa: PLC0415 - the MCP SDK: a second to import, only for commands that talk MCP

    checks = preflight(ports=())
    running = running_servers(checks.docker)
    if len(running) < len(SERVERS):
        missing = sorted({s.container for s in SERVERS} - set(running))
        raise LabError(f"the compose lab is not running ({', '.join(missing)} down)", "start it: `sre-lab up --docker`")
    environment = env_file()
    clock = read_env_file(environment).get(CLOCK_KEY) if environment.exists() else None
    return ComposeStack(environment.parent / "logs", clock, checks.docker)


@app.command("investigate", short_help="Investigate across the three servers; a report.")
def investigate_command(
    symptom: Annotated[str, typer.Argument(help="What users or alerts report")] = DRILL4,
    stack: Annotated[
        Literal["embedded", "docker"], typer.Option(help="The embedded lab (local processes) or the compose lab")
    ] = "embedded",
    output: Annotated[Literal["text", "markdown", "json"], typer.Option("--format", help="Report format")] = "text",
    driver: Annotated[
        Literal["auto", "playbook", "agent"],
        typer.Option(help="auto: the agent when ANTHROPIC_API_KEY is set, else the playbook (no model needed)"),
    ] = "auto",
    model: Annotated[str, typer.Option(help="Claude model for the agent driver")] = "claude-sonnet-5-5",
    max_steps: Annotated[int, typer.Option(min=1, max=200, help="Tool-call limit")] = 40,
    max_seconds: Annotated[float, typer.Option(min=5, max=3600, help="Time limit in seconds")] = 180.0,
) -> None:
    """Investigate an incident across all three servers as a real MCP client; print the report."""
    from sre_lab.investigate import AnthropicModel, investigate  # noqa: PLC0415 - the MCP SDK: a second to import
    from sre_lab.investigate.render import render_markdown, render_text  # noqa: PLC0415 - with the line above

    has_key = bool(os.environ.get("ANTHROPIC_API_KEY"))
    if driver == "agent" and not has_key:
        raise UsageError("--driver agent needs ANTHROPIC_API_KEY", "set it, or use --driver playbook (no model needed)")
    target: Stack = _embedded_stack() if stack == "embedded" else _compose_stack()
    agent = AnthropicModel(model) if driver == "agent" or (driver == "auto" and has_key) else None
    progress = _Progress()
    with progress.status:
        report = anyio.run(
            lambda: investigate(
                target, symptom, model=agent, max_steps=max_steps, max_seconds=max_seconds, progress=progress
            )
        )
    for text in report.notes:
        note(text)
    if output == "json":
        echo_json(report.model_dump(mode="json"))
    elif output == "markdown":
        typer.echo(render_markdown(report), nl=False)
    else:
        render_text(report, typer.get_text_stream("stdout"))
    if report.limits.reached:
        err.print(f"[yellow]limit reached:[/] {report.limits.message}")
