"""The guard: one middleware that every tool call and resource read of every server passes through.

In order: identify the client (`stdio`, or the API key's name over HTTP), apply its rate limit, check the
arguments against the tool's JSON schema (clear messages; the SDK's pydantic validation still runs after),
run the call, replace the text of unexpected failures with a sanitized message, and write one audit line
whatever happened: ok, rejected, error, rate_limited or cancelled. While the call runs, `effects.current_call()`
gives write tools what they need to record a change (`effects.audited_effect`).
"""

from __future__ import annotations

import contextlib
import difflib
import json
import logging
import time
from collections.abc import Callable
from typing import Any

import anyio.lowlevel
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError as SchemaError
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPError
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from mcp_common.audit import AuditEntry, AuditLog, AuditWriteError
from mcp_common.auth import CLIENT_STATE_KEY
from mcp_common.effects import CallContext, enter_call, leave_call
from mcp_common.errors import internal_error_message
from mcp_common.ratelimit import RateLimiter

logger = logging.getLogger(__name__)

GUARDED_METHODS = frozenset({"tools/call", "resources/read", "prompts/get"})
LOCAL_CLIENT = "stdio"


def client_identity(ctx: ServerRequestContext[Any, Any]) -> str:
    """The authenticated key name over HTTP; `stdio` for local transports (stdio, in-memory)."""
    scope = getattr(ctx.request, "scope", None)
    if isinstance(scope, dict):
        name = scope.get("state", {}).get(CLIENT_STATE_KEY)
        if name:
            return str(name)
    return LOCAL_CLIENT


def tool_error_result(text: str, protocol_version: str, **structured: Any) -> dict[str, Any]:
    """A tools/call result in wire form that reports an error (`isError: true`).

    A middleware that answers without calling the handler owns the whole envelope, so this adds what the
    negotiated protocol version requires (`resultType` from 2026-07-28 on).
    """
    result: dict[str, Any] = {"content": [{"type": "text", "text": text}], "isError": True}
    if structured:
        result["structuredContent"] = structured
    if protocol_version in MODERN_PROTOCOL_VERSIONS:
        result["resultType"] = "complete"
    return result


class ToolCallGuard:
    """`ServerMiddleware` applying rate limits, schema checks, error sanitizing and audit to every call."""

    def __init__(
        self,
        server_name: str,
        audit: AuditLog,
        limiter: RateLimiter,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.server_name = server_name
        self.audit = audit
        self.limiter = limiter
        self._clock = clock
        self._server: MCPServer[Any] | None = None
        self._validators: dict[str, Draft202012Validator] = {}

    def bind(self, server: MCPServer[Any]) -> None:
        """Attach the server whose tool schemas the guard validates against."""
        self._server = server

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method not in GUARDED_METHODS or ctx.request_id is None:
            return await call_next(ctx)
        started = self._clock()
        params = dict(ctx.params or {})
        target, arguments = _target_and_arguments(ctx.method, params)
        client = client_identity(ctx)

        def audit(outcome: str, result_bytes: int = 0, error: str | None = None) -> None:
            entry = AuditEntry(
                server=self.server_name,
                tool=target,
                arguments=arguments,
                client=client,
                outcome=outcome,
                duration_ms=(self._clock() - started) * 1000,
                result_bytes=result_bytes,
                error=error,
            )
            # A read is answered even when its line cannot be written (counted and logged by the log);
            # a change is refused before it starts (see mcp_common.effects).
            with contextlib.suppress(AuditWriteError):
                self.audit.record(entry)

        retry_after = self.limiter.acquire(client)
        if retry_after is not None:
            retry = retry_after
            text = f"rate limit exceeded for client '{client}'; retry after {retry} s"
            audit("rate_limited", error=text)
            if ctx.method == "tools/call":
                return tool_error_result(text, ctx.protocol_version, error="rate_limited", retry_after_s=retry)
            raise MCPError(code=-32000, message=text, data={"retry_after_s": retry})

        if ctx.method == "tools/call":
            problem = await self._schema_problem(target, arguments)
            if problem is not None:
                audit("rejected", error=problem)
                return tool_error_result(problem, ctx.protocol_version)

        result = await self._call_audited(
            ctx, call_next, audit, CallContext(self.audit, self.server_name, target, client)
        )
        size = _result_size(result)
        if ctx.method == "tools/call" and isinstance(result, dict) and result.get("isError"):
            text = _first_text(result)
            if text == f"Error executing tool {target}":
                # The SDK's marker for an unexpected exception (already logged with its traceback).
                text = internal_error_message(target)
                audit("error", size, "unexpected exception (see server log)")
            else:
                text = _strip_sdk_prefix(text, target)
                audit("rejected", size, text)
            return {**result, "content": [{"type": "text", "text": text}]}
        if _cancel_requested(ctx):
            # The client gave up while the call ran to its end (a write finishes; see effects): say both.
            audit("cancelled", size, "the client cancelled; the call completed and its answer was dropped")
        else:
            audit("ok", size)
        return result

    async def _call_audited(
        self,
        ctx: ServerRequestContext[Any, Any],
        call_next: CallNext,
        audit: Callable[..., None],
        call: CallContext,
    ) -> HandlerResult:
        """Run the call with `call` as the current call (for write tools), auditing every way it can end."""
        token = enter_call(call)
        try:
            result = await call_next(ctx)
            # A cancellation that arrived while a write finished under its shield is delivered here.
            await anyio.lowlevel.checkpoint_if_cancelled()
            return result
        except MCPError as exc:
            audit("rejected", error=exc.error.message)
            raise
        except Exception as exc:
            audit("error", error=type(exc).__name__)
            raise
        except BaseException as exc:
            # Cancellation (the client's notifications/cancelled, a shutdown) is not an Exception: still a line.
            audit("cancelled", error=type(exc).__name__)
            raise
        finally:
            leave_call(token)

    async def _schema_problem(self, tool: str, arguments: dict[str, Any]) -> str | None:
        validator = await self._validator(tool)
        if validator is None:
            return None  # unknown tool: StrictServer.call_tool answers -32602 naming the tools
        # Unknown arguments first: a misspelled filter is the likeliest mistake and the most misleading one.
        errors = sorted(
            validator.iter_errors(arguments),
            key=lambda e: (e.validator != "additionalProperties", list(e.absolute_path)),
        )
        if not errors:
            return None
        return f"invalid arguments for {tool}: " + "; ".join(_describe(e) for e in errors[:5])

    async def _validator(self, tool: str) -> Draft202012Validator | None:
        if tool not in self._validators and self._server is not None:
            # Tools are fixed once the server runs; build the validators once.
            for info in await self._server.list_tools():
                self._validators[info.name] = Draft202012Validator(info.input_schema)
        return self._validators.get(tool)


def _cancel_requested(ctx: ServerRequestContext[Any, Any]) -> bool:
    event = getattr(ctx, "cancel_requested", None)
    return bool(event is not None and event.is_set())


def _target_and_arguments(method: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    if method == "tools/call":
        args = params.get("arguments") or {}
        return str(params.get("name", "?")), args if isinstance(args, dict) else {"arguments": args}
    if method == "resources/read":
        return "resources/read", {"uri": params.get("uri")}
    return f"prompts/get:{params.get('name', '?')}", dict(params.get("arguments") or {})


def _describe(error: SchemaError) -> str:
    where = ".".join(str(p) for p in error.absolute_path) or "arguments"
    value = error.instance
    if error.validator == "additionalProperties" and isinstance(value, dict):
        return _unknown_arguments(value, error.schema if isinstance(error.schema, dict) else {})
    if error.validator == "maxLength" and isinstance(value, str):
        return f"{where}: too long ({len(value)} characters; at most {error.validator_value})"
    if error.validator == "minLength":
        return f"{where}: must not be empty" if value == "" else f"{where}: too short"
    if error.validator in {"maximum", "minimum"}:
        schema = error.schema if isinstance(error.schema, dict) else {}
        low, high = schema.get("minimum", "-∞"), schema.get("maximum", "∞")
        return f"{where}: {value!r} is out of range; allowed {low}..{high}"
    if error.validator == "enum":
        return f"{where}: {_short(value)} is not one of {', '.join(map(str, error.validator_value))}"
    if error.validator == "anyOf":
        choices = [v for sub in error.validator_value if isinstance(sub, dict) for v in sub.get("enum", [])]
        if choices:
            return f"{where}: {_short(value)} is not one of {', '.join(map(str, choices))} (or omit it)"
        inner = [_describe(e) for e in (error.context or []) if e.validator not in {"type"}]
        if inner:
            return inner[0]
    if error.validator == "required":
        return str(error.message).replace("property", "argument")
    if error.validator == "type":
        return f"{where}: expected {error.validator_value}, got {_short(value)}"
    return f"{where}: {error.message[:200]}"


def _unknown_arguments(arguments: dict[str, Any], schema: dict[str, Any]) -> str:
    valid = list(schema.get("properties") or {})
    parts = []
    for name in [key for key in arguments if key not in valid][:5]:
        close = difflib.get_close_matches(name, valid, n=1)
        parts.append(f"unknown argument {_short(name)}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    accepted = f"valid arguments: {', '.join(valid)}" if valid else "this tool takes no arguments"
    return f"{'; '.join(parts)}; {accepted}"


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "…"


def _first_text(result: dict[str, Any]) -> str:
    for block in result.get("content") or []:
        if isinstance(block, dict) and block.get("type") == "text":
            return str(block.get("text", ""))
    return ""


def _strip_sdk_prefix(text: str, tool: str) -> str:
    prefix = f"Error executing tool {tool}: "
    return text[len(prefix) :] if text.startswith(prefix) else text


def _result_size(result: HandlerResult) -> int:
    if result is None:
        return 0
    if isinstance(result, dict):
        return len(json.dumps(result, default=str, separators=(",", ":")))
    return len(result.model_dump_json(by_alias=True, exclude_none=True))
