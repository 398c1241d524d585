"""The embedded lab's state file: the mark that a data directory is the lab's, and the scenario clock.

`<data dir>/lab.json` is written before anything else goes into the directory and updated as each store is
seeded::

    {"format": "sre-lab-data/v1", "scenario_now": "2026-11-26T14:23:30Z", "seed": 7,
     "stores": {"cluster": {"seeded_at": "...", "scenario_now": "...", "counts": {"pods": 19, ...}},
                "logs": {...}, "runbooks": {...}}}

`scenario_now` is the incident's "now": every server of the lab answers relative to it (logs-mcp through
LOGS_MCP_FIXED_NOW, k8s-mcp through the snapshot's `captured_at`) until the lab is seeded again, so a lab
seeded last week investigates exactly like a fresh one. `sre-lab down --volumes` deletes only a directory
that carries this file: a folder the lab did not create is never removed.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field, ValidationError

from sre_lab.errors import LabError

MARKER = "lab.json"
FORMAT: Literal["sre-lab-data/v1"] = "sre-lab-data/v1"
StoreName = Literal["cluster", "logs", "runbooks"]


class StoreRecord(BaseModel):
    """One seeded store: when, as of which scenario clock, and what it holds."""

    seeded_at: AwareDatetime
    scenario_now: AwareDatetime | None = None  # None for a store with no notion of time (runbooks)
    counts: dict[str, int] = {}


class LabState(BaseModel):
    format: Literal["sre-lab-data/v1"] = FORMAT
    scenario_now: AwareDatetime | None = Field(default=None, description="The incident's 'now'.")
    seed: int = 7
    stores: dict[StoreName, StoreRecord] = {}

    def clock_text(self) -> str | None:
        """The scenario clock as the servers take it (ISO, Z)."""
        return iso(self.scenario_now) if self.scenario_now else None

    def stale_stores(self) -> list[str]:
        """Stores seeded at another scenario clock than the lab's (a partial re-seed with --now)."""
        return [
            name
            for name, record in self.stores.items()
            if record.scenario_now is not None and record.scenario_now != self.scenario_now
        ]


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def read_state(root: Path) -> LabState | None:
    """The lab's state, or None when `root` holds no lab (no marker)."""
    path = root / MARKER
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        return LabState.model_validate_json(text)
    except ValidationError:
        raise LabError(
            f"{path} is not a lab state file this sre-lab can read",
            "seed the lab again (`sre-lab up --embedded`), or move the file away",
        ) from None


def claim(root: Path) -> LabState:
    """Make `root` the lab's data directory (created if missing) and return its state.

    Refuses a non-empty directory without the marker: it is someone else's, and seeding or `down --volumes`
    would replace what is in it.
    """
    state = read_state(root) if root.is_dir() else None
    if state is not None:
        return state
    if root.exists() and not root.is_dir():
        raise LabError(f"the lab data directory {root} is a file", "set SRE_LAB_DATA_DIR to a directory")
    if root.is_dir() and any(root.iterdir()) and not _earlier_lab(root):
        raise LabError(
            f"{root} is not empty and was not created by sre-lab (no {MARKER})",
            "set SRE_LAB_DATA_DIR to a new or empty directory",
        )
    root.mkdir(parents=True, exist_ok=True)
    state = LabState()
    write_state(root, state)
    return state


def _earlier_lab(root: Path) -> bool:
    """A data directory an sre-lab without the marker seeded: only the lab's own entries, and its snapshot."""
    known = {"cluster", "clickhouse", "chroma", "kb-corpus-cache"}
    names = {entry.name for entry in root.iterdir() if not entry.name.startswith(".")}
    try:
        manifest = json.loads((root / "cluster" / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return names <= known and isinstance(manifest, dict) and manifest.get("source") == "sre-lab seed cluster"


def write_state(root: Path, state: LabState) -> None:
    """Replace the state file atomically."""
    body = json.dumps(state.model_dump(mode="json"), indent=2, sort_keys=True) + "\n"
    descriptor, temporary = tempfile.mkstemp(prefix=f".{MARKER}.", dir=root)
    with os.fdopen(descriptor, "w", encoding="utf-8") as fh:
        fh.write(body)
    os.replace(temporary, root / MARKER)


_RECORDING = threading.Lock()  # stores seeded at once (sre-lab up) record one after the other


def record_store(
    root: Path, store: StoreName, counts: dict[str, Any], scenario_now: datetime | None, seed: int | None = None
) -> LabState:
    """Note a freshly seeded store (and, for a store with a clock, set the lab's scenario clock to it)."""
    with _RECORDING:
        return _record(root, store, counts, scenario_now, seed)


def _record(
    root: Path, store: StoreName, counts: dict[str, Any], scenario_now: datetime | None, seed: int | None
) -> LabState:
    state = claim(root)
    state.stores[store] = StoreRecord(
        seeded_at=datetime.now(UTC), scenario_now=scenario_now, counts={k: int(v) for k, v in counts.items()}
    )
    if scenario_now is not None:
        state.scenario_now = scenario_now
    if seed is not None:
        state.seed = seed
    write_state(root, state)
    return state


def remove_lab(root: Path) -> bool:
    """Delete the lab's data directory; False when there is none. Refuses a directory without the marker."""
    if not root.exists():
        return False
    if not (root / MARKER).is_file():
        raise LabError(
            f"refusing to delete {root}: it was not created by sre-lab (no {MARKER})",
            "delete it yourself if you mean to, or point SRE_LAB_DATA_DIR at the lab's directory",
        )
    shutil.rmtree(root)
    return True
