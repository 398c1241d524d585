"""Native Windows: no server module imports a POSIX-only module at import time (issue 15).

`import fcntl` at the top of one shared module made every server fail to start on Windows. The portable lock
is `mcp_common.filelock` (flock on POSIX, msvcrt on Windows); anything POSIX-only must sit behind a platform
branch or inside the function that needs it, with a comment saying why.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
POSIX_ONLY = {"fcntl", "termios", "pwd", "grp", "resource", "posix"}


def module_level_imports(tree: ast.Module) -> list[tuple[int, str]]:
    found = []
    for node in tree.body:  # top level only: imports inside functions or `if sys.platform` branches are fine
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module.split(".")[0]))
    return found


def test_no_server_module_imports_a_posix_only_module_at_import_time() -> None:
    sources = [*ROOT.glob("packages/*/src/**/*.py"), *ROOT.glob("services/*/src/**/*.py")]
    assert len(sources) > 30
    offenders = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in sources
        for line, name in module_level_imports(ast.parse(path.read_text(encoding="utf-8")))
        if name in POSIX_ONLY
    ]
    assert offenders == []
