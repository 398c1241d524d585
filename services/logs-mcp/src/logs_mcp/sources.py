"""Where the log lines come from: the lab's schema, OpenTelemetry's `otel_logs`, or any table by a column mapping.

Every query in `sql/` reads the logical columns `timestamp, service, level, host, pod, namespace, logger,
trace_id, message, signature, duration_ms, status_code` `FROM $source`. For the lab's schema `$source` is the
table itself (so its projection and indexes serve the queries unchanged); for any other source it is a
subquery that names the table's own columns as the logical ones, so a read-only account is enough: no view,
no function, no DDL. A table without a signature column gets it computed inline by the same rules
(`patterns.signature_expression`); ClickHouse pushes the time, service and trace filters down to the table's
own columns, so its primary key and skip indexes still apply.

The mapping comes from the operator's configuration, never from a request; still, every name is checked
against a strict grammar (an identifier, optionally `['map key']`), so nothing else can reach the SQL.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from logs_mcp.patterns import signature_expression
from mcp_common.errors import ConfigError

LOGICAL = ("timestamp", "service", "level", "host", "pod", "namespace", "logger", "trace_id", "message")
OPTIONAL_NUMBERS = {"duration_ms": "UInt32", "status_code": "UInt16"}
# What a mapping may name: a column, a column's map key, or alternatives (the first non-empty wins).
REFERENCE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\['[A-Za-z0-9_.:/-]{1,128}'\])?$")
TABLE = re.compile(r"^(?:[A-Za-z_][A-Za-z0-9_]{0,62}\.)?[A-Za-z_][A-Za-z0-9_]{0,190}$")
# An epoch-number time column (SigNoz's logs, many home-grown tables) as ClickHouse reads it, by its declared unit.
EPOCH_UNITS = {
    "s": "toInt64(%s)",
    "ms": "fromUnixTimestamp64Milli(toInt64(%s))",
    "us": "fromUnixTimestamp64Micro(toInt64(%s))",
    "ns": "fromUnixTimestamp64Nano(toInt64(%s))",
}
# Mapping keys accepted from configuration (time is the usual name for the timestamp).
KEYS = {"time": "timestamp", **{name: name for name in (*LOGICAL, "signature", *OPTIONAL_NUMBERS)}}

ERROR_WORDS = "'ERROR', 'ERR', 'FATAL', 'CRITICAL', 'CRIT', 'ALERT', 'EMERG', 'EMERGENCY', 'SEVERE', 'PANIC'"
WARN_WORDS = "'WARN', 'WARNING'"
DEBUG_WORDS = "'DEBUG', 'TRACE', 'FINE', 'FINER', 'FINEST', 'VERBOSE'"


def level_from_text(expression: str) -> str:
    """ERROR, WARN, INFO or DEBUG from a free-text level (error, Warning, crit, fatal, trace …)."""
    upper = f"upperUTF8(trimBoth({expression}))"
    return (
        f"multiIf({upper} IN ({ERROR_WORDS}), 'ERROR', {upper} IN ({WARN_WORDS}), 'WARN', "
        f"{upper} IN ({DEBUG_WORDS}), 'DEBUG', 'INFO')"
    )


def otel_level(number: str, text: str) -> str:
    """OpenTelemetry's SeverityNumber (17-24 error and fatal, 13-16 warn, 9-12 info, 1-8 debug and trace),
    or its SeverityText when the number is unset (0)."""
    return (
        f"multiIf({number} >= 17, 'ERROR', {number} >= 13, 'WARN', {number} >= 9, 'INFO', {number} >= 1, 'DEBUG', "
        f"{level_from_text(text)})"
    )


def first_non_empty(expressions: list[str]) -> str:
    """The first of the string expressions that is not empty (or '')."""
    if len(expressions) == 1:
        return expressions[0]
    return f"multiIf({', '.join(f'{e} != {chr(39)}{chr(39)}, {e}' for e in expressions)}, '')"


@dataclass(frozen=True)
class Source:
    """A log table and how its columns become the logical ones."""

    kind: str  # "lab", "otel" or "mapped"
    table: str
    columns: Mapping[str, str] = field(default_factory=dict)  # logical name -> SQL expression over the table
    slow_queries: bool = False
    time_column: str = ""  # a mapped table's time column and the epoch unit it was declared with (or "")
    time_unit: str = ""

    @property
    def relation(self) -> str:
        """What the queries read `FROM`: the lab's table itself, or a subquery naming the logical columns."""
        if self.kind == "lab":
            return self.table
        select = ",\n        ".join(f"{expression} AS {name}" for name, expression in self.columns.items())
        return f"(\n    SELECT\n        {select}\n    FROM {self.table}\n) AS logs"

    def describe(self) -> str:
        """The mapping as Markdown rows: logical column | what it reads."""
        return "\n".join(f"| {name} | `{expression}` |" for name, expression in self.columns.items())


LAB = Source("lab", "application_logs", slow_queries=True)


def otel(table: str = "otel_logs") -> Source:
    """The layout the OpenTelemetry Collector's ClickHouse exporter creates (and ClickStack/HyperDX read)."""
    resource = "ResourceAttributes"
    columns = {
        "timestamp": "toDateTime64(Timestamp, 3, 'UTC')",  # milliseconds, like every tool's times
        "service": "ServiceName",
        "level": otel_level("SeverityNumber", "SeverityText"),
        "host": first_non_empty(
            [f"{resource}['host.name']", f"{resource}['k8s.pod.name']", f"{resource}['service.instance.id']"]
        ),
        "pod": f"{resource}['k8s.pod.name']",
        "namespace": f"{resource}['k8s.namespace.name']",
        "logger": "ScopeName",
        "trace_id": "TraceId",
        "message": "Body",
        "signature": signature_expression("Body"),
        "duration_ms": "CAST(NULL, 'Nullable(UInt32)')",
        "status_code": "toUInt16OrNull(LogAttributes['http.response.status_code'])",
    }
    return Source("otel", table, columns)


def _reference(value: str, what: str) -> str:
    """A checked column reference, or alternatives `a|b` (the first non-empty)."""
    parts = [part.strip() for part in value.split("|")]
    for part in parts:
        if not REFERENCE.match(part):
            raise ConfigError(
                f"{what}: {part[:80]!r} is not a column reference; use a column name or a map key such as "
                "LogAttributes['k8s.pod.name'], alternatives separated by |"
            )
    return first_non_empty([f"ifNull(toString({part}), '')" for part in parts])


def mapped(table: str, mapping: Mapping[str, str], *, what: str) -> Source:
    """Any table, from a mapping of logical names (time, service, level, …) to its columns."""
    unknown = sorted(set(mapping) - set(KEYS))
    if unknown:
        raise ConfigError(f"{what}: unknown column key(s) {', '.join(unknown)}; known: {', '.join(KEYS)}")
    wanted = {KEYS[key]: value for key, value in mapping.items()}
    for required in ("timestamp", "message"):
        if required not in wanted:
            raise ConfigError(f"{what}: the mapping needs {'time' if required == 'timestamp' else required}")
    time, _, unit = wanted["timestamp"].partition(":")
    if not REFERENCE.match(time) or "[" in time or unit not in ("", *EPOCH_UNITS):
        raise ConfigError(
            f"{what}: time must be a DateTime or DateTime64 column name, or an epoch-number column with its unit "
            f"(time=ts:ns, :us, :ms or :s); got {wanted['timestamp'][:80]!r}"
        )
    columns: dict[str, str] = {"timestamp": f"toDateTime64({EPOCH_UNITS[unit] % time if unit else time}, 3, 'UTC')"}
    for name in LOGICAL[1:]:
        text = _reference(wanted[name], f"{what} ({name})") if name in wanted else "''"
        columns[name] = level_from_text(text) if name == "level" and name in wanted else text
    if "level" not in wanted:
        columns["level"] = "'INFO'"
    columns["signature"] = (
        _reference(wanted["signature"], f"{what} (signature)")
        if "signature" in wanted
        else signature_expression(columns["message"])
    )
    for name, kind in OPTIONAL_NUMBERS.items():
        columns[name] = (
            f"to{kind}OrNull({_reference(wanted[name], f'{what} ({name})')})"
            if name in wanted
            else f"CAST(NULL, 'Nullable({kind})')"
        )
    return Source("mapped", table, columns, time_column=time, time_unit=unit)


def parse_columns(text: str, *, what: str) -> dict[str, str]:
    """`time=ts,service=app,pod=LogAttributes['k8s.pod.name']` as a mapping."""
    mapping = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not value.strip():
            raise ConfigError(f"{what}: {item[:80]!r} is not key=column (e.g. time=ts,message=msg)")
        mapping[key.strip()] = value.strip()
    return mapping


def from_file(path: Path) -> tuple[str, dict[str, str]]:
    """`table` and `[columns]` of a TOML mapping file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"LOGS_MCP_SOURCE_FILE: cannot read {path}: {exc}") from None
    table, columns = data.get("table"), data.get("columns")
    if not isinstance(table, str) or not isinstance(columns, dict):
        raise ConfigError(f'LOGS_MCP_SOURCE_FILE: {path} needs table = "…" and a [columns] table')
    return table, {str(key): str(value) for key, value in columns.items()}


def check_table(table: str, what: str) -> str:
    if not TABLE.match(table):
        raise ConfigError(f"{what}: {table[:80]!r} is not a table name (name or database.name)")
    return table


def build(kind: str, table: str | None, columns: str | None, source_file: Path | None) -> Source:
    """The configured source (`LOGS_MCP_SOURCE`, `_TABLE`, `_COLUMNS`, `_SOURCE_FILE`)."""
    if kind == "lab":
        return LAB
    if kind == "otel":
        return otel(check_table(table or "otel_logs", "LOGS_MCP_TABLE"))
    if source_file is not None:
        file_table, mapping = from_file(source_file)
        return mapped(check_table(table or file_table, "LOGS_MCP_TABLE"), mapping, what="LOGS_MCP_SOURCE_FILE")
    if not table or not columns:
        raise ConfigError(
            "LOGS_MCP_SOURCE=mapped needs LOGS_MCP_TABLE and LOGS_MCP_COLUMNS (or LOGS_MCP_SOURCE_FILE), e.g. "
            "LOGS_MCP_COLUMNS=time=ts,service=app,level=severity,message=msg"
        )
    mapping = parse_columns(columns, what="LOGS_MCP_COLUMNS")
    return mapped(check_table(table, "LOGS_MCP_TABLE"), mapping, what="LOGS_MCP_COLUMNS")
