"""compose.yaml and the Dockerfiles, checked without a Docker engine: the official Compose schema, then the
lab's invariants (healthchecks, dependency conditions, pinned images, non-root users, no committed secrets)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from xml.etree import ElementTree

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "tests" / "fixtures" / "compose-spec.json"  # the official schema (source: fixtures/SOURCE.md)
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
LOCK = dict(line.split("==", 1) for line in (ROOT / "constraints.txt").read_text().splitlines() if "==" in line)
SERVICES = COMPOSE["services"]
MCP_SERVERS = ("k8s-mcp", "logs-mcp", "kb-mcp")
LONG_RUNNING = ("clickhouse", "chromadb", *MCP_SERVERS)


def test_compose_file_is_valid_against_the_official_schema() -> None:
    schema = json.loads(SCHEMA.read_text())
    errors = list(jsonschema.Draft7Validator(schema).iter_errors(COMPOSE))
    assert errors == [], [f"{list(e.absolute_path)}: {e.message}" for e in errors]


def test_every_long_running_service_has_a_healthcheck_or_an_image_healthcheck() -> None:
    for name in LONG_RUNNING:
        service = SERVICES[name]
        if "build" in service:
            assert re.search(r"^HEALTHCHECK\s(?!NONE)", dockerfile(name), re.M), f"{name}: Dockerfile HEALTHCHECK"
        else:
            assert service["healthcheck"]["test"], f"{name} has no healthcheck"


def test_dependencies_wait_for_health_and_for_the_seed() -> None:
    assert SERVICES["seed"]["depends_on"] == {
        "clickhouse": {"condition": "service_healthy"},
        "chromadb": {"condition": "service_healthy"},
    }
    for name in MCP_SERVERS:
        assert SERVICES[name]["depends_on"]["seed"] == {"condition": "service_completed_successfully"}
    assert SERVICES["logs-mcp"]["depends_on"]["clickhouse"] == {"condition": "service_healthy"}
    assert SERVICES["kb-mcp"]["depends_on"]["chromadb"] == {"condition": "service_healthy"}


def test_images_are_pinned() -> None:
    for name, service in SERVICES.items():
        image = service["image"]
        repository, _, tag = image.rpartition(":")
        assert repository and tag and tag != "latest", f"{name}: {image} is not pinned"
        assert re.search(r"\d+\.\d+", tag), f"{name}: {image} needs a version tag"
    for path in ROOT.glob("**/Dockerfile"):
        if ".venv" in path.parts:
            continue
        for base in re.findall(r"^FROM\s+(\S+)", path.read_text(), re.M):
            assert re.search(r":\d+\.\d+\.\d+", base), f"{path}: base image {base} is not pinned to a version"


def test_restart_policies_and_published_ports_stay_on_localhost() -> None:
    for name in LONG_RUNNING:
        assert SERVICES[name]["restart"] == "unless-stopped"
    assert SERVICES["seed"]["restart"] == "no"
    for name, service in SERVICES.items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond localhost"


def dockerfile(name: str) -> str:
    build = SERVICES[name]["build"]
    return (ROOT / build.get("context", ".") / build["dockerfile"]).read_text()


@pytest.mark.parametrize("name", ["seed", *MCP_SERVERS])
def test_dockerfiles_two_stages_non_root_nothing_fetched_at_run_time(name: str) -> None:
    text = dockerfile(name)
    stages = re.findall(r"^FROM\s", text, re.M)
    assert len(stages) >= 2, f"{name}: build and runtime stages"
    final = text[text.rindex("\nFROM ") :]
    user = re.findall(r"^USER\s+(\S+)", final, re.M)
    assert user and user[-1] not in {"root", "0"}, f"{name}: the final stage must run as a non-root user"
    assert "HEALTHCHECK" in final
    assert not re.search(r"apt-get install|\bcurl\b|\bwget\b|\bgcc\b", final), f"{name}: no build tools at run time"
    for install in re.findall(r"pip install[^\n]*", final):
        assert "--no-index" in install, f"{name}: the final stage installs only the built wheels, offline"


@pytest.mark.parametrize("name", ["seed", "kb-mcp"])
def test_images_that_embed_carry_the_onnx_export_made_at_build_time(name: str) -> None:
    """kb-mcp and the seed job embed with the model's ONNX export: made in the build stage, copied into the final
    stage and named by KB_MCP_ONNX_CACHE_DIR there, so nothing is exported (or written) at run time."""
    text = dockerfile(name)
    build, final = text[: text.rindex("\nFROM ")], text[text.rindex("\nFROM ") :]
    made = re.search(r"KB_MCP_ONNX_CACHE_DIR=(\S+) kb-mcp export-model", build)
    assert made, f"{name}: the build stage runs kb-mcp export-model"
    cache = made.group(1)
    assert re.search(rf"^COPY --from=(build|export) {re.escape(cache)} {re.escape(cache)}$", final, re.M)
    assert re.search(rf"^\s+KB_MCP_ONNX_CACHE_DIR={re.escape(cache)}\b", final, re.M)


def test_docker_exec_stdio_is_how_claude_desktop_reaches_the_containers() -> None:
    for name in MCP_SERVERS:
        service = SERVICES[name]
        assert service["container_name"] == f"sre-lab-{name}"
        assert "--transport" in dockerfile(name) and "http" in dockerfile(name)


def test_no_secrets_are_committed() -> None:
    text = (ROOT / "compose.yaml").read_text()
    for name, service in SERVICES.items():
        for key, value in (service.get("environment") or {}).items():
            if re.search(r"PASSWORD|API_KEYS|SECRET|TOKEN", key):
                assert re.fullmatch(r"\$\{[A-Z_]+:\?.+\}", str(value)), f"{name}.{key} must come from .lab/lab.env"
    assert "lab.env" in (ROOT / ".gitignore").read_text() or ".lab/" in (ROOT / ".gitignore").read_text()
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert not [f for f in tracked.splitlines() if f.endswith(".env")], "no env files are tracked"
    literal = re.findall(r"^\s*[A-Z_]*(?:PASSWORD|API_KEYS)[A-Z_]*:\s*(?!\$\{)(\S+)", text, re.M)
    assert literal == [], f"literal secrets in compose.yaml: {literal}"


def test_clickhouse_users_config_is_well_formed_and_read_only_for_the_server() -> None:
    tree = ElementTree.parse(ROOT / "services" / "clickhouse" / "users.d" / "lab-users.xml")
    reader = tree.find("users/logs_reader")
    assert reader is not None and reader.findtext("profile") == "mcp_readonly"
    assert reader.find("password").get("from_env") == "CLICKHOUSE_READER_PASSWORD"
    assert [q.text for q in reader.findall("grants/query")] == ["GRANT SELECT ON logs.*"]
    profile = tree.find("profiles/mcp_readonly")
    assert profile.findtext("readonly") == "2" and profile.findtext("max_execution_time") == "10"
    assert profile.find("constraints/max_execution_time/max") is not None
    ElementTree.parse(ROOT / "services" / "clickhouse" / "config.d" / "lab.xml")


def all_dockerfiles() -> list[Path]:
    return sorted(p for p in ROOT.glob("**/Dockerfile") if ".venv" not in p.parts and ".lab" not in p.parts)


@pytest.mark.parametrize("path", all_dockerfiles(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_image_runs_as_a_numeric_non_root_user_and_installs_from_the_lock(path: Path) -> None:
    text = path.read_text()
    final = text[text.rindex("\nFROM ") :]
    user = re.findall(r"^USER\s+(\S+)", final, re.M)
    assert user and re.fullmatch(r"[1-9]\d*:[1-9]\d*", user[-1]), f"{path}: USER uid:gid, numeric and non-root"
    build = text[: text.rindex("\nFROM ")]
    for install in re.findall(r"pip (?:install|wheel)(?:[^\n]*\\\n)*[^\n]*", build):
        assert "--constraint constraints.txt" in install, f"{path}: every build-stage install follows the lock"
    assert not re.search(r"\b(torch|chromadb|chdb)==", text), f"{path}: versions come from constraints.txt"
    if "--mount=type=bind,from=build" in final:
        # Podman's builder caches a RUN by its text, not by what it bind-mounts: without a COPY of the wheels'
        # checksums before it, a changed wheel set would leave the old install in place.
        copy = final.find("COPY --from=build /wheels.sha256 ")
        assert 0 <= copy < final.index("--mount=type=bind,from=build"), f"{path}: COPY the wheels' checksums first"


@pytest.mark.parametrize("name", ["kb-mcp", "seed"])
def test_torch_stays_in_the_build_stage(name: str) -> None:
    """The ONNX export needs torch; serving does not: the final stage installs the package without its export
    extra, and the torch source is a build argument (PyTorch's CPU index by default)."""
    text = dockerfile(name)
    final = text[text.rindex("\nFROM ") :]
    code = "\n".join(line for line in final.splitlines() if not line.lstrip().startswith("#"))
    assert "[export]" not in code and "torch" not in code.lower()
    assert "ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu" in text
    assert SERVICES[name]["build"]["args"]["TORCH_INDEX_URL"].endswith(":-https://download.pytorch.org/whl/cpu}")


def test_the_chroma_server_image_is_the_locked_client_version() -> None:
    assert SERVICES["chromadb"]["image"].endswith(":" + LOCK["chromadb"])


def test_the_lock_pins_exact_versions_and_nothing_of_our_own() -> None:
    lines = [line for line in (ROOT / "constraints.txt").read_text().splitlines() if line and not line.startswith("#")]
    assert lines and all(re.fullmatch(r"[A-Za-z0-9_.-]+==[0-9][^ +]*", line) for line in lines), "name==version only"
    assert not [line for line in lines if line.lower().startswith("sre-lab")]
    assert "torch" in LOCK and "chromadb" in LOCK
    makefile = (ROOT / "Makefile").read_text()
    assert "--constraint $(LOCK)" in makefile and not re.search(r"\b(torch|chromadb)==\d", makefile)


def test_the_test_override_replaces_only_clickhouse() -> None:
    """make test-stack runs compose.yaml as it is, but for the one service this machine cannot have."""
    override = yaml.load((ROOT / ".ci" / "stack" / "compose.test.yaml").read_text(), Loader=ComposeLoader)
    assert set(override["services"]) == {"clickhouse"}
    assert SERVICES["clickhouse"]["image"].startswith("clickhouse/clickhouse-server:")


class ComposeLoader(yaml.SafeLoader):
    """YAML with compose's merge tags (!reset, !override) read as plain values."""


ComposeLoader.add_constructor("!reset", lambda loader, node: None)
ComposeLoader.add_constructor(
    "!override",
    lambda loader, node: (
        loader.construct_sequence(node) if isinstance(node, yaml.SequenceNode) else loader.construct_mapping(node)
    ),
)


def test_the_export_stage_is_shared_text_so_its_layers_are_built_once() -> None:
    """kb-mcp and the seed job make the same ONNX export: the stage is identical, so the engine's layer cache
    builds torch and the export once for both images."""

    def stage(name: str) -> str:
        text = dockerfile(name)
        start = text.index("FROM python:3.11.14-slim-bookworm AS export")
        return text[start : text.index("\nFROM ", start)]

    assert stage("kb-mcp") == stage("seed")
