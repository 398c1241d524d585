"""`sre-lab investigate` through the CLI on a whole stack: what a person running the command sees."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from typer.testing import CliRunner

from sre_lab.cli import app
from sre_lab.investigate import Report

pytestmark = [pytest.mark.stack]
DRILL4 = "The payment gateway seems degraded."


# -- the agent driver when the API fails: the playbook finishes, the report says so (issue 14's 12 and 13) --


class _AnthropicRefusing(BaseHTTPRequestHandler):
    """Answers every request as the Messages API answers a bad key."""

    def do_POST(self) -> None:
        body = json.dumps(
            {"type": "error", "error": {"type": "authentication_error", "message": "invalid x-api-key"}}
        ).encode()
        self.send_response(401)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # quiet
        return


@pytest.fixture
def refusing_api() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _AnthropicRefusing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _cli_env(stack, base_url: str) -> dict[str, str]:
    env = {"ANTHROPIC_API_KEY": "sk-ant-not-a-key", "ANTHROPIC_BASE_URL": base_url}
    if stack.kind == "embedded":
        env["SRE_LAB_DATA_DIR"] = str(stack.data_dir)
    return env


@pytest.mark.parametrize("api", ["unreachable", "bad key"])
def test_12_13_agent_driver_falls_back_to_the_playbook_when_the_api_fails(stack, refusing_api: str, api: str) -> None:
    base_url = refusing_api if api == "bad key" else f"http://127.0.0.1:{_closed_port()}"
    stack_option = "embedded" if stack.kind == "embedded" else "docker"
    result = CliRunner().invoke(
        app,
        ["investigate", DRILL4, "--driver", "agent", "--stack", stack_option, "--format", "json"],
        env=_cli_env(stack, base_url),
    )
    assert result.exit_code == 0, result.output
    report = Report.model_validate_json(result.stdout)
    assert report.driver == "playbook" and len(report.notes) == 1
    why = "refused the request (401: invalid x-api-key)" if api == "bad key" else "Anthropic API is unreachable"
    assert why in report.notes[0] and "the playbook finished the investigation" in report.notes[0]
    assert "OOMKilled at the 512Mi memory limit" in report.synthesis.probable_root_cause, "a whole report"
    notes = [line for line in result.stderr.splitlines() if line.startswith("note:")]
    assert len(notes) == 1 and why in notes[0]
    assert "Traceback" not in result.output
