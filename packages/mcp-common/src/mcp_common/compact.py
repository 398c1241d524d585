"""Compact text for tool results: what the model reads, cheaply.

A tool returns a pydantic model; the client gets it twice: `structuredContent` (the full model, unchanged,
validated against the tool's output schema) and a text block for the model to read. The SDK's text is the
model as indented JSON; here it is compact instead:

- a result model that defines `compact_text(self) -> str` renders itself (a kubectl-style table, one log
  line per record, a runbook section as Markdown): the service that owns the model knows what matters;
- any other model gets `render(data)`: scalar fields on one line (`count: 20 · truncated: true`), lists of
  records as a table (a header, then one line per record, cells separated by ` | `), nested values as
  compact JSON, no indentation and no nulls.

`table()` and `fields()` are the building blocks for a model's own `compact_text`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

SEPARATOR = " | "
"""Between the cells of a table row."""

FIELD_SEPARATOR = " · "
"""Between the `name: value` pairs of a line of fields."""


@runtime_checkable
class RendersCompactText(Protocol):
    """A result model that renders its own text (the structured content is still the whole model)."""

    def compact_text(self) -> str: ...


def cell(value: Any) -> str:
    """One value on one line: strings as they are (newlines and the separator escaped), the rest compact JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, int | float):
        text = str(value)
    else:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
    # One record per line, whatever the data holds: a log message with a stack trace stays on its row.
    return text.replace("\r", "\\r").replace("\n", "\\n").replace("|", "\\|")


def table(rows: Iterable[Mapping[str, Any]], columns: Sequence[str] | None = None) -> str:
    """A header line and one line per row, cells separated by ` | `; columns default to every key, in the
    order first seen. Missing and null cells are empty."""
    records = list(rows)
    if columns is None:
        seen: dict[str, None] = {}
        for record in records:
            seen.update(dict.fromkeys(record))
        columns = list(seen)
    lines = [SEPARATOR.join(columns)]
    lines.extend(SEPARATOR.join(cell(record.get(column)) for column in columns) for record in records)
    return "\n".join(lines)


def fields(data: Mapping[str, Any], names: Sequence[str] | None = None) -> str:
    """`name: value` pairs on one line, skipping nulls and empty lists (`count: 20 · truncated: true`)."""
    keys = names if names is not None else list(data)
    return FIELD_SEPARATOR.join(
        f"{key}: {cell(data[key])}" for key in keys if key in data and data[key] is not None and data[key] != []
    )


def render(data: Any) -> str:
    """The default compact text of a result (its JSON form): see the module docstring."""
    if not isinstance(data, Mapping):
        return _render_list(data) if isinstance(data, list) else cell(data)
    scalars: dict[str, Any] = {}
    blocks: list[str] = []
    for key, value in data.items():
        if value is None or value in ([], {}):
            continue
        if isinstance(value, list) and any(isinstance(item, Mapping) for item in value):
            blocks.append(f"{key} ({len(value)}):\n{_render_list(value)}")
        elif isinstance(value, Mapping) and any(isinstance(v, list | Mapping) for v in value.values()):
            blocks.append(f"{key}:\n{render(value)}")
        elif isinstance(value, list):
            scalars[key] = ", ".join(cell(item) for item in value)
        else:
            scalars[key] = value
    head = fields(scalars)
    return "\n".join([head, *blocks] if head else blocks)


def _render_list(items: list[Any]) -> str:
    if all(isinstance(item, Mapping) for item in items):
        return table(items)
    return "\n".join(cell(item) for item in items)


def compact_text(model: Any, data: Any) -> str:
    """The text block for a tool result: the model's own `compact_text()`, else `render(data)`."""
    if isinstance(model, RendersCompactText):
        return model.compact_text()
    return render(data)
