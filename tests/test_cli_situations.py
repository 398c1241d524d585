"""Issue 14's situations, one table: each ends in ONE line saying what happened and what to do, and its exit status.

Every situation is made real: another process holding the embedded log store (before `investigate` checks it,
and after), a `docker` without its daemon or compose plugin or none at all, a file where a directory goes, a
directory nobody may write, a Chroma that does not listen, an Anthropic API that is unreachable or refuses the
key, a compose lab whose servers never answer. Exit status 1: the world is not as the command needs it;
2: the command line names something that cannot be used (click's own code for a bad option value); 0 with one
`note:`: the agent driver could not reach Claude and the playbook finished the report.

`sre-lab` runs in-process through typer's runner, or as a real subprocess where the process is the subject
(the one holding the store must be the CLI's own).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sre_lab.cli import app
from sre_lab.investigate import Report
from sre_lab.paths import EmbeddedStores

NOW = "2026-11-26T14:23:30Z"
DRILL4 = "The payment gateway seems degraded."


@dataclass
class World:
    """What a situation may arrange: a scratch folder, the environment, a data directory, cleanup."""

    tmp: Path
    lab_dir: Path
    env: pytest.MonkeyPatch
    request: pytest.FixtureRequest
    cwd: Path | None = None

    def fixture(self, name: str) -> Any:
        return self.request.getfixturevalue(name)


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class Situation:
    arrange: Callable[[World], list[str]]  # makes the situation real; returns the command line
    code: int
    said: tuple[str, ...]  # what happened and what to do, in the words of the one line
    then: Callable[[World, Outcome], None] | None = None  # what else must (not) have happened
    process: bool = False  # run `sre-lab` as a subprocess of its own
    script: str | None = None  # …running this Python before the CLI, in the CLI's process
    marks: tuple[pytest.MarkDecorator, ...] = field(default=())


# -- arranging ----------------------------------------------------------------------------------------------


def fake_docker(world: World, *, daemon: bool = True, compose: bool = True) -> None:
    """A `docker` first on PATH that answers like one whose daemon or compose plugin is (not) there, runs none
    of the lab's servers (`ps` lists none) and accepts any other command (so `compose up` "succeeds")."""
    bin_dir = world.tmp / "bin"
    bin_dir.mkdir(exist_ok=True)
    info = "echo 27.3.1; exit 0" if daemon else "echo Cannot connect to the Docker daemon >&2; exit 1"
    version = "echo v2.29.0; exit 0" if compose else "echo docker: compose is not a docker command >&2; exit 1"
    script = bin_dir / "docker"
    script.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = info ]; then {info}; fi\n'
        f'if [ "$1" = compose ] && [ "$2" = version ]; then {version}; fi\n'
        # a lab port another process holds on this machine counts as the lab's own (as when up re-runs)
        'case "$3" in publish=*) echo sre-lab-clickhouse; exit 0;; esac\n'
        "exit 0\n"
    )
    script.chmod(0o755)
    world.env.setenv("PATH", str(bin_dir))


def no_docker(world: World) -> None:
    world.env.setenv("PATH", str(world.tmp / "empty"))


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def fake_checkout(world: World) -> Path:
    """A folder that is a lab checkout as far as sre-lab can tell (compose.yaml and lab/)."""
    home = world.tmp / "checkout"
    (home / "lab").mkdir(parents=True)
    (home / "services" / "kb-mcp").mkdir(parents=True)
    (home / "compose.yaml").write_text("services: {}\n")
    (home / "lab" / "pyproject.toml").write_text("")
    return home


@pytest.fixture(scope="module")
def seeded_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small embedded lab (cluster and logs at NOW), seeded once by `sre-lab` processes of their own."""
    root = tmp_path_factory.mktemp("seeded") / "data"
    for command in (["seed", "cluster", "--now", NOW], ["seed", "logs", "--rows", "1000", "--now", NOW]):
        seeded = subprocess.run(
            [sys.executable, "-m", "sre_lab", *command],
            env={**os.environ, "SRE_LAB_DATA_DIR": str(root), "LOGS_MCP_CLICKHOUSE_URL": ""},
            capture_output=True,
            text=True,
            check=False,
        )
        assert seeded.returncode == 0, seeded.stderr
    return root


@pytest.fixture
def held_logs(seeded_logs: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The lab's log store, held by another process (as Claude Desktop's logs-mcp holds it)."""
    monkeypatch.setenv("SRE_LAB_DATA_DIR", str(seeded_logs))  # read only: chDB's directories do not copy
    store = EmbeddedStores(seeded_logs).clickhouse
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, chdb.session as s; held = s.Session(sys.argv[1]); held.query('SELECT 1');"
         "print('ready', flush=True); sys.stdin.read()", str(store)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        yield store
    finally:
        assert holder.stdin is not None and holder.stdout is not None
        holder.stdin.close()
        holder.wait(timeout=60)
        holder.stdout.close()


def store_held_by_another_process(world: World) -> list[str]:
    world.fixture("held_logs")
    return ["investigate", "--driver", "playbook"]


# The CLI's own process takes the store before it runs: `investigate`'s check of the store passes (it is
# this process's), then logs-mcp cannot open it, with k8s-mcp's client already open in its task group: the
# error reaches the handler inside an ExceptionGroup (the path of a store taken after the check).
_HOLD_THEN_RUN = """
import sys, chdb.session as s
held = s.Session(sys.argv[1]); held.query("SELECT 1")
from sre_lab.cli import app
app(sys.argv[2:], prog_name="sre-lab")
"""


def store_taken_after_the_check(world: World) -> list[str]:
    seeded = world.fixture("seeded_logs")
    world.env.setenv("SRE_LAB_DATA_DIR", str(seeded))
    return [str(EmbeddedStores(seeded).clickhouse), "investigate", "--driver", "playbook"]


def docker_lab_not_running(world: World) -> list[str]:
    fake_docker(world)
    return ["investigate", "--stack", "docker", "--driver", "playbook"]


def file_where_the_snapshot_goes(world: World) -> list[str]:
    target = world.tmp / "snapshot.json"
    target.write_text("{}")
    return ["seed", "cluster", "--out", str(target), "--now", NOW]


def snapshot_unchanged(world: World, outcome: Outcome) -> None:
    assert (world.tmp / "snapshot.json").read_text() == "{}"


def unwritable_snapshot_path(world: World) -> list[str]:
    if os.geteuid() == 0:
        target = Path("/sys/sre-lab-snapshot")  # root may write anywhere but the kernel's own files
    else:
        locked = world.tmp / "locked"
        locked.mkdir(mode=0o500)
        target = locked / "snapshot"
    return ["seed", "cluster", "--out", str(target), "--now", NOW]


def chroma_not_listening(world: World) -> list[str]:
    world.env.setenv("KB_MCP_CHROMA_URL", f"http://127.0.0.1:{closed_port()}")
    return ["seed", "runbooks"]


def config_path_at_a_directory(client: str) -> Callable[[World], list[str]]:
    def arrange(world: World) -> list[str]:
        command = ["config", client, "--mode", "docker", "--path", str(world.tmp)]
        return [*command, "--write"] if client == "claude-desktop" else command

    return arrange


class _RefusingAnthropic(BaseHTTPRequestHandler):
    """Answers every request as the Messages API answers a bad key."""

    def do_POST(self) -> None:
        error = {"type": "authentication_error", "message": "invalid x-api-key"}
        body = json.dumps({"type": "error", "error": error}).encode()
        self.send_response(401)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # quiet
        return


@pytest.fixture
def refusing_api() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _RefusingAnthropic)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def agent_with_the_api(api: str) -> Callable[[World], list[str]]:
    def arrange(world: World) -> list[str]:
        stack = world.fixture("stack")
        base_url = world.fixture("refusing_api") if api == "bad key" else f"http://127.0.0.1:{closed_port()}"
        world.env.setenv("ANTHROPIC_API_KEY", "sk-ant-not-a-key")
        world.env.setenv("ANTHROPIC_BASE_URL", str(base_url))
        if stack.kind == "embedded":
            world.env.setenv("SRE_LAB_DATA_DIR", str(stack.data_dir))
        option = "embedded" if stack.kind == "embedded" else "docker"
        return ["investigate", DRILL4, "--driver", "agent", "--stack", option, "--format", "json"]

    return arrange


def playbook_finished_the_report(world: World, outcome: Outcome) -> None:
    report = Report.model_validate_json(outcome.stdout)
    assert report.driver == "playbook" and len(report.notes) == 1
    assert "OOMKilled at the 512Mi memory limit" in report.synthesis.probable_root_cause, "a whole report"


def servers_never_answer(world: World) -> list[str]:
    fake_docker(world)
    world.env.setenv("SRE_LAB_HOME", str(fake_checkout(world)))
    return ["up", "--docker", "--now", NOW]


def no_next_steps_and_a_private_env_file(world: World, outcome: Outcome) -> None:
    assert "failed" in outcome.stdout and "Next" not in outcome.stdout, "the check table shows why"
    env = world.tmp / "checkout" / ".lab" / "lab.env"
    assert f"SCENARIO_NOW={NOW}" in env.read_text() and env.stat().st_mode & 0o077 == 0


def up_docker_from_a_subdirectory(world: World) -> list[str]:
    fake_docker(world)
    world.cwd = fake_checkout(world) / "services" / "kb-mcp"
    return ["up", "--docker", "--now", NOW]


def lab_files_at_the_checkout_root(world: World, outcome: Outcome) -> None:
    checkout = world.tmp / "checkout"
    assert (checkout / ".lab" / "lab.env").is_file() and not (checkout / "services" / "kb-mcp" / ".lab").exists()


def up_docker_outside_any_checkout(world: World) -> list[str]:
    fake_docker(world)
    world.cwd = world.tmp
    # installed without a checkout (from PyPI): no checkout above the current directory or around the package
    world.env.setattr("sre_lab.paths.find_checkout", lambda start=None, env=None: None)
    return ["up", "--docker", "--now", NOW]


def nothing_written_here(world: World, outcome: Outcome) -> None:
    assert not (world.tmp / ".lab").exists(), "nothing written where it does not belong"


STACK = (pytest.mark.stack,)
SITUATIONS = {
    "1 investigate while another process holds the embedded log store": Situation(
        store_held_by_another_process, 1, ("the embedded log store", "is in use by pid", "stop that process")
    ),
    "1b investigate when the store is taken after the CLI's check (an ExceptionGroup)": Situation(
        store_taken_after_the_check,
        1,
        ("logs-mcp did not start", "is in use by pid", "stop that process"),
        process=True,
        script=_HOLD_THEN_RUN,
    ),
    "2 investigate --stack docker with no lab running": Situation(
        docker_lab_not_running, 1, ("the compose lab is not running", "start it: `sre-lab up --docker`")
    ),
    "3 status --docker without docker": Situation(
        lambda w: (no_docker(w), ["status", "--docker"])[1],
        1,
        ("Docker is not installed", "install Docker", "`sre-lab up --embedded`"),
    ),
    "4 status --docker without the compose plugin": Situation(
        lambda w: (fake_docker(w, compose=False), ["status", "--docker"])[1],
        1,
        ("compose plugin (v2) is missing", "install it", "`sre-lab up --embedded`"),
    ),
    "5 down --docker without docker": Situation(
        lambda w: (no_docker(w), ["down", "--docker"])[1],
        1,
        ("Docker is not installed", "install Docker", "`sre-lab up --embedded`"),
    ),
    "6 down --docker without the compose plugin": Situation(
        lambda w: (fake_docker(w, compose=False), ["down", "--docker"])[1],
        1,
        ("compose plugin (v2) is missing", "install it", "`sre-lab up --embedded`"),
    ),
    "6b status --docker with the daemon down": Situation(
        lambda w: (fake_docker(w, daemon=False), ["status", "--docker"])[1],
        1,
        ("daemon is not reachable (Cannot connect to the Docker daemon)", "start Docker Desktop"),
    ),
    "7 seed cluster --out at a file": Situation(
        file_where_the_snapshot_goes,
        2,
        ("--out ", "snapshot.json: exists and is not a directory", "give a new or empty directory"),
        then=snapshot_unchanged,
    ),
    "8 seed cluster --out at an unwritable path": Situation(
        unwritable_snapshot_path, 2, ("--out ", "sre-lab-snapshot: ", "choose a path you can write")
    ),
    "9 seed runbooks with Chroma unreachable": Situation(
        chroma_not_listening, 1, ("cannot reach the Chroma server at http://127.0.0.1:", "start Chroma", "unset it")
    ),
    "10 config claude-desktop --write --path at a directory": Situation(
        config_path_at_a_directory("claude-desktop"),
        2,
        ("--path ", "is a directory", "give the path of the config file", "nothing was changed"),
    ),
    "11 config claude-code --path at a directory": Situation(
        config_path_at_a_directory("claude-code"),
        2,
        ("--path ", "is a directory", "give the path of the config file", "nothing was changed"),
    ),
    "12 the agent driver with the Anthropic API unreachable": Situation(
        agent_with_the_api("unreachable"),
        0,
        ("the Anthropic API is unreachable", "the playbook finished the investigation"),
        then=playbook_finished_the_report,
        marks=STACK,
    ),
    "13 the agent driver with a bad key": Situation(
        agent_with_the_api("bad key"),
        0,
        ("refused the request (401: invalid x-api-key)", "the playbook finished the investigation"),
        then=playbook_finished_the_report,
        marks=STACK,
    ),
    "up --docker when every server fails its check": Situation(
        servers_never_answer,
        1,
        ("3 of 3 servers failed their check (k8s-mcp, logs-mcp, kb-mcp)", "logs <server>` shows why"),
        then=no_next_steps_and_a_private_env_file,
    ),
    "up --docker from a subdirectory of the checkout": Situation(
        up_docker_from_a_subdirectory,
        1,
        ("3 of 3 servers failed their check",),
        then=lab_files_at_the_checkout_root,
    ),
    "up --docker outside any checkout": Situation(
        up_docker_outside_any_checkout,
        1,
        ("no lab checkout here or above", "run this inside the repository checkout", "SRE_LAB_HOME"),
        then=nothing_written_here,
    ),
}


def run(situation: Situation, argv: list[str], cwd: Path | None) -> Outcome:
    """`sre-lab argv` in `cwd` (the test has already moved there for the in-process runner)."""
    if situation.process:
        prefix = ["-c", situation.script] if situation.script else ["-m", "sre_lab"]
        done = subprocess.run(
            [sys.executable, *prefix, *argv], capture_output=True, text=True, check=False, cwd=cwd, env=dict(os.environ)
        )
        return Outcome(done.returncode, done.stdout, done.stderr)
    result = CliRunner().invoke(app, argv)
    assert result.exception is None or isinstance(result.exception, SystemExit), "a traceback, not a line"
    return Outcome(result.exit_code, result.stdout, result.stderr)


@pytest.mark.parametrize(
    "situation", [pytest.param(s, id=name, marks=s.marks) for name, s in SITUATIONS.items()]
)  # fmt: skip
def test_each_situation_is_one_line_and_its_exit_status(
    situation: Situation, tmp_path: Path, lab_dir: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    world = World(tmp_path, lab_dir, monkeypatch, request)
    argv = situation.arrange(world)
    monkeypatch.chdir(world.cwd or Path.cwd())
    outcome = run(situation, argv, world.cwd)
    assert outcome.code == situation.code, (outcome.code, outcome.stdout[-2000:], outcome.stderr[-2000:])
    assert "Traceback" not in outcome.stderr + outcome.stdout
    if situation.code == 0:  # it worked, and says what the user should know in one note
        lines = [line for line in outcome.stderr.splitlines() if line.startswith(("note:", "sre-lab: error"))]
        assert len(lines) == 1 and lines[0].startswith("note: "), outcome.stderr
    else:
        lines = [line for line in outcome.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("sre-lab: error: "), outcome.stderr
    for words in situation.said:
        assert words in lines[0], (words, lines[0])
    if situation.then is not None:
        situation.then(world, outcome)
