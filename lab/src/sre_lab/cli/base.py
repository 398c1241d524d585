"""What every command shares: the app, the one error handler, the consoles, the options used by several."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.text import Text

from sre_lab.errors import UsageError, handled

F = TypeVar("F", bound=Callable[..., Any])


class LabTyper(typer.Typer):
    """A Typer whose every command runs through `sre_lab.errors.handled`: one handler for the whole CLI."""

    def command(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        register = super().command(*args, **kwargs)

        def decorate(function: F) -> F:
            register(handled(function))
            return function

        return decorate


def new_app(help_text: str) -> LabTyper:
    return LabTyper(help=help_text, no_args_is_help=True, rich_markup_mode=None, pretty_exceptions_show_locals=False)


app = new_app("The SRE MCP lab: an incident, three MCP servers, and the wiring for Claude.")
console = Console(soft_wrap=False)
err = Console(stderr=True, soft_wrap=False)


def note(text: str) -> None:
    """One line on stderr the user should read; `text` is data (no markup), kept on one line."""
    err.print(Text.assemble(("note: ", "yellow"), text), soft_wrap=True)


def echo_json(data: Any) -> None:
    """Machine-readable output: plain JSON on stdout, never coloured (whatever FORCE_COLOR says)."""
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def parse_now(value: str | None) -> datetime | None:
    """`--now` as an ISO timestamp (UTC if no zone given)."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"--now: not an ISO timestamp: {value!r}", "e.g. --now 2026-11-26T14:23:00Z") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


NowOption = Annotated[
    str | None,
    typer.Option(
        "--now",
        help="The scenario clock: the incident's 'now' as ISO time, e.g. 2026-11-26T14:23:30Z "
        "[default: the current time when seeding everything, else the lab's recorded clock]",
        show_default=False,
    ),
]


def ago(delta: timedelta, units: int = 2) -> str:
    """`1d2h`, `23m`, `18s`: a duration in its `units` largest units."""
    seconds = max(0, int(delta.total_seconds()))
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [f"{n}{unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "m"), (seconds, "s")) if n]
    return "".join(parts[:units]) or "0s"
