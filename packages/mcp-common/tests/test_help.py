"""Every server's `--help` lists its environment variables, generated from its settings class."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Literal

import pytest
from pydantic import Field, SecretStr

from mcp_common.runner import environment_help, server_parser
from mcp_common.settings import ServerSettings, server_config


class DemoSettings(ServerSettings):
    model_config = server_config("DEMO_MCP_")

    cluster_url: str = Field(description="Where the cluster is.")
    mode: Literal["fast", "safe"] = Field(default="safe", description="How to run.")
    token: SecretStr = Field(default=SecretStr("hunter2-demo"), description="The API token.")


def test_environment_help_marks_required_lists_choices_and_hides_secrets() -> None:
    text = environment_help(DemoSettings)
    lines = {line.split()[0]: line for line in text.splitlines() if line.startswith("  DEMO_MCP_")}
    assert "DEMO_MCP_CLUSTER_URL *" in lines["DEMO_MCP_CLUSTER_URL"] and "Where the cluster is" in text
    assert "one of fast, safe; default: safe" in lines["DEMO_MCP_MODE"]
    assert "hunter2-demo" not in text and "DEMO_MCP_TOKEN" in lines
    assert {"DEMO_MCP_AUDIT_LOG", "DEMO_MCP_API_KEYS", "DEMO_MCP_RATE_LIMIT_PER_MINUTE"} <= set(lines)


def test_transport_help_names_the_real_variables() -> None:
    text = server_parser("demo-mcp", "demo", DemoSettings).format_help()
    assert "<PREFIX>" not in text and "DEMO_MCP_HTTP_HOST" in text and "DEMO_MCP_HTTP_PORT" in text


@pytest.mark.parametrize(
    ("server", "variable"), [("k8s-mcp", "K8S_MCP_"), ("logs-mcp", "LOGS_MCP_"), ("kb-mcp", "KB_MCP_")]
)
def test_each_server_help_lists_its_variables(server: str, variable: str) -> None:
    script = Path(sys.executable).parent / server
    command = str(script) if script.exists() else shutil.which(server)
    assert command, f"{server} is not installed"
    result = subprocess.run([command, "--help"], capture_output=True, text=True, check=True, timeout=60)
    assert "<PREFIX>" not in result.stdout
    assert f"{variable}AUDIT_LOG" in result.stdout and f"{variable}HTTP_PORT" in result.stdout
    assert "environment variables (* = required" in result.stdout
