"""Changes a write tool makes: recorded before they happen, and after, whatever happens in between.

    async with audited_effect("scale", {"namespace": ns, "deployment": name, "from": 3, "to": 5}):
        await run_blocking(cluster.scale, ns, name, 5, timeout_s=timeout, what="scale")

1. **Intent first.** Entering writes an `intent` line and waits for it to be on stable storage (fsync), in a
   worker thread. If it cannot be written (no audit log configured, disk full, I/O error), the block never
   runs: `AuditUnavailableError` (a `ToolError`, so the client reads why) is raised and nothing changes.
   A client cancellation that arrives before the intent is durable also stops the change.
2. **The change runs to its end.** The block is shielded from the client's cancellation (a cancelled request
   must not leave a change half-observed): it finishes, fails, or hits its own deadline (give blocking calls
   a `timeout_s`; the whole block is bounded by `max_duration_s`). The cancellation is delivered after.
3. **Outcome always.** Leaving writes an `effect` line with the same `effect` id: `done`, `failed` (with the
   error, redacted), `timed_out` (the change may still complete: check the target) or `refused` (a
   `ToolError` raised inside the block). If that line cannot be written, the error is logged and counted;
   `audit verify` then reports the intent as having no outcome.

The block must hold the change and nothing else: a preview or a token check goes before it. Only a tool
called through the guard (every tool of a server built by `factory.new_server`) has an audit log to use.
"""

from __future__ import annotations

import contextvars
import logging
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from types import TracebackType
from typing import Any

import anyio
import anyio.lowlevel
import anyio.to_thread

from mcp_common import redaction
from mcp_common.audit import AuditLog, AuditWriteError
from mcp_common.errors import AuditUnavailableError, DeadlineExceededError, ToolError

__all__ = ["AuditedEffect", "CallContext", "audited_effect", "current_call"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CallContext:
    """The guarded call in progress: set by the guard for the duration of every tool call."""

    audit: AuditLog
    server: str
    tool: str
    client: str


_CURRENT_CALL: contextvars.ContextVar[CallContext | None] = contextvars.ContextVar("mcp_common_call", default=None)


def current_call() -> CallContext | None:
    """The guarded call this code runs in, or None outside one."""
    return _CURRENT_CALL.get()


def enter_call(call: CallContext) -> contextvars.Token[CallContext | None]:
    """Mark the current task as running `call` (the guard does this); pass the token to `leave_call`."""
    return _CURRENT_CALL.set(call)


def leave_call(token: contextvars.Token[CallContext | None]) -> None:
    """Undo `enter_call`."""
    _CURRENT_CALL.reset(token)


def audited_effect(
    action: str, details: Mapping[str, Any], *, max_duration_s: float = 120.0, call: CallContext | None = None
) -> AuditedEffect:
    """An async context manager that records the change `action` (with `details`, redacted) around its block.

    `call` defaults to the guarded call in progress; see the module docstring for the guarantees.
    """
    return AuditedEffect(action, details, max_duration_s=max_duration_s, call=call)


class AuditedEffect:
    """See `audited_effect`. `id` is the effect's id, shared by its intent and outcome lines."""

    def __init__(
        self, action: str, details: Mapping[str, Any], *, max_duration_s: float, call: CallContext | None
    ) -> None:
        self.action = action
        self.details = redaction.redact(dict(details))
        self.id = uuid.uuid4().hex[:16]
        self._call = call
        self._shield: anyio.CancelScope | None = None
        self._max_duration_s = max_duration_s
        self._started = 0.0

    def _fields(self, call: CallContext, **extra: Any) -> dict[str, Any]:
        return {
            "server": call.server,
            "tool": call.tool,
            "client": call.client,
            "effect": self.id,
            "action": {"name": self.action, **self.details},
            **extra,
        }

    async def __aenter__(self) -> AuditedEffect:
        call = self._call or current_call()
        if call is None:
            raise RuntimeError("audited_effect used outside a guarded tool call; pass call=")
        self._call = call
        if not call.audit.enabled:
            raise AuditUnavailableError(
                f"refused: this server records every change in its audit log and has none; set {call.audit.variable}"
            )
        await anyio.lowlevel.checkpoint()  # a request cancelled before now changes nothing
        with anyio.CancelScope(shield=True):
            try:
                await anyio.to_thread.run_sync(
                    partial(call.audit.record_event, "intent", self._fields(call), durable=True)
                )
            except AuditWriteError as exc:
                raise AuditUnavailableError(f"refused: the change was not made: {exc}") from None
        self._started = time.perf_counter()
        try:
            await anyio.lowlevel.checkpoint_if_cancelled()
        except BaseException:
            self._record_outcome("cancelled", "cancelled before the change started")
            raise
        self._shield = anyio.CancelScope(shield=True, deadline=anyio.current_time() + self._max_duration_s)
        self._shield.__enter__()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        assert self._shield is not None
        suppressed = self._shield.__exit__(exc_type, exc, tb)
        if suppressed or (exc is not None and self._shield.cancelled_caught):
            self._record_outcome("timed_out", f"took longer than {self._max_duration_s:g} s; the change may complete")
            raise ToolError(
                f"{self.action} did not finish within {self._max_duration_s:g} s; it may still complete: "
                "check the target's state before retrying"
            ) from None
        if exc is None:
            self._record_outcome("done")
        elif _is_timeout(exc):
            self._record_outcome("timed_out", f"{redaction.redact_text(str(exc))}; the change may still complete")
        elif isinstance(exc, ToolError):
            self._record_outcome("refused", redaction.redact_text(str(exc)))
        elif isinstance(exc, Exception):
            self._record_outcome("failed", f"{type(exc).__name__}: {redaction.redact_text(str(exc))[:500]}")
        else:
            self._record_outcome("cancelled", type(exc).__name__)
        return False

    def _record_outcome(self, outcome: str, detail: str | None = None) -> None:
        assert self._call is not None
        fields = self._fields(self._call, outcome=outcome, duration_ms=round(self._elapsed_ms(), 3))
        if detail:
            fields["detail"] = detail
        try:
            self._call.audit.record_event("effect", fields)
        except AuditWriteError:
            # The intent is on disk; verify will report it as a change without an outcome.
            logger.exception(
                "effect %s (%s) %s, but its outcome line could not be written", self.id, self.action, outcome
            )

    def _elapsed_ms(self) -> float:
        return (time.perf_counter() - self._started) * 1000 if self._started else 0.0


def _is_timeout(exc: BaseException) -> bool:
    return isinstance(exc, TimeoutError | DeadlineExceededError)
