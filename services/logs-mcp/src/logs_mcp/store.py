"""The log store: a ClickHouse server or the embedded chDB directory, both through clickhouse-connect.

Every query is a file in `sql/` whose values are `{name:Type}` placeholders that ClickHouse binds itself: no
value is ever formatted into SQL text. Every query carries `LogsSettings.query_settings()` (readonly,
max_execution_time, result and memory limits); a query that hits one becomes a `ToolError` saying how to
narrow the request.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING, Any

from logs_mcp.config import LogsSettings
from logs_mcp.patterns import signature_function
from logs_mcp.sql import load_sql
from mcp_common.errors import StoreUnavailableError, ToolError

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client
    from clickhouse_connect.driver.exceptions import DatabaseError

# clickhouse-connect (and chDB behind it) is imported where a client is opened or an error caught, not at
# import time: the server opens its store in the lifespan's worker thread, off the start-up path.

logger = logging.getLogger(__name__)

TABLES = ("application_logs", "slow_queries")
# The message index: ClickHouse's text index (26.x), or a token bloom filter where the server has none (the compose
# lab's 25.8, or enable_full_text_index = 0). search_logs' hasToken uses either; the answers are the same.
TEXT_INDEX = "TYPE text(tokenizer = 'splitByNonAlpha') GRANULARITY 64"
BLOOM_INDEX = "TYPE tokenbf_v1(8192, 2, 0) GRANULARITY 1"

# How long a writer (the seeder, the importer) waits for one statement's answer. Its bulk statements are not tool
# queries: the seed's INSERT ... SELECT writes up to 2 M rows in one statement (about 5 s on an idle 2-core machine,
# several times that on a loaded one), so the reader's deadline (query_timeout_s + 5 s) would cut them off.
WRITE_TIMEOUT_S = 600

# ClickHouse error codes of the per-query limits, and what each means to the caller.
_LIMIT_ERRORS = {
    159: "the query ran longer than {timeout:g} s (max_execution_time) and was stopped",
    160: "the query would run longer than {timeout:g} s (max_execution_time)",
    158: "the query would read more rows than allowed (max_rows_to_read)",
    307: "the query would read more bytes than allowed",
    396: "the result is larger than allowed (max_result_rows / max_result_bytes)",
    241: "the query needed more memory than allowed (max_memory_usage)",
}


def schema_statements() -> list[str]:
    """`log_signature` (from `sql/signature_rules.sql`), then the statements of `sql/schema.sql`, in order (each
    ends with `;` at the end of a line)."""
    text = load_sql("schema")
    statements = [signature_function()]
    for chunk in text.split(";\n"):
        code = "\n".join(line for line in chunk.splitlines() if not line.lstrip().startswith("--")).strip()
        if code:
            statements.append(code.removesuffix(";"))
    return statements


# -- opening ------------------------------------------------------------------------------------------


def embedded_holder(data_dir: Path) -> str | None:
    """Who holds the embedded store's lock, if another process does: e.g. "pid 4242 (logs-mcp), since …".

    chDB (like clickhouse-server) takes an exclusive flock on `<dir>/status` and writes its PID there; the
    same process may open the directory any number of times, another process may not.
    """
    status = data_dir / "status"
    try:
        fd = os.open(status, os.O_RDONLY)
    except OSError:
        return None
    try:
        fields = _status_fields(status)
        if fields.get("PID") == str(os.getpid()):
            return None  # this process: chDB shares its engine between handles
        import fcntl  # noqa: PLC0415 - POSIX only, like chDB: on Windows a server uses ClickHouse, never this

        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return _describe_process(fields)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _status_fields(status: Path) -> dict[str, str]:
    try:
        lines = status.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return {}
    return {key.strip(): value.strip() for key, sep, value in (line.partition(":") for line in lines) if sep}


def _describe_process(fields: Mapping[str, str]) -> str:
    pid = fields.get("PID", "")
    if not pid.isdigit():
        return "another process"
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        # one line whatever the arguments hold (a `python -c` script has newlines): the message is read by line
        command = " ".join(" ".join(arg.decode(errors="replace") for arg in argv if arg).split())[:160]
    except OSError:
        command = ""
    since = f", since {fields['Started at']}" if fields.get("Started at") else ""
    return f"pid {pid}" + (f" ({command})" if command else "") + since


def _locked_message(data_dir: Path, holder: str) -> str:
    return (
        f"the embedded log store {data_dir} is in use by {holder}; chDB admits one process per directory: "
        "stop that process (or its MCP client), or point LOGS_MCP_CLICKHOUSE_URL at a ClickHouse server"
    )


def check_embedded(data_dir: Path) -> None:
    """Fail early, naming the variable or the holder, if the embedded directory cannot be opened."""
    if not data_dir.is_dir():
        raise StoreUnavailableError(
            f"LOGS_MCP_DATA_DIR: the embedded log store {data_dir} does not exist; seed it with "
            "`sre-lab seed logs`, or set LOGS_MCP_CLICKHOUSE_URL to use a ClickHouse server"
        )
    holder = embedded_holder(data_dir)
    if holder is not None:
        raise StoreUnavailableError(_locked_message(data_dir, holder))


def connect(settings: LogsSettings, *, writer: bool = False) -> Client:
    """A clickhouse-connect client for the configured store.

    The reader's session is read-only (`readonly=2`) on top of the per-query settings; `writer=True` is for
    the seeder and tests. The embedded directory is created for a writer and must exist for a reader.
    """
    import clickhouse_connect  # noqa: PLC0415 - start-up cost: it loads its whole driver
    from clickhouse_connect.driver.exceptions import (  # noqa: PLC0415 - start-up cost
        DatabaseError,
        OperationalError,
        ProgrammingError,
    )

    session: dict[str, Any] = {} if writer else {"readonly": 2}
    if settings.clickhouse_url is None:
        if importlib.util.find_spec("chdb") is None:  # chDB is the `embedded` extra
            raise StoreUnavailableError(
                "the embedded log store needs chDB: pip install 'sre-lab-logs-mcp[embedded]', "
                "or set LOGS_MCP_CLICKHOUSE_URL to use a ClickHouse server"
            )
        data_dir = settings.data_dir.resolve()
        if writer:
            data_dir.mkdir(parents=True, exist_ok=True)
            holder = embedded_holder(data_dir)
            if holder is not None:
                raise StoreUnavailableError(_locked_message(data_dir, holder))
        else:
            check_embedded(data_dir)
        try:
            # Equivalent to the DSN chdb:///<dir>; passing the path avoids URL-quoting it.
            return clickhouse_connect.get_client(interface="chdb", path=str(data_dir), settings=session)
        except ProgrammingError as exc:
            holder = embedded_holder(data_dir)
            if holder is not None:
                raise StoreUnavailableError(_locked_message(data_dir, holder)) from None
            raise StoreUnavailableError(
                f"cannot open the embedded log store {data_dir}: {exc} (chDB opens one directory per process)"
            ) from None
    url = settings.clickhouse_url
    try:
        return clickhouse_connect.get_client(
            host=url.host,
            port=url.port,
            secure=url.scheme == "https",
            username=settings.clickhouse_user,
            password=settings.clickhouse_password.get_secret_value(),
            settings=session,
            # No HTTP session: one client serves every tool call, from concurrent worker threads (HTTP clients and
            # exec sessions of one process), and ClickHouse runs one query at a time per session (the driver refuses
            # a second: "concurrent queries within the same session"). Nothing here needs session state: the
            # settings above (readonly=2 for the reader) and the database travel with every request.
            autogenerate_session_id=False,
            connect_timeout=5,
            # a reader waits a little past its queries' max_execution_time; a writer's statements have no such limit
            send_receive_timeout=WRITE_TIMEOUT_S if writer else int(settings.query_timeout_s) + 5,
        )
    except OperationalError:
        raise StoreUnavailableError(
            f"LOGS_MCP_CLICKHOUSE_URL: cannot reach ClickHouse at {url.host}:{url.port}"
        ) from None
    except DatabaseError as exc:
        raise StoreUnavailableError(
            f"ClickHouse at {url.host}:{url.port} refused the connection for user "
            f"{settings.clickhouse_user!r} (code {exc.code}); check LOGS_MCP_CLICKHOUSE_USER/PASSWORD"
        ) from None


def apply_schema(client: Client, database: str) -> str:
    """Create the database, `log_signature` and the tables if they do not exist (idempotent); the message index's
    kind: "text", or "bloom" where the server refuses text indexes (logged as a warning)."""
    from clickhouse_connect.driver.exceptions import DatabaseError  # noqa: PLC0415 - start-up cost

    client.command("CREATE DATABASE IF NOT EXISTS {db:Identifier}", parameters={"db": database})
    client.database = database
    kind = "text"
    for written in schema_statements():
        statement = written.replace(TEXT_INDEX, BLOOM_INDEX) if kind == "bloom" else written
        try:
            client.command(statement)
        except DatabaseError as exc:
            if TEXT_INDEX not in statement:
                raise
            first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else "no detail"
            logger.warning("no text index on this ClickHouse (%s); indexing messages with a token bloom filter", first)
            kind = "bloom"
            client.command(statement.replace(TEXT_INDEX, BLOOM_INDEX))
    return kind


def open_writer(settings: LogsSettings) -> Client:
    """A writer client for the configured store with the schema applied (the seeder's and the importer's)."""
    client = connect(settings, writer=True)
    try:
        apply_schema(client, settings.clickhouse_database)
    except BaseException:
        client.close()
        raise
    return client


# -- querying -----------------------------------------------------------------------------------------


class LogStore:
    """An open client, the database, and the limits every query carries. Thread-safe for the tools' use: over HTTP
    each query is its own request (no session, see `connect`); chDB's client serializes calls on its handle."""

    def __init__(self, client: Client, settings: LogsSettings) -> None:
        self.client = client
        self.settings = settings
        self.database = settings.clickhouse_database
        self.client.database = self.database
        self._query_settings = settings.query_settings()
        self.source = settings.log_source()

    @classmethod
    def open(cls, settings: LogsSettings) -> LogStore:
        """Open the configured store read-only and check that the tables exist."""
        store = cls(connect(settings), settings)
        try:
            store.require_tables()
        except BaseException:
            store.close()
            raise
        return store

    def _check_time_column(self, settings: dict[str, Any]) -> None:
        """A mapped time column read as its type says: a number needs its epoch unit, a date-time none (read
        wrongly, every time window would silently miss the table's lines)."""
        if not self.source.time_column:
            return
        query = f"SELECT {self.source.time_column} FROM {self.source.table} LIMIT 0"  # noqa: S608 - checked names
        kind = self.client.query(query, settings=settings).column_types[0].name
        number = kind.removeprefix("Nullable(").startswith(("UInt", "Int", "Float", "Decimal"))
        if number and not self.source.time_unit:
            raise StoreUnavailableError(
                f"the mapped source {self.source.table!r}: its time column {self.source.time_column} is {kind}, an "
                f"epoch number; give its unit in the mapping: time={self.source.time_column}:ns (or :us, :ms, :s)"
            )
        if self.source.time_unit and not number:
            raise StoreUnavailableError(
                f"the mapped source {self.source.table!r}: its time column {self.source.time_column} is {kind}, not "
                f"an epoch number; map it without a unit: time={self.source.time_column}"
            )
        if self.source.time_unit:  # one row read with the declared unit must land in a plausible year
            expression = self.source.columns["timestamp"]
            sample = self.client.query(
                f"SELECT {self.source.time_column}, toYear({expression}) FROM {self.source.table} LIMIT 1",  # noqa: S608
                settings=settings,
            ).result_rows
            if sample and not 1990 <= sample[0][1] <= 2200:
                raise StoreUnavailableError(
                    f"the mapped source {self.source.table!r}: {self.source.time_column}={sample[0][0]} read as "
                    f":{self.source.time_unit} is in the year {sample[0][1]}; is its unit another (:ns, :us, :ms, :s)?"
                )

    def require_tables(self) -> None:
        """Raise `StoreUnavailableError` if the source's tables are missing (nothing seeded yet) or its mapping
        names a column the table lacks."""
        from clickhouse_connect.driver.exceptions import DatabaseError  # noqa: PLC0415 - start-up cost

        # metadata lookups at start-up: the per-query limits, with time enough to open the store
        settings = {**self._query_settings, "max_execution_time": max(self.settings.query_timeout_s, 10)}
        if self.source.kind != "lab":
            try:  # reads no rows; fails if the table or any mapped column is missing
                self.client.query(f"SELECT * FROM {self.source.relation} LIMIT 0", settings=settings)  # noqa: S608
            except DatabaseError as exc:
                first = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else "no detail"
                raise StoreUnavailableError(
                    f"the {self.source.kind} source {self.source.table!r} cannot be read: {first}; check "
                    "LOGS_MCP_TABLE and the column mapping (LOGS_MCP_COLUMNS or LOGS_MCP_SOURCE_FILE)"
                ) from None
            self._check_time_column(settings)
            return
        try:
            found = {
                row[0]
                for row in self.client.query(
                    "SELECT name FROM system.tables WHERE database = {db:String}",
                    parameters={"db": self.database},
                    settings=settings,
                ).result_rows
            }
        except DatabaseError as exc:
            raise StoreUnavailableError(f"cannot list the tables of database {self.database}: {exc}") from None
        missing = [table for table in TABLES if table not in found]
        if missing:
            raise StoreUnavailableError(
                f"database {self.database!r} has no {', '.join(missing)}: seed the logs first "
                "(`sre-lab seed logs`), which applies the schema; or, for your own logs, set LOGS_MCP_SOURCE=otel "
                "(an OpenTelemetry otel_logs table) or LOGS_MCP_SOURCE=mapped"
            )

    def rows(self, name: str, parameters: Mapping[str, Any], **fragments: str) -> list[dict[str, Any]]:
        """Run `sql/<name>.sql` with bound `parameters`; rows as dicts. Limit breaches become `ToolError`s.

        `$source` is what the lines are read from (`sources.Source.relation`); `fragments` fill the file's other
        `$name` slots with SQL chosen from fixed tables by the caller (a sort direction), never with a value
        from a request: values are always bound parameters.
        """
        from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError  # noqa: PLC0415 - start-up cost

        text = Template(load_sql(name)).substitute({"source": self.source.relation, **fragments})
        try:
            result = self.client.query(text, parameters=dict(parameters), settings=self._query_settings)
        except OperationalError:
            raise ToolError("the log store is unreachable right now (connection failed); retry shortly") from None
        except DatabaseError as exc:
            raise self._as_tool_error(exc) from None
        return list(result.named_results())

    def _as_tool_error(self, exc: DatabaseError) -> Exception:
        template = _LIMIT_ERRORS.get(exc.code or 0)
        if template is None:
            return exc  # unexpected: the guard logs it and sends a sanitized message
        what = template.format(timeout=self.settings.query_timeout_s)
        return ToolError(f"{what}; narrow the request: a shorter time_range, or filter by service or level")

    def healthy(self) -> bool:
        """A trivial query answers (for /healthz)."""
        from clickhouse_connect.driver.exceptions import DatabaseError  # noqa: PLC0415 - start-up cost

        try:
            return self.client.query("SELECT 1", settings=self._query_settings).result_rows == [(1,)]
        except DatabaseError:  # OperationalError (connection) is one too
            return False

    def close(self) -> None:
        self.client.close()
