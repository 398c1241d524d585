"""Open a store or model in the background while the server already answers.

A lifespan opens its slow dependencies (a chDB directory, a ClickHouse or Chroma client, an embedding model)
with `open_in_background`: the opener runs in a worker thread inside the lifespan's task group, and the
lifespan yields at once, so `initialize` and `tools/list` never wait for it. Each tool call awaits `get()`:

- while the first opening runs, the call waits for it up to `wait_s`, then says it is still opening;
- if the opening failed, the call raises `StoreUnavailableError` with the opener's message (an
  `UnavailableError` or `ConfigError` names what to fix; anything else is logged and summarized), and the
  next call tries to open it again (a database that was not up yet when the server started);
- on exit the value is closed in a worker thread, after any opening still in flight has finished.

    @asynccontextmanager
    async def lifespan(_: MCPServer[AppContext]) -> AsyncIterator[AppContext]:
        async with open_in_background("the log store", partial(LogStore.open, settings), close=LogStore.close) as store:
            yield AppContext(settings=settings, store=store, clock=clock)

The opener must bound its own I/O (connect timeouts): a thread cannot be cancelled, so a retry waits for it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Generic, TypeVar

import anyio
import anyio.to_thread

from mcp_common.errors import ConfigError, StoreUnavailableError, UnavailableError

logger = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_WAIT_S = 30.0
"""How long a call waits for the first opening before it answers "still opening"."""


class Background(Generic[T]):
    """A value (store, client, model) that opens in a worker thread; `get()` waits for it with a deadline."""

    def __init__(
        self,
        what: str,
        opener: Callable[[], T],
        *,
        close: Callable[[T], object] | None = None,
        wait_s: float = DEFAULT_WAIT_S,
    ) -> None:
        self.what = what
        self._opener = opener
        self._close = close
        self._wait_s = wait_s
        self._value: T | None = None
        self._problem: str | None = None  # why the last opening failed
        self._attempts = 0
        self._closed = False
        self._opened = anyio.Event()  # set once the first opening is over, either way
        self._lock = anyio.Lock()  # one opening (or the close) at a time

    @classmethod
    def ready(cls, value: T, what: str = "the store") -> Background[T]:
        """An already-open value (a test's store): `get()` returns it; nothing opens or closes it."""
        opened = cls(what, lambda: value)
        opened._value = value
        opened._opened.set()
        return opened

    @property
    def value(self) -> T | None:
        """The open value, or None (for health checks, which must not wait)."""
        return self._value

    @property
    def problem(self) -> str | None:
        """Why the last opening failed, or None (not failed, or open): for health checks, which must not wait."""
        return None if self._value is not None else self._problem

    async def get(self) -> T:
        """The open value; waits for the first opening (up to the deadline) and retries a failed one."""
        value = self._value
        if value is not None:
            return value
        with anyio.move_on_after(self._wait_s):
            await self._opened.wait()
        if not self._opened.is_set():
            raise StoreUnavailableError(f"{self.what} is still opening; retry in a few seconds")
        await self.open()
        if self._value is None:
            raise StoreUnavailableError(self._problem or f"{self.what} is not open")
        return self._value

    async def open(self) -> None:
        """Open the value unless it is open; one attempt at a time, shared by the calls that wait for it."""
        attempt = self._attempts
        async with self._lock:
            if self._closed or self._value is not None or (self._attempts != attempt and self._opened.is_set()):
                return  # open, or another call just tried: its outcome is this call's answer
            self._attempts += 1
            try:
                # Shielded: a half-opened store would leak if shutdown cancelled this wait; the thread
                # finishes anyway, so the close waits for it and then closes what it opened.
                with anyio.CancelScope(shield=True):
                    self._value = await anyio.to_thread.run_sync(self._opener)
                self._problem = None
                logger.info("%s is open", self.what)
            except (UnavailableError, ConfigError) as exc:
                self._problem = str(exc)
                logger.error("%s is unavailable: %s", self.what, exc)
            except Exception:
                self._problem = f"{self.what} failed to open; the server logged the details"
                logger.exception("opening %s failed", self.what)
            finally:
                self._opened.set()

    async def aclose(self) -> None:
        """Close the value (in a worker thread) once any opening in flight is over."""
        with anyio.CancelScope(shield=True):
            async with self._lock:
                value, self._value = self._value, None
                self._closed, self._problem = True, f"{self.what} is closed (the server is stopping)"
            if value is not None and self._close is not None:
                await anyio.to_thread.run_sync(self._close, value)


@asynccontextmanager
async def open_in_background(
    what: str,
    opener: Callable[[], T],
    *,
    close: Callable[[T], object] | None = None,
    wait_s: float = DEFAULT_WAIT_S,
) -> AsyncIterator[Background[T]]:
    """Start opening `what` in a worker thread and yield at once; close it when the block exits.

    `what` names it in messages ("the log store"); `close` receives the opened value; `wait_s` bounds how
    long a call waits for the first opening.
    """
    background = Background(what, opener, close=close, wait_s=wait_s)
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(background.open)
        try:
            yield background
        finally:
            await background.aclose()
