"""The SQL of logs-mcp, one file per query (package data), read by `load_sql`."""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def load_sql(name: str) -> str:
    """The text of `sql/<name>.sql`."""
    return (resources.files("logs_mcp") / "sql" / f"{name}.sql").read_text(encoding="utf-8")
