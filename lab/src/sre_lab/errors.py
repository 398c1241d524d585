"""The CLI's expected failures, and the one handler every command goes through.

    Exception
    ├── LabError ................ expected: one line on stderr, what happened and what to do; exit status 1
    │   └── UsageError .......... the command line asks for something that cannot be done; exit status 2
    ├── known foreign errors .... a store locked or unreachable, a bad setting, a path that is a file or not
    │                             writable: `explain` turns each into a LabError (same one line, same exit)
    └── anything else ........... a bug: the traceback is printed (typer's), so it can be reported

The servers draw the same line (`mcp_common.errors`): the user's fault and an unavailable dependency get a
message a person can act on; only a bug shows a stack.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


class LabError(Exception):
    """An expected failure: `what` happened; `todo` says what to do about it."""

    exit_code = 1

    def __init__(self, what: str, todo: str | None = None, *, exit_code: int | None = None) -> None:
        super().__init__(what if todo is None else f"{what}: {todo}")
        self.what, self.todo = what, todo
        if exit_code is not None:
            self.exit_code = exit_code

    def line(self) -> str:
        """The one line the user sees."""
        text = self.what.rstrip(".") if self.todo is None else f"{self.what.rstrip('.')} — {self.todo}"
        return " ".join(text.split())  # one line, whatever the message held


class UsageError(LabError):
    """The command line asks for something that cannot be done (exit status 2, like click's usage errors)."""

    exit_code = 2


def explain(exc: BaseException) -> LabError | None:
    """The expected failure behind a foreign exception, or None when it is a bug."""
    # Imported here: each names a server package the CLI may not have loaded yet (start-up cost).
    from mcp_common.errors import ConfigError, UnavailableError

    if isinstance(exc, LabError):
        return exc
    if isinstance(exc, ConfigError | UnavailableError):
        return LabError(str(exc))
    if type(exc).__name__ == "StoreError" and type(exc).__module__.startswith("kb_mcp"):
        return LabError(str(exc), "check that Chroma is running (KB_MCP_CHROMA_URL) or unset it for the embedded store")
    if isinstance(exc, PermissionError):
        return LabError(f"permission denied: {exc.filename or exc}", "choose a path you can write, or fix its owner")
    if isinstance(exc, IsADirectoryError):
        return LabError(f"{exc.filename} is a directory", "give the path of a file")
    if isinstance(exc, NotADirectoryError):
        return LabError(f"{exc.filename} is not a directory", "give the path of a directory")
    if isinstance(exc, FileExistsError):
        return LabError(str(exc))
    if isinstance(exc, OSError) and exc.filename:
        return LabError(f"{exc.strerror or exc}: {exc.filename}")
    return None


def fail(error: LabError) -> None:
    """Print the one line and exit with the error's status."""
    sys.stderr.write(f"sre-lab: error: {error.line()}\n")
    sys.stderr.flush()
    raise SystemExit(error.exit_code)


def handled(function: F) -> F:
    """Run a command; an expected failure ends in its one line and exit status, a bug in its traceback."""

    @functools.wraps(function)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit, KeyboardInterrupt):
            raise
        except Exception as exc:
            error = explain(exc)
            if error is None:
                raise
            fail(error)

    return run  # type: ignore[return-value]
