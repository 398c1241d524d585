"""Settings: env prefix `LOGS_MCP_`. A ClickHouse server URL, or (the default) the embedded chDB directory."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AwareDatetime, Field, SecretStr, model_validator

from logs_mcp.sources import Source, build
from mcp_common.settings import ServerSettings, ServerUrl, server_config

DEFAULT_DATA_DIR = Path(".lab/data/clickhouse")
"""Where `sre-lab seed logs` writes the embedded store, relative to the repository root."""

IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]{0,62}$"


class LogsSettings(ServerSettings):
    """Where the logs are and the limits every query runs under."""

    model_config = server_config("LOGS_MCP_")

    clickhouse_url: ServerUrl = Field(
        default=None,
        description="ClickHouse HTTP endpoint, e.g. http://clickhouse:8123 (the compose lab). "
        "Unset: the embedded chDB store in data_dir.",
    )
    clickhouse_user: str = Field(default="default", min_length=1, description="ClickHouse user (server only).")
    clickhouse_password: SecretStr = Field(default=SecretStr(""), description="ClickHouse password (server only).")
    clickhouse_database: str = Field(default="logs", pattern=IDENTIFIER, description="Database holding the tables.")
    data_dir: Path = Field(
        default=DEFAULT_DATA_DIR,
        description="Embedded chDB directory (used when clickhouse_url is unset). One process at a time.",
    )
    query_timeout_s: float = Field(
        default=10.0, gt=0, le=300, description="max_execution_time of every query, and the wait for it."
    )
    max_result_rows: int = Field(default=10_000, ge=100, le=100_000, description="Result row limit per query.")
    max_result_bytes: int = Field(
        default=16 * 1024 * 1024, ge=1024 * 1024, le=64 * 1024 * 1024, description="Result byte limit per query."
    )
    max_memory_usage: int = Field(
        default=1024 * 1024 * 1024, ge=64 * 1024 * 1024, le=2 * 1024 * 1024 * 1024, description="Memory per query."
    )
    max_rows_to_read: int = Field(
        default=200_000_000, ge=1_000_000, le=200_000_000, description="Rows one query may scan."
    )
    fixed_now: AwareDatetime | None = Field(
        default=None,
        description="Pin the tools' 'now' (ISO time with zone, e.g. 2026-11-26T14:23:30Z) to replay a seeded "
        "incident later. Unset: the real clock.",
    )

    source: Literal["lab", "otel", "mapped"] = Field(
        default="lab",
        description="What the logs table is: lab (application_logs and slow_queries, what sre-lab seeds), otel "
        "(the OpenTelemetry Collector's otel_logs), or mapped (any table, through LOGS_MCP_COLUMNS or "
        "LOGS_MCP_SOURCE_FILE).",
    )
    table: str | None = Field(
        default=None,
        description="The table (name or database.name) for source otel (default otel_logs) or mapped.",
    )
    columns: str | None = Field(
        default=None,
        description="Source mapped: logical=column pairs, e.g. time=ts,service=app,level=severity,message=msg, "
        "pod=LogAttributes['k8s.pod.name'] (alternatives a|b: the first non-empty).",
    )
    source_file: Path | None = Field(
        default=None, description='Source mapped: a TOML file with table = "…" and a [columns] table instead.'
    )

    @model_validator(mode="after")
    def _source_is_valid(self) -> LogsSettings:
        self.log_source()  # a bad table name or mapping stops the server at start, naming the variable
        return self

    def log_source(self) -> Source:
        """The configured log source: the lab's schema, otel_logs, or a mapped table."""
        return build(self.source, self.table, self.columns, self.source_file)

    @property
    def embedded(self) -> bool:
        """True when the store is the embedded chDB directory rather than a ClickHouse server."""
        return self.clickhouse_url is None

    def query_settings(self) -> dict[str, int | float]:
        """The ClickHouse settings every query carries (the compose lab's reader profile enforces the same)."""
        return {
            "readonly": 2,  # no writes or DDL; 2 (not 1) so these per-query settings may still be sent
            "max_execution_time": self.query_timeout_s,
            "max_result_rows": self.max_result_rows,
            "max_result_bytes": self.max_result_bytes,
            "max_memory_usage": self.max_memory_usage,
            "max_rows_to_read": self.max_rows_to_read,
        }
