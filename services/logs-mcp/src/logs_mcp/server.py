"""The MCP layer of logs-mcp: read-only tools and the logs://schema resource over `queries`.

Thin glue: each tool's signature bounds its arguments (the JSON schema tells the client), the domain
function checks them again before any I/O and runs in a worker thread under a deadline, and the result is
a compact pydantic model. The lifespan yields the `AppContext` (settings, the store opening in the background,
the clock) that every tool reaches through its `ctx`; tests pass their own store and clock.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Annotated, Any, Literal, TypeVar

import anyio
import anyio.to_thread
from mcp.server.mcpserver import Context, MCPServer
from pydantic import Field

from logs_mcp import __version__, arguments, describe, prompts, queries, timeline
from logs_mcp.config import LogsSettings
from logs_mcp.models import ErrorCounts, ErrorTimeline, LogPatterns, SearchResult, Services, SlowQueries, TraceResult
from logs_mcp.store import LogStore, check_embedded
from logs_mcp.windows import Bucket, TimeRange, Window, window
from mcp_common.background import Background, open_in_background
from mcp_common.blocking import run_blocking
from mcp_common.factory import READ_ONLY, current_app, new_server
from mcp_common.prompts import add_investigate_prompt

logger = logging.getLogger(__name__)

T = TypeVar("T")
Clock = Callable[[], datetime]

STORE = "the log store"

INSTRUCTIONS = """\
Application logs of the payments platform (payment-gateway, auth-service, fraud-detection,
card-network-gateway, redis and more) in ClickHouse, read-only. Windows are relative to now.
A good order: list_services (who is erroring) -> error_timeline (when it started) ->
count_errors(group_by=message) and log_patterns (what is new) -> search_logs (the lines) ->
trace_transaction (one request across services). get_slow_queries covers database latency.
Resource logs://schema describes the tables."""

ServiceArg = Annotated[
    str | None,
    Field(
        min_length=1,
        max_length=arguments.MAX_SERVICE,
        description="Only this service, exactly as the logs name it, e.g. payment-gateway (list_services shows them).",
    ),
]
LevelArg = Annotated[Literal["ERROR", "WARN", "INFO", "DEBUG"] | None, Field(description="Only this level.")]
TimeRangeArg = Annotated[TimeRange, Field(description="How far back from now: 15m, 1h, 6h, 24h or 7d.")]


@dataclass(frozen=True)
class AppContext:
    """What the lifespan yields and every tool reaches through `ctx.request_context.lifespan_context`."""

    settings: LogsSettings
    store: Background[LogStore]
    clock: Clock

    def window(self, time_range: str) -> Window:
        return window(time_range, self.clock())

    async def run(self, func: Callable[..., T], *args: Any, what: str, **kwargs: Any) -> T:
        """Run a query function against the store in a worker thread, under the query deadline."""
        store = await self.store.get()
        # The server-side max_execution_time stops the query; the wait allows a little more for the answer.
        return await run_blocking(func, store, *args, timeout_s=self.settings.query_timeout_s + 2, what=what, **kwargs)

    async def healthy(self) -> bool:
        store = self.store.value
        return store is not None and await anyio.to_thread.run_sync(store.healthy, abandon_on_cancel=True)


def create_server(
    settings: LogsSettings, store: LogStore | None = None, *, clock: Clock | None = None
) -> MCPServer[AppContext]:
    """The logs-mcp server. Without `store`, the lifespan opens the configured one (and closes it).

    An embedded directory that is missing or held by another process fails here, before serving, with a
    message naming LOGS_MCP_DATA_DIR or the holder.
    """
    if store is None and settings.embedded:
        check_embedded(settings.data_dir.resolve())
    fixed = settings.fixed_now
    now = clock or ((lambda: fixed) if fixed else (lambda: datetime.now(UTC)))

    @asynccontextmanager
    async def lifespan(_: MCPServer[AppContext]) -> AsyncIterator[AppContext]:
        if store is not None:  # given by the caller, who closes it
            yield AppContext(settings, Background.ready(store, STORE), now)
            return
        # Serve at once and open the store alongside: tools wait for it; a failure is each call's error.
        opening = open_in_background(
            STORE, partial(LogStore.open, settings), close=LogStore.close, wait_s=settings.query_timeout_s + 10
        )
        async with opening as opened:
            yield AppContext(settings, opened, now)

    server = new_server(
        "logs-mcp",
        settings,
        instructions=INSTRUCTIONS,
        version=__version__,
        lifespan=lifespan,
        health=AppContext.healthy,
    )

    @server.tool(title="Search log lines", annotations=READ_ONLY)
    async def search_logs(
        ctx: Context[AppContext],
        service: ServiceArg = None,
        level: LevelArg = None,
        keyword: Annotated[
            str | None,
            Field(
                min_length=1,
                max_length=arguments.MAX_KEYWORD,
                description="Text the message must contain, literally and case-insensitively (%, _, quotes and SQL "
                "words are plain text), e.g. OutOfMemoryError, 'connection refused', tx-abc123.",
            ),
        ] = None,
        time_range: TimeRangeArg = "1h",
        limit: Annotated[int, Field(ge=1, le=100, description="Lines to return (1-100).")] = 20,
        order: Annotated[
            Literal["newest", "oldest"],
            Field(description="newest first (default), or oldest first: the first error of a window."),
        ] = "newest",
        match: Annotated[
            Literal["word", "substring"],
            Field(
                description="word (default): the keyword's words are whole words of the line (OutOfMemoryError "
                "finds java.lang.OutOfMemoryError, not OutOfMemoryErrors); answered from the index, fast on any "
                "window. substring: anywhere, inside longer words too; reads every line of the window (slower)."
            ),
        ] = "word",
    ) -> SearchResult:
        """Search application log lines, newest first, by service, level and/or a keyword in the message.

        Use it to read the actual lines once you know what to look for (an error message, a pod, a time).
        Returns the lines with host (pod), logger, trace_id and any duration/status; `truncated` says more
        lines matched. Next: trace_transaction(trace_id) for one request across services, or count_errors /
        log_patterns to summarize instead of paging through lines.
        """
        app = ctx.request_context.lifespan_context
        return await app.run(
            queries.search_logs,
            app.window(time_range),
            service=service,
            level=level,
            keyword=keyword,
            limit=limit,
            order=order,
            match=match,
            what="search_logs",
        )

    @server.tool(title="Count errors", annotations=READ_ONLY)
    async def count_errors(
        ctx: Context[AppContext],
        group_by: Annotated[
            Literal["service", "host", "message"],
            Field(description="service, host (the pod), or message: normalized error signatures."),
        ] = "service",
        time_range: TimeRangeArg = "1h",
        limit: Annotated[int, Field(ge=1, le=100, description="Groups to return (1-100).")] = 20,
    ) -> ErrorCounts:
        """Count ERROR lines grouped by service, host (pod) or message signature, most errors first.

        Message groups are signatures: the message with ids, numbers, hex and durations replaced
        ("Transaction <id> failed: upstream timeout (<duration>)"), so one kind of error is one group.
        Each group has its share of all errors, first/last seen and the hosts involved. Use it to see
        where errors concentrate; then search_logs(keyword=...) for the lines of a group.
        """
        app = ctx.request_context.lifespan_context
        return await app.run(
            queries.count_errors, app.window(time_range), group_by=group_by, limit=limit, what="count_errors"
        )

    @server.tool(title="Get slow queries", annotations=READ_ONLY)
    async def get_slow_queries(
        ctx: Context[AppContext],
        service: ServiceArg = None,
        min_duration_ms: Annotated[
            int, Field(ge=0, le=3_600_000, description="Only queries at least this slow (ms).")
        ] = 1000,
        limit: Annotated[int, Field(ge=1, le=100, description="Queries to return (1-100).")] = 10,
        time_range: Annotated[TimeRange, Field(description="How far back from now (default 24h).")] = "24h",
    ) -> SlowQueries:
        """List slow database queries the services issued, slowest first, with rows examined and the pod.

        Use it when latency, timeouts or memory pressure might come from the database (a query that loads
        millions of rows). Then search_logs(service=..., time_range=...) around the query's timestamp.
        """
        app = ctx.request_context.lifespan_context
        return await app.run(
            queries.get_slow_queries,
            app.window(time_range),
            service=service,
            min_duration_ms=min_duration_ms,
            limit=limit,
            what="get_slow_queries",
        )

    @server.tool(title="Trace a transaction", annotations=READ_ONLY)
    async def trace_transaction(
        ctx: Context[AppContext],
        trace_id: Annotated[
            str,
            Field(
                min_length=1,
                max_length=128,
                pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$",
                description="The trace id, e.g. tx-abc123 (search_logs results show them).",
            ),
        ],
    ) -> TraceResult:
        """Follow one transaction across services: every log line with its trace_id, oldest first.

        Returns the services involved in order, first/last timestamp, duration, has_error and the first
        error (usually the cause; later errors are consequences). Searches all retained logs, not a window.
        """
        app = ctx.request_context.lifespan_context
        return await app.run(queries.trace_transaction, trace_id, what="trace_transaction")

    @server.tool(title="Error timeline", annotations=READ_ONLY)
    async def error_timeline(
        ctx: Context[AppContext],
        service: ServiceArg = None,
        time_range: TimeRangeArg = "1h",
        bucket: Annotated[Bucket, Field(description="Bucket size; auto picks 15-96 buckets for the range.")] = "auto",
    ) -> ErrorTimeline:
        """Lines per level per time bucket, and when the error rate first rose above its baseline.

        Buckets sit on absolute boundaries (15m buckets start at :00, :15, :30, :45 UTC), so the same logs give
        the same answer on every run. The baseline is the error rate of the preceding window of the same
        length. `first_rise` is the first bucket from which the rate stays above it for 3 buckets (with the
        services producing its errors): when the incident started. `first_burst` is the first bucket with at
        least 10 errors and 5x the baseline's errors per bucket, even if the rate falls back after it. `peak`
        is the bucket with the most errors (and its rate); `first_error` the oldest ERROR line of the window.
        Next: count_errors or log_patterns for what the errors are.
        """
        app = ctx.request_context.lifespan_context
        return await app.run(
            timeline.error_timeline, app.window(time_range), service=service, bucket=bucket, what="error_timeline"
        )

    @server.tool(title="Log patterns", annotations=READ_ONLY)
    async def log_patterns(
        ctx: Context[AppContext],
        service: ServiceArg = None,
        level: LevelArg = None,
        time_range: TimeRangeArg = "1h",
        limit: Annotated[int, Field(ge=1, le=100, description="Templates to return (1-100).")] = 20,
    ) -> LogPatterns:
        """Cluster log messages into templates, with counts, first/last seen and which ones are new.

        A template is the message with ids, numbers and durations replaced. `new` means it did not occur in
        the preceding window of the same length: new ERROR/WARN templates are usually the incident's
        symptoms. New templates are listed first, each with an example line.
        """
        app = ctx.request_context.lifespan_context
        return await app.run(
            queries.log_patterns,
            app.window(time_range),
            service=service,
            level=level,
            limit=limit,
            what="log_patterns",
        )

    @server.tool(title="List services", annotations=READ_ONLY)
    async def list_services(ctx: Context[AppContext]) -> Services:
        """List the services that log, with their last hour's volume, errors, error rate and hosts (pods).

        Compares with the hour before (previous_error_rate), so a service whose errors jumped stands out.
        Start here to learn the service names the other tools filter by.
        """
        app = ctx.request_context.lifespan_context
        return await app.run(queries.list_services, app.window("1h"), what="list_services")

    @server.resource(
        "logs://schema",
        name="schema",
        description="The log tables: columns, types, meanings, size, and the indexes behind the tools.",
        mime_type="text/markdown",
    )
    async def schema() -> str:
        app = current_app(server)  # a static resource gets no request context
        return await app.run(describe.describe_schema, what="reading logs://schema")

    add_investigate_prompt(server, "Investigate an incident (logs)", prompts.investigate_incident)

    return server
