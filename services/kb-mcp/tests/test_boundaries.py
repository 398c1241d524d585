"""Where the boundary is the subject: a `chroma run` server over HTTP, the stdio subprocess, the command line."""

from __future__ import annotations

import gc
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import httpx2
import pytest
from chromadb.api.client import SharedSystemClient
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from kb_mcp.__main__ import main
from kb_mcp.config import KbSettings
from kb_mcp.ingest import ingest_runbooks
from kb_mcp.store import RunbookStore
from mcp_common.errors import StoreUnavailableError

pytestmark = pytest.mark.slow  # the real model and Chroma

BIN = Path(sys.executable).parent
HEARTBEAT_WAIT_S = 60.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# chromadb's HttpClient (1.5) builds a System that client.close() never releases, and its httpx connection pool
# is never closed: the sockets are reported when it is garbage collected. `http_pools_released` drops and collects
# it inside the test, so this filter applies there instead of noise at interpreter exit.
CHROMA_POOL_LEAK = "ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning"


@pytest.fixture
def http_pools_released() -> Iterator[None]:
    yield
    SharedSystemClient.clear_system_cache()  # every client of the test is closed by now
    gc.collect()


@pytest.fixture
def chroma_server(tmp_path: Path) -> Iterator[str]:
    """`chroma run` on a free local port; its URL once the heartbeat answers. Killed afterwards."""
    port = _free_port()
    log = (tmp_path / "chroma.log").open("wb")
    process = subprocess.Popen(
        [
            str(BIN / "chroma"),
            "run",
            "--path",
            str(tmp_path / "chroma-data"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + HEARTBEAT_WAIT_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"chroma run exited with {process.returncode}: {(tmp_path / 'chroma.log').read_text()}")
            try:
                if httpx.get(f"{url}/api/v2/heartbeat", timeout=1.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"chroma run did not answer its heartbeat within {HEARTBEAT_WAIT_S:g} s")
            time.sleep(0.1)  # polling another process's start-up: there is no clock to inject
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.mark.anyio
@pytest.mark.filterwarnings(CHROMA_POOL_LEAK)
async def test_against_a_chroma_server(
    chroma_server, http_pools_released, tmp_path, make_settings, small_corpus, embedder, server_for
) -> None:
    settings = make_settings(tmp_path / "unused-local-path", chroma_url=chroma_server)
    first = ingest_runbooks(settings, small_corpus, embedder=embedder)
    again = ingest_runbooks(settings, small_corpus, embedder=embedder)
    assert first.location == chroma_server and first.added == first.sections
    assert again.unchanged == first.sections and not again.changed
    assert not (tmp_path / "unused-local-path").exists(), "with a URL, nothing is stored locally"

    async with Client(server_for(settings)) as client:
        result = await client.call_tool("search_runbooks", {"query": "FATAL: sorry, too many clients already"})
        listed = (await client.list_resources()).resources
        text = (await client.read_resource("runbook://oom-jvm-heap/symptoms")).contents[0].text
    assert not result.is_error, result.content[0].text
    assert result.structured_content["hits"][0]["runbook_id"] == "db-connections"
    assert sorted(str(r.uri) for r in listed) == [
        "runbook://db-connections",
        "runbook://oom-jvm-heap",
        "runbook://pod-crash",
    ]
    assert "java.lang.OutOfMemoryError: Java heap space" in text


@pytest.mark.filterwarnings(CHROMA_POOL_LEAK)
def test_an_unreachable_chroma_server_is_reported_naming_the_variable(make_settings, tmp_path, http_pools_released):
    settings = make_settings(tmp_path, chroma_url=f"http://127.0.0.1:{_free_port()}")
    with pytest.raises(
        StoreUnavailableError,
        match=r"cannot reach the Chroma server at http://127\.0\.0\.1:\d+ \(KB_MCP_CHROMA_URL\)",
    ):
        RunbookStore.open(settings)


@pytest.mark.anyio
async def test_stdio_subprocess_serves_at_once_and_searches_once_the_model_is_loaded(seeded_settings) -> None:
    env = {
        **os.environ,
        "KB_MCP_CHROMA_PATH": str(seeded_settings.chroma_path),
        "KB_MCP_CHROMA_URL": "",
        "KB_MCP_LOG_LEVEL": "WARNING",
    }
    params = StdioServerParameters(command=str(BIN / "kb-mcp"), args=[], env=env)
    async with Client(params) as client:
        tools = (await client.list_tools()).tools
        resources = (await client.list_resources()).resources
        text = (await client.read_resource("runbook://pod-crash")).contents[0].text
        result = await client.call_tool("search_runbooks", {"query": "pods keep restarting out of memory"})
    assert {t.name for t in tools} == {"search_runbooks", "find_runbooks_for_error", "ask_knowledge_base"}
    assert len(resources) >= 30 and text.startswith("---\nid: pod-crash")
    assert not result.is_error, result.content[0].text
    assert result.structured_content["hits"][0]["runbook_id"] in {"pod-crash", "oom-jvm-heap"}


@pytest.fixture
def root_logging() -> Iterator[None]:
    """main() configures logging on the root logger, as a command does; put it back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_ingest_command(tmp_path, small_corpus, monkeypatch, capsys, root_logging) -> None:
    monkeypatch.setenv("KB_MCP_CHROMA_PATH", str(tmp_path / "chroma"))
    monkeypatch.delenv("KB_MCP_CHROMA_URL", raising=False)
    assert main(["ingest", str(small_corpus)]) == 0
    assert main(["ingest", str(small_corpus)]) == 0
    summaries = capsys.readouterr().out.splitlines()
    assert "3 runbooks, 15 sections" in summaries[0] and "15 added" in summaries[0]
    assert "0 added, 0 updated, 15 unchanged, 0 removed" in summaries[1]


def test_ingest_command_skips_bad_files_and_fails_only_when_nothing_or_strict(
    tmp_path, small_corpus, monkeypatch, capsys, root_logging
) -> None:
    monkeypatch.setenv("KB_MCP_CHROMA_PATH", str(tmp_path / "chroma"))
    monkeypatch.delenv("KB_MCP_CHROMA_URL", raising=False)
    (small_corpus / "team" / "notes").mkdir(parents=True)
    (small_corpus / "team" / "notes" / "disk.md").write_text("# Disk full\n\nDelete old logs.\n")
    (small_corpus / "broken.md").write_text("---\ntitle: [unclosed\n---\n## A\nb\n")
    assert main(["ingest", "--strict", str(small_corpus)]) == 2
    assert "1 file(s) in" in capsys.readouterr().err
    assert RunbookStore.open(make_settings_for(tmp_path)).manifest() is None, "--strict wrote nothing"

    assert main(["ingest", str(small_corpus)]) == 0
    out = capsys.readouterr().out
    assert "4 runbooks" in out and "1 files skipped" in out
    assert "skipped broken.md: the front matter is not valid YAML" in out

    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "broken.md").write_text("---\ntitle: [unclosed\n---\n")
    assert main(["ingest", str(empty)]) == 2
    assert "no runbooks" in capsys.readouterr().err


def make_settings_for(tmp_path: Path):
    return KbSettings(chroma_path=tmp_path / "chroma", chroma_url=None)


def test_export_model_command_prints_the_export_and_is_idempotent(onnx_cache, embedder, capsys, root_logging):
    assert main(["export-model"]) == 0  # the session's export is already in the cache
    [printed] = capsys.readouterr().out.splitlines()
    directory = Path(printed)
    assert directory.parent == onnx_cache and (directory / "model.onnx").is_file()
    made = (directory / "model.onnx").stat().st_mtime_ns
    assert main(["export-model"]) == 0
    assert capsys.readouterr().out.strip() == printed
    assert (directory / "model.onnx").stat().st_mtime_ns == made


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("KB_MCP_EMBED_BACKEND", "torch", "KB_MCP_EMBED_BACKEND: Input should be 'onnx' or 'sentence-transformers'"),
        ("KB_MCP_INGEST_THREADS", "0", "KB_MCP_INGEST_THREADS: Input should be greater than or equal to 1"),
        ("KB_MCP_CHROMA_URL", "ftp://chroma:8000", "KB_MCP_CHROMA_URL: URL scheme should be 'http' or 'https'"),
        ("KB_MCP_MODEL_PATH", "/nonexistent/model", "KB_MCP_MODEL_PATH: Value error, /nonexistent/model is not"),
        ("KB_MCP_COLLECTION", "x", "KB_MCP_COLLECTION: String should match pattern"),
        ("KB_MCP_SEARCH_TIMEOUT_S", "soon", "KB_MCP_SEARCH_TIMEOUT_S: Input should be a valid number"),
    ],
)
def test_invalid_configuration_fails_at_start_naming_the_variable(monkeypatch, capsys, variable, value, expected):
    monkeypatch.setenv(variable, value)
    assert main([]) == 2
    assert expected in capsys.readouterr().err


def test_ingest_of_a_missing_directory_fails_clearly(tmp_path, monkeypatch, capsys, root_logging) -> None:
    monkeypatch.setenv("KB_MCP_CHROMA_PATH", str(tmp_path / "chroma"))
    assert main(["ingest", str(tmp_path / "nowhere")]) == 2
    assert f"runbooks folder {tmp_path / 'nowhere'} does not exist" in capsys.readouterr().err


KEY = "lab-key-0123456789abcdef"


@pytest.fixture(scope="module")
def http_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("http")


@pytest.fixture(scope="module")
def http_server(seeded, http_dir: Path, cache_dirs: dict[str, Path]) -> Iterator[str]:
    """`kb-mcp --transport http` over the seeded store, with one API key; its base URL once /healthz is ok."""
    seeded_settings, tmp_path = seeded[0], http_dir
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_MCP_")}
    env |= {name: str(path) for name, path in cache_dirs.items()}  # the session's caches, not the user's
    env |= {
        "KB_MCP_CHROMA_PATH": str(seeded_settings.chroma_path),
        "KB_MCP_API_KEYS": f"claude:{KEY}",
        "KB_MCP_AUDIT_LOG": str(tmp_path / "audit.jsonl"),
    }
    log = (tmp_path / "server.log").open("w")
    command = [str(BIN / "kb-mcp"), "--transport", "http", "--port", str(port)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + HEARTBEAT_WAIT_S
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"kb-mcp did not become healthy: {(tmp_path / 'server.log').read_text()}")
            time.sleep(0.1)  # polling a real process for readiness, not waiting on behaviour
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


def test_http_without_a_key_is_401_and_health_is_open(http_server: str) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    headers = {"Accept": "application/json, text/event-stream"}
    assert httpx.post(f"{http_server}/mcp", json=body, headers=headers).status_code == 401
    assert httpx.get(f"{http_server}/healthz").json() == {"status": "ok"}


@pytest.mark.anyio
async def test_http_with_the_key_serves_resources_and_tools(http_server: str, http_dir: Path) -> None:
    async with (
        httpx2.AsyncClient(headers={"Authorization": f"Bearer {KEY}"}, timeout=120) as http,
        Client(streamable_http_client(f"{http_server}/mcp", http_client=http)) as client,
    ):
        text = (await client.read_resource("runbook://certificate-expiry/mitigation")).contents[0].text
        result = await client.call_tool("find_runbooks_for_error", {"error_text": "x509: certificate has expired"})
    assert "## Mitigation" in text
    assert not result.is_error and result.structured_content["matches"][0]["runbook_id"] == "certificate-expiry"
    audit = (http_dir / "audit.jsonl").read_text()
    assert '"client":"claude"' in audit and KEY not in audit
