"""The CLI's expected failures, and the one handler every command goes through.

    Exception
    ├── LabError ................ expected: one line on stderr, what happened and what to do; exit status 1
    │   └── UsageError .......... the command line asks for something that cannot be done (a bad --now, a path
    │                             option naming a file where a directory goes): exit status 2, like click's
    ├── known foreign errors .... a store locked or unreachable, a bad setting, a path that is a file or not
    │                             writable: `explain` turns each into a LabError (same one line, same exit)
    ├── ExceptionGroup .......... what an anyio task group raises around its tasks' errors (the MCP clients
    │                             of `investigate` and `up` run in task groups): explained as its first
    │                             expected failure when every error inside is expected, else a bug
    └── anything else ........... a bug: the traceback is printed (typer's), so it can be reported

The servers draw the same line (`mcp_common.errors`): the user's fault and an unavailable dependency get a
message a person can act on; only a bug shows a stack.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import typer

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
    from mcp_common.errors import ConfigError, UnavailableError  # noqa: PLC0415 - they import the MCP SDK (a second)

    if isinstance(exc, LabError):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        # A task group wraps the error that ended it (e.g. logs-mcp could not open its store while the
        # k8s-mcp client was open): the user's one line is inside. One unexplained error makes it a bug.
        explained = [explain(leaf) for leaf in leaves(exc)]
        return explained[0] if explained and None not in explained else None
    if isinstance(exc, ConfigError | UnavailableError):
        return LabError(str(exc))
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


@contextmanager
def advised(todo: str) -> Iterator[None]:
    """An expected failure inside that says no remedy gets `todo`; a bug stays a bug."""
    try:
        yield
    except Exception as exc:
        error = explain(exc)
        if error is None or error.todo is not None:
            raise
        raise LabError(error.what, todo, exit_code=error.exit_code) from exc


@contextmanager
def option_value(option: str, value: object, todo: str) -> Iterator[None]:
    """What `option` named (`value`) cannot be used: an expected failure inside is the command line's (exit
    status 2), names the option and its value, and says what to give instead (`todo`, unless it says already)."""
    try:
        yield
    except Exception as exc:
        error = explain(exc)
        if error is None:
            raise
        # the system's reason, not the name of a scratch file made next to the value
        reason = (
            exc.strerror.lower() if isinstance(exc, OSError) and exc.strerror else error.what.removeprefix(f"{value} ")
        )
        raise UsageError(f"{option} {value}: {reason}", error.todo or todo) from exc


def leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    """The errors inside `group` (and inside any group nested in it), in order."""
    found: list[BaseException] = []
    for inner in group.exceptions:
        found.extend(leaves(inner) if isinstance(inner, BaseExceptionGroup) else [inner])
    return found


def fail(error: LabError) -> None:
    """Print the one line and exit with the error's status."""
    sys.stderr.write(f"sre-lab: error: {error.line()}\n")
    sys.stderr.flush()
    raise SystemExit(error.exit_code)


# typer's exit, abort and usage errors: classes of typer's own (it no longer uses the click package's)
_TYPER_OWN = (typer.Exit, typer.Abort, typer.TyperException)


def handled(function: F) -> F:
    """Run a command; an expected failure ends in its one line and exit status, a bug in its traceback."""

    @functools.wraps(function)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except (*_TYPER_OWN, SystemExit, KeyboardInterrupt):
            raise
        except ExceptionGroup as group:
            # typer's own exits and usage errors keep their meaning when a task group carried them
            own = [leaf for leaf in leaves(group) if isinstance(leaf, _TYPER_OWN)]
            if own:
                raise own[0] from None
            error = explain(group)
            if error is None:
                raise
            fail(error)
        except Exception as exc:
            error = explain(exc)
            if error is None:
                raise
            fail(error)

    return run  # type: ignore[return-value]
