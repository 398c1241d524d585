"""Where the lab lives: the checkout (compose.yaml), the embedded data directory, the compose secrets file.

Every path is absolute and does not depend on the directory `sre-lab` runs from: the checkout is found by
walking up from the current directory, so `sre-lab status` in `services/kb-mcp/` is the same lab as at the
root. Installed without a checkout (from PyPI), the embedded lab lives in the user's data directory and the
docker commands say where to run them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sre_lab.errors import LabError

HOME_VARIABLE = "SRE_LAB_HOME"
DATA_VARIABLE = "SRE_LAB_DATA_DIR"
_CHECKOUT_FILES = ("compose.yaml", "lab/pyproject.toml")


def is_checkout(path: Path) -> bool:
    """A directory holding the lab's repository (its compose.yaml and the lab package)."""
    return all((path / name).is_file() for name in _CHECKOUT_FILES)


def find_checkout(start: Path | None = None, env: Mapping[str, str] | None = None) -> Path | None:
    """SRE_LAB_HOME, else the nearest checkout at or above `start` (the current directory), else the
    checkout this package runs from (an editable install), else None."""
    env = os.environ if env is None else env
    if env.get(HOME_VARIABLE):
        return Path(env[HOME_VARIABLE]).expanduser().resolve()
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if is_checkout(candidate):
            return candidate
    installed = Path(__file__).resolve().parents[3]  # <checkout>/lab/src/sre_lab/paths.py
    return installed if is_checkout(installed) else None


def checkout(env: Mapping[str, str] | None = None) -> Path:
    """The checkout, or a `LabError` saying where to run the command."""
    found = find_checkout(env=env)
    if found is None:
        raise LabError(
            f"no lab checkout here or above {Path.cwd()}",
            f"run this inside the repository checkout (the folder with compose.yaml), or set {HOME_VARIABLE} to it",
        )
    if not is_checkout(found):
        raise LabError(f"{HOME_VARIABLE}={found} holds no compose.yaml and lab/", "point it at the repository checkout")
    return found


def data_dir(env: Mapping[str, str] | None = None) -> Path:
    """The embedded lab's data: SRE_LAB_DATA_DIR, else <checkout>/.lab/data, else the user's data directory."""
    env = os.environ if env is None else env
    if env.get(DATA_VARIABLE):
        return Path(env[DATA_VARIABLE]).expanduser().resolve()
    found = find_checkout(env=env)
    if found is not None:
        return found / ".lab" / "data"
    base = Path(env["XDG_DATA_HOME"]) if env.get("XDG_DATA_HOME") else Path.home() / ".local" / "share"
    return (base / "sre-lab" / "data").resolve()


def env_file(env: Mapping[str, str] | None = None) -> Path:
    """The compose lab's generated secrets and scenario clock (git-ignored)."""
    return checkout(env) / ".lab" / "lab.env"


def compose_file(env: Mapping[str, str] | None = None) -> Path:
    return checkout(env) / "compose.yaml"


@dataclass(frozen=True)
class EmbeddedStores:
    """The embedded lab's layout under one data directory: what the seeders write and the servers read."""

    root: Path

    @property
    def cluster(self) -> Path:
        return self.root / "cluster"

    @property
    def clickhouse(self) -> Path:
        return self.root / "clickhouse"

    @property
    def chroma(self) -> Path:
        return self.root / "chroma"

    @property
    def kb_corpus_cache(self) -> Path:
        """kb-mcp's local copy of the stored corpus (KB_MCP_CORPUS_CACHE_DIR): written by the seeding, read by
        every kb-mcp the lab or Claude Desktop starts, so they serve resources before Chroma is read."""
        return self.root / "kb-corpus-cache"

    @property
    def audit(self) -> Path:
        return self.root.parent / "audit"
