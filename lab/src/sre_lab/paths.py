"""Where the embedded lab keeps its data."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def data_dir() -> Path:
    """The lab data directory: SRE_LAB_DATA_DIR, else .lab/data under the current directory."""
    return Path(os.environ.get("SRE_LAB_DATA_DIR", ".lab/data"))


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
