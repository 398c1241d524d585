"""The stack the cross-service scenarios run against (`--stack embedded|compose`)."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime

import pytest

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
        return ComposeStack()
    from sre_lab import seeding
    from sre_lab.scenario import build_scenario

    root = tmp_path_factory.mktemp("lab") / "data"
    stores = seeding.EmbeddedStores(root)
    scenario = build_scenario(now=datetime.now(UTC))
    seeding.seed_cluster(scenario, stores.cluster)
    seeding.seed_logs(scenario, seeding.logs_settings(stores.clickhouse), rows=TEST_LOG_ROWS, progress=False)
    seeding.seed_runbooks(seeding.kb_settings(stores.chroma, corpus_cache_dir=stores.kb_corpus_cache))
    return EmbeddedStack(root, audit_dir=stores.audit)
