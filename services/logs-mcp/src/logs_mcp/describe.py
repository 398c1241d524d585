"""The logs://schema resource: the source's tables or mapping, their size and the notes behind the tools."""

from __future__ import annotations

from logs_mcp.store import LogStore
from logs_mcp.windows import iso_ms

# -- logs://schema ----------------------------------------------------------------------------------------

SCHEMA_NOTE = """\
- `application_logs` is sorted by `timestamp` (newest-first reads stop early), partitioned by day, kept 30 days.
- A bloom filter on `trace_id` finds a trace's few granules; a text (inverted) index on the words of
  `lowerUTF8(message)` finds the lines holding a word without reading the others: search_logs' default
  match=word uses it on any window; match=substring (inside longer words too) reads the window's lines.
- `signature` is the message with ids, numbers, hex and durations replaced (`log_signature()`): what
  count_errors(group_by=message) and log_patterns group by.
- The projection `minute_counts` keeps lines per minute, service, level, host and signature, so counts,
  timelines and patterns read thousands of rows instead of millions. Tool windows start on a whole minute.
- Every tool query is read-only with a time limit, result limits and a memory limit; values are bound
  parameters, never SQL text.
"""


def describe_schema(store: LogStore) -> str:
    """The tables, their columns and their current size, as Markdown."""
    if store.source.kind != "lab":
        return _describe_source(store)
    columns = store.rows("describe_tables", {})
    stats = {row["table"]: row for row in store.rows("table_stats", {})}
    out = ["# logs-mcp tables", ""]
    for table in ("application_logs", "slow_queries"):
        stat = stats.get(table)
        size = ""
        if stat and stat["rows"]:
            size = f" — {stat['rows']:,} rows, {iso_ms(stat['first_ms'])} to {iso_ms(stat['last_ms'])}"
        out += [f"## {table}{size}", "", "| column | type | meaning |", "|---|---|---|"]
        out += [f"| {c['name']} | {c['type']} | {c['comment']} |" for c in columns if c["table"] == table]
        out.append("")
    out += ["## Notes", "", SCHEMA_NOTE]
    return "\n".join(out)


def _describe_source(store: LogStore) -> str:
    source = store.source
    stat = store.rows("source_stats", {})[0]
    size = (
        f"{stat['rows']:,} rows, {iso_ms(stat['first_ms'])} to {iso_ms(stat['last_ms'])}" if stat["rows"] else "empty"
    )
    kind = "OpenTelemetry otel_logs" if source.kind == "otel" else "a mapped table"
    return "\n".join(
        [
            f"# logs-mcp source: {source.table} ({kind}) — {size}",
            "",
            "Every tool reads these logical columns; each is this expression over the table:",
            "",
            "| column | reads |",
            "|---|---|",
            source.describe().replace("\n| signature |", "\n| signature (computed per line) |", 1)
            if "replaceRegexpAll" in source.columns.get("signature", "")
            else source.describe(),
            "",
            "Levels are normalized to ERROR, WARN, INFO, DEBUG. get_slow_queries needs the lab's slow_queries table "
            "and says so here. Queries are read-only with the same limits as for the lab's schema.",
        ]
    )
