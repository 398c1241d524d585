"""What clients see of every server: strict arguments, the spec's error codes, honest capabilities, compact text.

`StrictServer` is the SDK's `MCPServer` with these, for every tool and prompt a server registers:

- **strict arguments**: every tool's input schema says `additionalProperties: false`, so the guard refuses
  an unknown argument naming the valid ones (a misspelled filter is an error, not a silently wider answer);
- **compact answers**: a tool's model result travels as `structuredContent` (unchanged) plus a compact text
  block (`mcp_common.compact`) instead of the model as indented JSON;
- **unknown tools and prompts, bad prompt arguments** are JSON-RPC -32602 errors naming what exists (the
  SDK answers an unknown tool with an error *result*, and prompt failures with code 0, or -32603 and no
  message on 2026-07-28);
- descriptions written as indented docstrings reach the client dedented.

`ProtocolMiddleware` handles what depends on the request: a `cursor` on a list method is rejected (these
servers return every item in one page, so any cursor is invalid), an unknown resource is -32002 on the
protocol versions that define it (up to 2025-11-25; -32602 from 2026-07-28, SEP-2164), and a server with no
resource declares no resources capability.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, get_args

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import Context, MCPServer
from mcp_types import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    CallToolResult,
    ContentBlock,
    GetPromptResult,
    Icon,
    InputRequiredResult,
    Prompt,
    TextContent,
    Tool,
    ToolAnnotations,
)
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from pydantic import BaseModel, ValidationError

from mcp_common.compact import compact_text
from mcp_common.errors import MCPError, internal_error_message, invalid_params

logger = logging.getLogger(__name__)

AppT = TypeVar("AppT")

RESOURCE_NOT_FOUND = -32002
"""The resource-not-found code of protocol versions up to 2025-11-25 (SEP-2164 moved it to -32602)."""

PAGINATED_METHODS = frozenset({"tools/list", "prompts/list", "resources/list", "resources/templates/list"})


class StrictServer(MCPServer[AppT]):
    """An `MCPServer` with strict tool arguments, compact answers and the spec's error codes (module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._tool_names: set[str] = set()

    def add_tool(
        self,
        fn: Callable[..., Any],
        name: str | None = None,
        title: str | None = None,
        description: str | None = None,
        annotations: ToolAnnotations | None = None,
        icons: list[Icon] | None = None,
        meta: dict[str, Any] | None = None,
        structured_output: bool | None = None,
    ) -> None:
        """Register `fn` as a tool whose model results carry compact text (see the SDK's `add_tool`)."""
        super().add_tool(
            _with_compact_text(fn),
            name=name,
            title=title,
            description=description,
            annotations=annotations,
            icons=icons,
            meta=meta,
            structured_output=structured_output,
        )
        self._tool_names.add(name or fn.__name__)

    def remove_tool(self, name: str) -> None:
        super().remove_tool(name)
        self._tool_names.discard(name)

    async def list_tools(self) -> list[Tool]:
        """The tools, each input schema closed to unknown arguments, descriptions dedented."""
        tools = await super().list_tools()
        for tool in tools:
            tool.input_schema = {**tool.input_schema, "additionalProperties": False}
            if tool.description:
                tool.description = inspect.cleandoc(tool.description)
        return tools

    async def list_prompts(self) -> list[Prompt]:
        prompts = await super().list_prompts()
        for prompt in prompts:
            if prompt.description:
                prompt.description = inspect.cleandoc(prompt.description)
        return prompts

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[AppT, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        if name not in self._tool_names:
            available = sorted(self._tool_names)
            raise invalid_params(f"unknown tool '{_short(name)}'; available: {', '.join(available)}", {"tool": name})
        return await super().call_tool(name, arguments, context)

    async def get_prompt(
        self, name: str, arguments: dict[str, Any] | None = None, context: Context[AppT, Any] | None = None
    ) -> GetPromptResult | InputRequiredResult:
        prompts = {prompt.name: prompt for prompt in await self.list_prompts()}
        prompt = prompts.get(name)
        if prompt is None:
            raise invalid_params(f"unknown prompt '{_short(name)}'; available: {', '.join(sorted(prompts))}")
        _check_prompt_arguments(prompt, arguments or {})
        try:
            return await super().get_prompt(name, arguments, context)
        except MCPError:
            raise
        except ValueError as exc:
            invalid = _validation_cause(exc)
            if invalid is not None:
                problems = "; ".join(_pydantic_problem(error) for error in invalid.errors()[:5])
                raise invalid_params(f"invalid arguments for prompt {name}: {problems}") from None
            # A bug in the prompt: logged here with its cause, sanitized for the client.
            logger.error("prompt %r failed", name, exc_info=exc.__cause__ or exc)
            raise MCPError(code=INTERNAL_ERROR, message=internal_error_message(f"prompt {name}")) from None


def _check_prompt_arguments(prompt: Prompt, arguments: Mapping[str, Any]) -> None:
    declared = [argument.name for argument in prompt.arguments or []]
    unknown = sorted(set(arguments) - set(declared))
    if unknown:
        names = ", ".join(f"'{_short(name)}'" for name in unknown)
        raise invalid_params(
            f"unknown argument {names} for prompt {prompt.name}; valid arguments: {', '.join(declared) or 'none'}"
        )
    missing = [
        argument.name for argument in prompt.arguments or [] if argument.required and argument.name not in arguments
    ]
    if missing:
        raise invalid_params(f"prompt {prompt.name} needs the argument(s) {', '.join(missing)}")


def _validation_cause(exc: BaseException) -> ValidationError | None:
    # The SDK wraps a prompt's argument validation error twice ("Error rendering prompt ...").
    cause: BaseException | None = exc
    while cause is not None and not isinstance(cause, ValidationError):
        cause = cause.__cause__
    return cause


def _pydantic_problem(error: Mapping[str, Any]) -> str:
    # Field names and pydantic's message only: the rejected values are the caller's data.
    where = ".".join(str(part) for part in error.get("loc", ())) or "arguments"
    return f"{where}: {error.get('msg', 'invalid')}"


def _short(value: str, limit: int = 60) -> str:
    return value if len(value) <= limit else value[:limit] + "…"


def _with_compact_text(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a tool function so a model result becomes structured content plus compact text.

    `functools.wraps` keeps the signature, annotations and docstring the SDK reads (arguments, the `ctx`
    parameter, the output schema from the return annotation); the SDK still validates the structured content
    against that schema.
    """
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def run_async(*args: Any, **kwargs: Any) -> Any:
            return compact_result(await fn(*args, **kwargs))

        return run_async

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        return compact_result(fn(*args, **kwargs))

    return run


# What the SDK itself knows how to send: content blocks, a whole result, a request for client input.
_PROTOCOL_MODELS = (CallToolResult, InputRequiredResult, *get_args(ContentBlock))


def compact_result(value: Any) -> Any:
    """A tool's return value as the client gets it: a result model becomes structured content + compact text;
    anything else (a string, content blocks, an `InputRequiredResult`) goes to the SDK as it is."""
    if not isinstance(value, BaseModel) or isinstance(value, _PROTOCOL_MODELS):
        return value
    data = value.model_dump(mode="json", by_alias=True)
    return CallToolResult(content=[TextContent(type="text", text=compact_text(value, data))], structured_content=data)


class ProtocolMiddleware:
    """Cursors rejected, -32002 where the protocol version defines it, no capability for what is absent."""

    def __init__(self, server: MCPServer[Any]) -> None:
        self._server = server
        self._has_resources: bool | None = None

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        method = ctx.method
        if method in PAGINATED_METHODS and ctx.params and ctx.params.get("cursor") is not None:
            raise invalid_params(
                f"invalid cursor for {method}: this server returns every item in one page; omit the cursor"
            )
        if method == "resources/read":
            return await _resource_not_found_code(ctx, call_next)
        result = await call_next(ctx)
        if method in {"initialize", "server/discover"} and isinstance(result, dict):
            capabilities = result.get("capabilities")
            if isinstance(capabilities, dict) and "resources" in capabilities and not await self._serves_resources():
                result = {**result, "capabilities": {k: v for k, v in capabilities.items() if k != "resources"}}
        return result

    async def _serves_resources(self) -> bool:
        if self._has_resources is None:  # registered at build time: ask once
            server = self._server
            self._has_resources = bool(await server.list_resources() or await server.list_resource_templates())
        return self._has_resources


async def _resource_not_found_code(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    try:
        return await call_next(ctx)
    except MCPError as exc:
        not_found = exc.code == INVALID_PARAMS and isinstance(exc.data, dict) and "uri" in exc.data
        if not_found and ctx.protocol_version in HANDSHAKE_PROTOCOL_VERSIONS:
            raise MCPError(code=RESOURCE_NOT_FOUND, message=exc.message, data=exc.data) from None
        raise
