"""Blocking work (database drivers, the Kubernetes client, embeddings) off the event loop, with a deadline."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

import anyio
import anyio.to_thread

from mcp_common.errors import DeadlineExceededError

T = TypeVar("T")


async def run_blocking(func: Callable[..., T], *args: Any, timeout_s: float, what: str, **kwargs: Any) -> T:
    """Run `func` in a worker thread; raise a `DeadlineExceededError` if it takes longer than `timeout_s`.

    The thread itself cannot be killed, so callers also set a server-side limit (ClickHouse
    `max_execution_time`, Kubernetes `_request_timeout`); this is the wait-side half.
    """
    try:
        with anyio.fail_after(timeout_s):
            return await anyio.to_thread.run_sync(partial(func, *args, **kwargs), abandon_on_cancel=True)
    except TimeoutError:
        raise DeadlineExceededError(
            f"{what} timed out after {timeout_s:g} s; narrow the request and try again"
        ) from None
