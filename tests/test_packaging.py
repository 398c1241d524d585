"""The distributions as a user gets them: wheels built from each package, their metadata, and each server
installed from those wheels into a fresh venv, outside the checkout, then run over MCP stdio.

"Resolving nothing from strangers": pip's resolution report (a dry run) must show every `sre-lab-*` distribution
coming from the wheels built here (our names are not on PyPI, and the packages pin each other exactly). The
installs themselves use uv, as `uvx` and most MCP clients' instructions do: the same resolution, minutes faster.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
import zipfile
from datetime import UTC, datetime
from email.parser import Parser
from pathlib import Path

import anyio
import pytest
from mcp import Client, StdioServerParameters

from sre_lab import seeding
from sre_lab.scenario import build_scenario

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {
    "sre-lab-mcp-common": ROOT / "packages" / "mcp-common",
    "sre-lab-k8s-mcp": ROOT / "services" / "k8s-mcp",
    "sre-lab-logs-mcp": ROOT / "services" / "logs-mcp",
    "sre-lab-kb-mcp": ROOT / "services" / "kb-mcp",
    "sre-lab": ROOT / "lab",
}
SERVERS = {"sre-lab-k8s-mcp": "k8s-mcp", "sre-lab-logs-mcp": "logs-mcp", "sre-lab-kb-mcp": "kb-mcp"}
A_TOOL = {"k8s-mcp": "list_pods", "logs-mcp": "search_logs", "kb-mcp": "search_runbooks"}


def project(name: str) -> dict:
    return tomllib.loads((PACKAGES[name] / "pyproject.toml").read_text())["project"]


def test_the_project_packages_pin_each_other_at_one_release() -> None:
    versions = {name: project(name)["version"] for name in PACKAGES}
    assert len(set(versions.values())) == 1, versions
    release = versions["sre-lab"]
    for name in PACKAGES:
        for requirement in project(name).get("dependencies", []) + [
            r for extra in project(name).get("optional-dependencies", {}).values() for r in extra
        ]:
            own = re.match(r"(sre-lab[a-z0-9-]*)(\[[a-z,]+\])?\s*(.*)", requirement)
            if own:
                assert own.group(3) == f"=={release}", f"{name} needs {requirement}: pin our own at =={release}"


@pytest.mark.parametrize("name", list(PACKAGES))
def test_every_package_has_complete_metadata_and_python_m_entry_points(name: str) -> None:
    meta = project(name)
    for field in ("description", "readme", "license", "license-files", "authors", "classifiers", "keywords"):
        assert meta.get(field), f"{name}: {field}"
    assert meta["license"] == "MIT" and (PACKAGES[name] / "LICENSE").read_text() == (ROOT / "LICENSE").read_text()
    assert (PACKAGES[name] / meta["readme"]).is_file()
    for script, target in meta.get("scripts", {}).items():
        module = target.split(":")[0].rsplit(".", 1)[0]
        main = PACKAGES[name] / "src" / Path(*module.split(".")) / "__main__.py"
        assert main.is_file(), f"{script}: `python -m {module}` needs {main.relative_to(ROOT)}"


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",  # setuptools from the dev venv (requirements-dev.txt): no download per package
            "--wheel-dir",
            str(dist),
            *map(str, PACKAGES.values()),
        ],
        check=True,
        capture_output=True,
    )
    return dist


@pytest.mark.slow
def test_the_wheels_carry_the_metadata_a_registry_shows(wheels: Path) -> None:
    built = {re.sub(r"-0\.1\.0-.*", "", w.name).replace("_", "-"): w for w in wheels.glob("*.whl")}
    assert set(built) == set(PACKAGES)
    for name, wheel in built.items():
        with zipfile.ZipFile(wheel) as archive:
            info = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
            metadata = Parser().parsestr(archive.read(info).decode())
            assert any(n.endswith(".dist-info/licenses/LICENSE") for n in archive.namelist()), name
        assert metadata["Name"] == name and metadata["License-Expression"] == "MIT"
        assert metadata["Description-Content-Type"] == "text/markdown" and len(metadata.get_payload()) > 200
        own = [r for r in metadata.get_all("Requires-Dist") or [] if r.startswith("sre-lab")]
        assert all("==0.1.0" in r for r in own), own


def outside_env() -> dict[str, str]:
    """The environment of a user's shell: not this venv's. uv verifies TLS with the system's roots (this machine
    reaches PyPI through a proxy whose CA only the system's bundle carries)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return env | {"UV_NATIVE_TLS": "1"}


@pytest.mark.slow
@pytest.mark.parametrize("distribution", list(SERVERS))
def test_each_server_resolves_from_the_wheels_and_nothing_of_ours_from_elsewhere(
    distribution: str, wheels: Path
) -> None:
    """pip's resolution of `pip install <server>` as a user's fresh venv would see it (--ignore-installed): where
    each distribution would come from, and what a server must not pull."""
    resolve = subprocess.run(
        [
            sys.executable, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet", "--report", "-",
            "--find-links", str(wheels), "--constraint", str(ROOT / "constraints.txt"), f"{distribution}==0.1.0",
        ],
        env=outside_env(), capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert resolve.returncode == 0, resolve.stderr[-3000:]
    report = json.loads(resolve.stdout)
    installed = {item["metadata"]["name"]: item["download_info"]["url"] for item in report["install"]}
    ours = {name: url for name, url in installed.items() if name.startswith("sre-lab")}
    assert set(ours) == {distribution, "sre-lab-mcp-common"}
    assert all(url.startswith(wheels.as_uri()) for url in ours.values()), ours
    assert "sre-lab" not in installed, "a server does not pull the lab"
    assert "torch" not in installed, "serving needs no torch (kb-mcp's export is its `export` extra)"
    if distribution == "sre-lab-logs-mcp":
        assert "chdb" not in installed, "chDB is the embedded extra"


@pytest.mark.slow
@pytest.mark.parametrize("distribution", list(SERVERS))
def test_each_server_installs_from_the_wheels_in_a_fresh_venv_and_serves_mcp(
    distribution: str, wheels: Path, tmp_path: Path
) -> None:
    """What `uv pip install sre-lab-k8s-mcp` (or pip, pipx) does for a user: no checkout, then the server runs."""
    outside = tmp_path / "user"
    outside.mkdir()
    uv = str(Path(sys.executable).parent / "uv")
    env = outside_env()
    python = outside / "venv" / "bin" / "python"
    subprocess.run([uv, "venv", "--no-config", "--quiet", "--python", sys.executable, str(outside / "venv")],
                   cwd=outside, env=env, check=True, capture_output=True)  # fmt: skip
    install = subprocess.run(
        [
            uv, "pip", "install", "--no-config", "--quiet", "--python", str(python), "--find-links", str(wheels),
            "--constraint", str(ROOT / "constraints.txt"), f"{distribution}==0.1.0",
        ],
        cwd=outside, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr[-3000:]
    listed = subprocess.run([uv, "pip", "list", "--no-config", "--python", str(python), "--format", "json"],
                            cwd=outside, env=env, capture_output=True, text=True, check=True)  # fmt: skip
    versions = {item["name"]: item["version"] for item in json.loads(listed.stdout)}
    assert versions[distribution] == versions["sre-lab-mcp-common"] == "0.1.0"
    assert "torch" not in versions and "sre-lab" not in versions
    command = SERVERS[distribution]
    module = command.replace("-", "_")
    for argv in ([str(python.parent / command)], [str(python), "-m", module]):

        async def tools(argv: list[str] = argv) -> list[str]:
            params = StdioServerParameters(
                command=argv[0], args=argv[1:], env=server_env(command, tmp_path), cwd=outside
            )
            async with Client(params) as client:
                return [tool.name for tool in (await client.list_tools()).tools]

        assert A_TOOL[command] in anyio.run(tools), argv


def server_env(command: str, tmp_path: Path) -> dict[str, str]:
    """Enough for each server to start: the incident's cluster snapshot for k8s-mcp; the other two open their
    stores in the background (unreachable here), which leaves tools/list answering."""
    prefix = command.split("-", maxsplit=1)[0].upper() + "_MCP_"
    env = {f"{prefix}AUDIT_LOG": str(tmp_path / "audit.jsonl"), "HF_HUB_OFFLINE": "1"}
    if command == "k8s-mcp":
        snapshot = tmp_path / "cluster"
        if not snapshot.exists():
            seeding.seed_cluster(build_scenario(now=datetime.now(UTC)), snapshot)
        env |= {"K8S_MCP_BACKEND": "snapshot", "K8S_MCP_SNAPSHOT_DIR": str(snapshot)}
    if command == "logs-mcp":
        env |= {"LOGS_MCP_CLICKHOUSE_URL": "http://127.0.0.1:9"}
    if command == "kb-mcp":
        env |= {"KB_MCP_CHROMA_PATH": str(tmp_path / "chroma")}
    return env


@pytest.mark.slow
def test_the_readme_one_liner_runs_a_server_from_the_wheels(wheels: Path, tmp_path: Path) -> None:
    """`uvx --find-links <wheels> --from sre-lab-k8s-mcp k8s-mcp`, as an MCP client starts it, outside the checkout."""
    argv = [
        str(Path(sys.executable).parent / "uvx"), "--no-config", "--python", sys.executable,
        "--find-links", str(wheels), "--from", "sre-lab-k8s-mcp==0.1.0", "k8s-mcp",
    ]  # fmt: skip
    env = server_env("k8s-mcp", tmp_path) | {"UV_NATIVE_TLS": "1"}  # uv: the system's TLS roots (see outside_env)
    if "SSL_CERT_FILE" in os.environ:
        env["SSL_CERT_FILE"] = os.environ["SSL_CERT_FILE"]

    async def tools() -> list[str]:
        async with Client(StdioServerParameters(command=argv[0], args=argv[1:], env=env, cwd=tmp_path)) as client:
            return [tool.name for tool in (await client.list_tools()).tools]

    assert "list_pods" in anyio.run(tools)
