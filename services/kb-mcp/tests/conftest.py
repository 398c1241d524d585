"""Fixtures: the real bundled model (loaded once per session), real embedded Chroma, the real runbooks.

The model's ONNX export is the machine's (`KB_MCP_ONNX_CACHE_DIR`, else `~/.cache/kb-mcp/onnx`): `make setup`
makes it once per machine, and a session that finds none makes it there (file-locked, so parallel sessions
wait for one export). Only the tests of the export itself (marked slow) export afresh, into caches of their
own. The same goes for embeddings: ingests go through the machine's embedding cache, so only text never
embedded on this machine costs model time. The full corpus is ingested once per session into a temporary store
that the read-only tests share; tests that write ingest a few runbooks into a store of their own.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp.server.mcpserver import MCPServer

from kb_mcp.config import KbSettings, cache_home, default_onnx_cache_dir
from kb_mcp.embed import Embedder
from kb_mcp.ingest import ingest_runbooks
from kb_mcp.models import IngestReport
from kb_mcp.server import create_server

RUNBOOKS = Path(__file__).resolve().parents[1] / "runbooks"
REAL = Path(__file__).resolve().parent / "fixtures" / "real"
MACHINE_EMBEDDING_CACHE = Path(os.environ.get("KB_MCP_EMBEDDING_CACHE_DIR") or cache_home() / "embeddings")
SMALL_CORPUS = ("pod-crash", "oom-jvm-heap", "db-connections")


@pytest.fixture(scope="session", autouse=True)
def cache_dirs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """The machine's ONNX cache and an empty corpus cache for the session, in the environment so that
    subprocesses and commands use them too (and no corpus copy lands in the user's ~/.cache)."""
    directories = {
        "KB_MCP_ONNX_CACHE_DIR": Path(os.environ.get("KB_MCP_ONNX_CACHE_DIR") or default_onnx_cache_dir()),
        "KB_MCP_CORPUS_CACHE_DIR": tmp_path_factory.mktemp("corpus-cache"),
    }
    previous = {name: os.environ.get(name) for name in directories}
    os.environ.update({name: str(path) for name, path in directories.items()})
    yield directories
    for name, value in previous.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def onnx_cache(cache_dirs: dict[str, Path]) -> Path:
    return cache_dirs["KB_MCP_ONNX_CACHE_DIR"]


@pytest.fixture(scope="session")
def corpus_cache_dir(cache_dirs: dict[str, Path]) -> Path:
    return cache_dirs["KB_MCP_CORPUS_CACHE_DIR"]


@pytest.fixture(scope="session")
def embedder(onnx_cache: Path) -> Embedder:
    """The bundled all-MiniLM-L6-v2 through ONNX Runtime (the machine's export), loaded once, one thread."""
    return Embedder.open(KbSettings(embed_threads=1, onnx_cache_dir=onnx_cache, embed_backend="onnx"))


def _settings(chroma: Path, **overrides: Any) -> KbSettings:
    """Settings for a test store; explicit values, so a KB_MCP_* variable in the environment cannot leak in."""
    values: dict[str, Any] = {
        "chroma_path": chroma,
        "chroma_url": None,
        "collection": "runbooks",
        "model_path": None,
        "model_name": None,
        "runbooks_dir": RUNBOOKS,
        "embed_backend": "onnx",
        "refresh_interval_s": 30.0,
        "audit_log": None,
        # The machine's embedding cache, like its ONNX export: what one session embedded, the next one reuses.
        # Tests of the cache itself pass a directory of their own.
        "embedding_cache_dir": MACHINE_EMBEDDING_CACHE,
    }
    return KbSettings(**{**values, **overrides})


@pytest.fixture(scope="session")
def seeded(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> tuple[KbSettings, IngestReport]:
    """The whole corpus ingested once into a session store (read-only tests only)."""
    settings = _settings(tmp_path_factory.mktemp("chroma-seeded"))
    return settings, ingest_runbooks(settings, embedder=embedder)


@pytest.fixture
def seeded_settings(seeded: tuple[KbSettings, IngestReport]) -> KbSettings:
    return seeded[0]


@pytest.fixture
def kb_server(seeded_settings: KbSettings, embedder: Embedder) -> MCPServer[Any]:
    """A kb-mcp server over the seeded store, sharing the session's model."""
    return create_server(seeded_settings, embedder=embedder)


@pytest.fixture
def small_corpus(tmp_path: Path) -> Path:
    """A copy of three real runbooks that a test may edit."""
    directory = tmp_path / "runbooks"
    directory.mkdir()
    for name in SMALL_CORPUS:
        shutil.copy(RUNBOOKS / f"{name}.md", directory / f"{name}.md")
    return directory


@pytest.fixture
def server_for(embedder: Embedder) -> Callable[..., MCPServer[Any]]:
    """Build a server for other settings, sharing the session's model."""

    def build(settings: KbSettings) -> MCPServer[Any]:
        return create_server(settings, embedder=embedder)

    return build


@pytest.fixture(scope="session")
def make_settings() -> Callable[..., KbSettings]:
    """Settings for a store directory, with overrides (fixtures, not imports: test dirs share module names)."""
    return _settings


@pytest.fixture(scope="session")
def runbook_ids() -> list[str]:
    """The ids of the runbook files in the repository."""
    return sorted(p.stem for p in RUNBOOKS.glob("*.md") if p.name.lower() != "readme.md")


@pytest.fixture(scope="session")
def runbooks_dir() -> Path:
    return RUNBOOKS


@pytest.fixture(scope="session")
def real_collections() -> Path:
    """Public runbook collections as published (see fixtures/real/SOURCE.md)."""
    return REAL
