"""The stack the cross-service scenarios run against (`--stack embedded|compose`)."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime

import anyio
import pytest

from sre_lab.bringup import bring_up
from sre_lab.docker import CLOCK_KEY, read_env_file
from sre_lab.paths import env_file
from sre_lab.stack import ComposeStack, EmbeddedStack

TEST_LOG_ROWS = 60_000  # enough traffic around the incident; the lab default is millions


@pytest.fixture(scope="session")
def stack(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> EmbeddedStack | ComposeStack:
    if request.config.getoption("--stack") == "compose":
        docker = shutil.which("docker")
        running = (
            docker
            and subprocess.run(
                [docker, "ps", "--filter", "name=sre-lab-k8s-mcp", "--format", "{{.Names}}"],
                capture_output=True,
                text=True,
                check=False,
            ).stdout.strip()
        )
        if not running:
            pytest.fail("--stack compose needs the compose lab running: `sre-lab up --docker` first")
        environment = env_file()
        return ComposeStack(environment.parent / "logs", read_env_file(environment).get(CLOCK_KEY))
    root = tmp_path_factory.mktemp("lab") / "data"
    now = datetime.now(UTC)
    anyio.run(lambda: bring_up(root, now, rows=TEST_LOG_ROWS, check_servers=False))
    return EmbeddedStack(root)
