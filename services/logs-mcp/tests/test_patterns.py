"""log_patterns and count_errors on real logs (loghub samples with their true templates, tests/fixtures/real):
each system's messages are one service's lines; the templates the tools return must be the true ones.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from logs_mcp.config import LogsSettings
from logs_mcp.patterns import merge_signatures
from logs_mcp.server import create_server
from logs_mcp.store import LogStore, apply_schema, connect

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 11, 26, 14, 23, 30, tzinfo=UTC)
REAL = Path(__file__).parent / "fixtures" / "real" / "loghub"
SYSTEMS = sorted(path.stem for path in REAL.glob("*.tsv"))


def labelled(system: str) -> list[tuple[str, str]]:
    """(true template id, message) per line."""
    lines = (REAL / f"{system}.tsv").read_text(encoding="utf-8").splitlines()
    return [(truth, message) for truth, message in (line.split("\t", 1) for line in lines)]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LogStore]:
    settings = LogsSettings(data_dir=tmp_path_factory.mktemp("patterns") / "clickhouse")
    writer = connect(settings, writer=True)
    try:
        apply_schema(writer, "logs")
        rows = [
            (NOW - timedelta(minutes=30, seconds=i), system, "ERROR", f"{system.lower()}-0", "", "", "", "", message)
            for system in SYSTEMS
            for i, (_, message) in enumerate(labelled(system))
        ]
        writer.insert(
            "application_logs",
            rows,
            column_names=("timestamp", "service", "level", "host", "pod", "namespace", "logger", "trace_id", "message"),
        )
    finally:
        writer.close()
    opened = LogStore.open(settings)
    try:
        yield opened
    finally:
        opened.close()


async def call(store: LogStore, tool: str, **arguments: Any) -> dict[str, Any]:
    async with Client(create_server(store.settings, store, clock=lambda: NOW)) as client:
        result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content
    return result.structured_content


@pytest.mark.parametrize("system", SYSTEMS)
async def test_log_patterns_finds_the_true_templates(store: LogStore, system: str) -> None:
    found = await call(store, "log_patterns", service=system, limit=100)
    truth = Counter(template for template, _ in labelled(system))
    assert found["total_templates"] == len(truth)
    assert sorted(t["count"] for t in found["templates"]) == sorted(truth.values())


async def test_templates_read_as_the_logs_do(store: LogStore) -> None:
    templates = {t["template"] for t in (await call(store, "log_patterns", limit=100))["templates"]}
    # signed and unsigned block ids are one id; the digit in jk2_init() is part of a name, not a number
    assert "PacketResponder <num> for block <id> terminating" in templates
    assert "jk2_init() Found child <num> in scoreboard slot <num>" in templates
    # the attempted user name varies (webmaster, test9, chen, pgadmin, utsims): one template
    assert "Invalid user <*> from <ip>" in templates
    assert "input_userauth_request: invalid user <*> [preauth]" in templates
    # free-text dates with weekday names, host names holding digits, key=value values
    assert "connection from <ip> (<host>) at <ts>" in templates
    assert any(t.startswith("pam_unix(sshd:auth): authentication failure; logname= uid=<*>") for t in templates)


async def test_count_errors_groups_messages_by_the_same_templates(store: LogStore) -> None:
    counts = await call(store, "count_errors", group_by="message", limit=100, time_range="1h")
    total = sum(len(labelled(system)) for system in SYSTEMS)
    shown = sum(g["errors"] for g in counts["groups"])
    assert counts["total_errors"] == total
    assert shown == total if not counts["truncated"] else (shown < total and counts["total_groups"] > 100)
    openssh = next(g for g in counts["groups"] if g["key"] == "Invalid user <*> from <ip>")
    assert openssh["errors"] == sum(1 for truth, _ in labelled("OpenSSH") if truth == "E13")


def test_merging_needs_evidence_and_is_order_free() -> None:
    one = merge_signatures(["Invalid user alice from <ip>"])
    assert one == {"Invalid user alice from <ip>": "Invalid user alice from <ip>"}  # one value: no evidence
    names = ["Connection closed by <ip>", "Connection reset by <host>", "session opened for user bob"]
    forward, backward = merge_signatures(names), merge_signatures(list(reversed(names)))
    assert forward == backward
    assert forward["Connection closed by <ip>"] != forward["Connection reset by <host>"]  # a verb is not a name


def test_an_empty_slot_is_the_slot_without_a_value() -> None:
    merged = merge_signatures(["connection from <ip> () at <ts>", "connection from <ip> (<host>) at <ts>"])
    assert set(merged.values()) == {"connection from <ip> <*> at <ts>"}
    # only a whole token is a slot: a call's empty parentheses are part of its name
    alone = merge_signatures(["jk2_init() Found child <num>", "jk2_init(<num>) Found child <num>"])
    assert len(set(alone.values())) == 2


# Each masking rule on real lines of the loghub samples already looked at (`heldout/`, `fresh/`; never `fresh2/`):
# (file, a piece of the line that picks it, the line's signature).
MASKED = [
    # Windows component identities: the name field holds no digit in the second, yet both are one package id
    (
        "heldout/Windows",
        "Package_for_KB2579686~",
        "Read out cached package applicability for package: <id>, ApplicableState: <num>, CurrentState:<num>",
    ),
    (
        "heldout/Windows",
        "Microsoft-Windows-Embedded-EmbeddedLockdown",
        "Read out cached package applicability for package: <id>, ApplicableState: <num>, CurrentState:<num>",
    ),
    # digit-led words joined by underscores
    ("heldout/Windows", "Session: 30546174_149225542 ", "Session: <id> initialized by client WindowsUpdateAgent."),
    # a domain name with a port is one host, with a digit in its name or not; sizes with units; '<1 sec' and 05:03
    ("fresh/Proxifier", "api.github.com:443 open", "<host> open through proxy <host> HTTPS"),
    (
        "fresh/Proxifier",
        "avatars1.githubusercontent.com:443 close, 1145 bytes",
        "<host> close, <size> sent, <size> received, lifetime <time>",
    ),
    (
        "fresh/Proxifier",
        "security.ie.sogou.com:80 close",
        "<host> close, <size> sent, <size> received, lifetime <duration>",
    ),
    # MAC addresses (not a time and two hex words); `en0` keeps its digit
    ("fresh/Mac", "BSSID changed to 88:75:56:a0:95:ed", "en0: BSSID changed to <mac>"),
    # booleans as values, bare or after `=`
    (
        "fresh/Android",
        "down false canceled",
        "interceptKeyTq keycode=<*> interactive=<bool> keyguardActive=<bool> "
        "policyFlags=<*> down <bool> canceled <bool>",
    ),
    # a list of node names of any length is one value; a single name with a digit stays (U01, J08)
    ("fresh/Thunderbird", "data source name bn654 bn655", "Warning: we failed to resolve data source name <list>"),
    (
        "fresh/BGL",
        "slot J08 do not match",
        "Node card VPD check: U01 node in processor card slot J08 do not match. VPD ecid <hex>, found <hex>",
    ),
]


def real_line(name: str, piece: str) -> str:
    found = [line.split("\t", 1)[1] for line in (REAL / f"{name}.tsv").read_text(encoding="utf-8").splitlines()]
    return next(line for line in found if piece in line)


@pytest.mark.parametrize(("name", "piece", "expected"), MASKED, ids=[f"{n}:{p[:24]}" for n, p, _ in MASKED])
def test_masking_rules_on_real_lines(store: LogStore, name: str, piece: str, expected: str) -> None:
    line = real_line(name, piece)
    signature = store.client.query("SELECT log_signature({m:String})", parameters={"m": line}).result_rows[0][0]
    assert signature == expected


def test_a_java_frame_is_not_a_host_and_port(store: LogStore) -> None:
    line = real_line("fresh/Android", "WindowStateAnimator.destroySurface:")
    signature = store.client.query("SELECT log_signature({m:String})", parameters={"m": line}).result_rows[0][0]
    assert "com.android.server.wm.WindowStateAnimator.destroySurface:<num>" in signature
