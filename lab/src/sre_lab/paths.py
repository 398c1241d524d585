"""Where the embedded lab keeps its data."""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    """The lab data directory: SRE_LAB_DATA_DIR, else .lab/data under the current directory."""
    return Path(os.environ.get("SRE_LAB_DATA_DIR", ".lab/data"))
