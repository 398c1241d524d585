"""The one exception tree every server raises from, and what each branch becomes on the wire.

    Exception
    ├── ToolError (the SDK's) ............ the client reads the message: an `isError` tool result
    │   ├── InvalidArgumentError ......... the caller's fault: a value is malformed or out of range
    │   ├── NotFoundError ................ the caller's fault: names something that does not exist (lists what does)
    │   ├── NotAllowedError .............. the caller's fault: outside what this server may touch (lists what is)
    │   └── UnavailableError ............. not the caller's fault: a dependency cannot answer now; retrying may help
    │       ├── StoreUnavailableError .... the store or model did not open, or is unreachable (one class, every server)
    │       ├── DeadlineExceededError .... the dependency did not answer within the call's deadline
    │       └── AuditUnavailableError .... a change refused: its intent could not be audited (mcp_common.effects)
    ├── ResourceError (the SDK's) ........ a `resources/read` failure the client reads (-32603; not found: see below)
    │   └── ResourceNotFoundError ........ unknown resource: -32602, or -32002 up to protocol 2025-11-25
    ├── MCPError (the SDK's) ............. a JSON-RPC protocol error; `invalid_params()` builds the -32602 kind
    │                                      (unknown tool or prompt, bad prompt arguments: `mcp_common.protocol`)
    ├── ConfigError ...................... the configuration is invalid: start-up fails naming the variable;
    │                                      never reaches a client
    ├── OSError
    │   ├── AuditWriteError .............. an audit line could not be written (ENOSPC, EIO): counted and logged;
    │   │                                  a read call still answers, a change is refused (AuditUnavailableError)
    │   └── filelock.LockHeldError ....... another process holds a store's lock; the server turns it into
    │                                      StoreUnavailableError naming the holder (kept in `filelock`, which
    │                                      must import nothing heavy)
    └── anything else .................... a bug: logged with its traceback; the client gets `internal_error_message`

Exceptions that never reach a client stay beside the command that raises them and end as one line on stderr
with a non-zero exit: kb-mcp's `corpus.CorpusError`, `markdown.FrontMatterError` (ingest: a file skipped and
reported) and `onnx_model.ExportError` (the export); logs-mcp's `importer.ImportRefusedError` (an import that
would lose rows). The lab CLI has its own small tree under `sre_lab.errors.LabError`.

A plain `ToolError` is the caller's fault too (its kinds only make the reason explicit). `UnavailableError` is
also a `ResourceError`, so a resource that cannot reach its store says why instead of "internal error".
At start-up, `runner.serve` ends with the message of a `ConfigError` or an `UnavailableError` (exit status 2);
while serving, the guard turns the SDK's text for anything else into the short sanitized message, so no driver
text or stack trace crosses the wire.
"""

from __future__ import annotations

from collections.abc import Collection

from mcp.server.mcpserver.exceptions import ResourceError, ResourceNotFoundError, ToolError
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS

__all__ = [
    "AuditUnavailableError",
    "AuditWriteError",
    "ConfigError",
    "DeadlineExceededError",
    "InvalidArgumentError",
    "MCPError",
    "NotAllowedError",
    "NotFoundError",
    "ResourceError",
    "ResourceNotFoundError",
    "StoreUnavailableError",
    "ToolError",
    "UnavailableError",
    "internal_error_message",
    "invalid_params",
    "not_found",
]


class InvalidArgumentError(ToolError):
    """An argument is malformed or out of range; the message says what is expected."""


class NotFoundError(ToolError):
    """The call names something that does not exist; the message lists what does (see `not_found`)."""


class NotAllowedError(ToolError):
    """The call reaches outside what this server may touch; the message lists what is allowed."""


class UnavailableError(ToolError, ResourceError):
    """A dependency (database, cluster API, model) cannot answer now. Not the caller's fault; retrying may help."""


class StoreUnavailableError(UnavailableError):
    """The store or model could not be opened or reached; the message names the setting or the holder to fix.

    Raised at start-up (the server refuses to start, naming the problem) or per call (each call says why,
    and the next call tries to open it again: see `mcp_common.background`).
    """


class DeadlineExceededError(UnavailableError):
    """The dependency did not answer within the call's deadline; the message suggests narrowing the request."""


class AuditUnavailableError(UnavailableError):
    """A write tool's change was refused because its intent could not be written to the audit log (no log
    configured, disk full, I/O error); nothing changed. The message says why and what to set or free."""


class AuditWriteError(OSError):
    """An audit line could not be written (disk full, I/O error, ...); the message names the file and the cause."""


class ConfigError(Exception):
    """Configuration is invalid; the message names the environment variable and what is allowed."""


def internal_error_message(name: str) -> str:
    """What the client sees when a tool fails unexpectedly."""
    return f"internal error in {name}; the server logged the details. Retry, or report it if it persists."


def not_found(kind: str, name: str, available: Collection[str], *, limit: int = 20) -> NotFoundError:
    """A not-found error that lists what does exist (bounded), so the caller can correct itself."""
    shown = ", ".join(sorted(available)[:limit]) or "none"
    more = f" (+{len(available) - limit} more)" if len(available) > limit else ""
    return NotFoundError(f"{kind} '{name}' not found; available: {shown}{more}")


def invalid_params(message: str, data: object = None) -> MCPError:
    """A protocol error (-32602) carrying `message`: for prompts and unknown names, whose failures the SDK would
    otherwise reduce to 'Internal server error'."""
    return MCPError(code=INVALID_PARAMS, message=message, data=data)
