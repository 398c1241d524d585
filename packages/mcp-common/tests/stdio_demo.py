"""The demo server on stdio, as a subprocess for the transport tests (run with the tests directory on sys.path)."""

import sys
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).parent))

from conftest import build_demo
from mcp_common.stdio import serve_stdio

if __name__ == "__main__":
    anyio.run(serve_stdio, build_demo(None))
