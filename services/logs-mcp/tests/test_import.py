"""The importer on real public log files (tests/fixtures/real/import, sources in its SOURCE.md), into chDB.

Every file of every format is read, stored and read back: the counts equal, the fields are the ones the lines
carry, and the tools answer on the imported lines through an MCP session. Old lines are refused (or kept by
choice), bad lines are counted and shown, never dropped silently, and a file spanning months is written one
partition at a time.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client
from mcp import Client as McpClient

from logs_mcp.config import LogsSettings
from logs_mcp.formats import Options
from logs_mcp.importer import ImportRefusedError, import_files, table_ttl_days
from logs_mcp.server import create_server
from logs_mcp.store import LogStore, open_writer
from mcp_common.errors import ConfigError

REAL = Path(__file__).parent / "fixtures" / "real" / "import"
NOW = datetime(2026, 11, 26, 14, 23, 30, tzinfo=UTC)
OPTIONS = Options(now=NOW)
EXPECTED = {  # file: (format, records)
    "apache_error.log": ("apache-error", 5),
    "ecs_python.json": ("json", 5),
    "hadoop.log": ("log4j", 14),
    "journald.json": ("json", 2),
    "logrus.logfmt": ("logfmt", 6),
    "nginx_access.log": ("access", 20),
    "openssh.log": ("syslog", 10),
    "otlp_logs.jsonl": ("json", 1),
}


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> LogsSettings:
    return LogsSettings(data_dir=tmp_path_factory.mktemp("import") / "clickhouse")


@pytest.fixture(scope="module")
def module_client(settings: LogsSettings) -> Iterator[Client]:
    client = open_writer(settings)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def client(module_client: Client) -> Client:
    """The module's writer on an empty application_logs with the schema's own TTL."""
    module_client.command("TRUNCATE TABLE application_logs")
    module_client.command("ALTER TABLE application_logs MODIFY TTL toDateTime(timestamp) + INTERVAL 30 DAY")
    return module_client


def rows(client: Client, where: str = "1") -> list[dict[str, Any]]:
    query = (
        "SELECT timestamp, service, level, host, logger, trace_id, message, status_code, signature "
        f"FROM application_logs WHERE {where} ORDER BY timestamp, message"
    )
    return list(client.query(query).named_results())


def test_every_real_file_imports_with_nothing_lost(client: Client) -> None:
    paths = [REAL / name for name in EXPECTED]
    report = import_files(client, paths, options=OPTIONS, ttl_days=0)
    assert {Path(f.path).name: (f.format, f.records) for f in report.files} == EXPECTED
    assert all(f.unparsed == 0 and f.folded == 0 and f.records == f.lines for f in report.files)
    assert report.records == report.stored == sum(n for _, n in EXPECTED.values()) == 63
    assert int(client.query("SELECT count() FROM application_logs").result_rows[0][0]) == 63
    assert report.ttl_days is None and table_ttl_days(client) is None  # --ttl-days 0: every line is kept

    levels = {row["message"]: row["level"] for row in rows(client, "service IN ('logrus', 'ecs_python', 'python')")}
    assert [
        levels[m]
        for m in (
            "Started observing beach",
            "The group's number increased tremendously!",
            "It's over 9000!",
            "The ice breaks!",
        )
    ] == ["DEBUG", "WARN", "ERROR", "ERROR"]
    assert levels["this is a critical message num=52"] == "ERROR"
    assert levels["this is a debug message num=39"] == "DEBUG"
    assert levels["GPS Reference longitude: 7.358143333"] == "ERROR"  # journald PRIORITY 1 (alert); 6 is info
    apache = [row["level"] for row in rows(client, "service = 'apache_error'")]
    assert sorted(apache) == ["ERROR", "ERROR", "INFO", "INFO", "INFO"]  # [error] and [notice]

    (logrus,) = rows(client, "message = 'Started observing beach'")
    assert logrus["timestamp"] == datetime(2015, 3, 26, 5, 27, 38)  # -04:00 stored as UTC
    (journald,) = rows(client, "service = 'python' AND level = 'ERROR'")
    assert (journald["host"], journald["message"]) == ("imx6ul-medusa", "GPS Reference longitude: 7.358143333")
    assert journald["timestamp"] == datetime(2018, 8, 21, 14, 4, 21, 221000)  # microseconds since the epoch
    (otlp,) = rows(client, "service = 'my.service'")
    assert (otlp["trace_id"], otlp["logger"], otlp["message"]) == (
        "5B8EFFF798038103D269B633813FC60C", "my.library", "Example log record"
    )  # fmt: skip
    hadoop = rows(client, "service = 'hadoop'")
    assert hadoop[0]["logger"] == "org.apache.hadoop.mapreduce.v2.app.MRAppMaster"
    assert hadoop[0]["timestamp"] == datetime(2015, 10, 18, 18, 1, 47, 978000)
    sshd = rows(client, "service = 'sshd'")
    assert {row["host"] for row in sshd} == {"LabSZ"}
    assert sshd[0]["timestamp"] == datetime(2025, 12, 10, 6, 55, 46)  # the year before NOW: Dec 10 is not yet
    assert sshd[-1]["message"] == "Disconnecting: Too many authentication failures for root [preauth]"
    nginx = rows(client, "service = 'nginx_access'")
    assert [row["status_code"] for row in nginx].count(404) == 6
    assert {row["level"] for row in nginx if row["status_code"] == 404} == {"WARN"}
    assert nginx[0]["message"] == (
        '80.91.33.133 - - "GET /downloads/product_1 HTTP/1.1" 304 0 "-" "Debian APT-HTTP/1.3 (0.8.16~exp12ubuntu10.17)"'
    )  # the line without its date: nothing else dropped
    assert all(row["signature"] for row in rows(client))  # computed by the schema's log_signature


@pytest.mark.anyio
async def test_the_tools_answer_on_imported_lines(client: Client, settings: LogsSettings) -> None:
    import_files(client, [REAL / "openssh.log", REAL / "otlp_logs.jsonl"], options=OPTIONS, ttl_days=0)
    store = LogStore.open(settings)
    clock = datetime(2025, 12, 10, 7, 14, tzinfo=UTC)
    try:
        async with McpClient(create_server(settings, store, clock=lambda: clock)) as session:
            services = await session.call_tool("list_services", {})
            search = await session.call_tool("search_logs", {"service": "sshd", "keyword": "invalid user"})
            patterns = await session.call_tool("log_patterns", {"service": "sshd"})
            timeline = await session.call_tool("error_timeline", {"service": "sshd"})
            errors = await session.call_tool("count_errors", {"group_by": "message"})
            trace = await session.call_tool("trace_transaction", {"trace_id": "5B8EFFF798038103D269B633813FC60C"})
    finally:
        store.close()
    assert services.structured_content["services"][0] == {
        **services.structured_content["services"][0], "service": "sshd", "lines": 10, "hosts": ["LabSZ"],
    }  # fmt: skip
    found = [line["message"] for line in search.structured_content["lines"]]
    assert found[0] == "Invalid user test9 from 52.80.34.196" and len(found) == 4  # newest first, any case
    assert "input_userauth_request: invalid user webmaster [preauth]" in found
    templates = {t["template"]: t["count"] for t in patterns.structured_content["templates"]}
    assert templates["Invalid user <*> from <ip>"] == 2 and templates["Connection closed by <ip> [preauth]"] == 2
    assert sum(bucket["total"] for bucket in timeline.structured_content["buckets"]) == 10
    assert errors.structured_content["total_errors"] == 0
    assert trace.structured_content["services"] == ["my.service"]


def test_lines_older_than_the_ttl_are_refused_with_the_reason_and_nothing_written(client: Client) -> None:
    with pytest.raises(ImportRefusedError, match=r"lines from 2015-10-18, \d+ days ago, older than .* 30-day TTL"):
        import_files(client, [REAL / "hadoop.log"], options=OPTIONS)
    assert int(client.query("SELECT count() FROM application_logs").result_rows[0][0]) == 0
    assert table_ttl_days(client) == 30


def test_a_ttl_long_enough_keeps_old_lines(client: Client) -> None:
    report = import_files(client, [REAL / "hadoop.log"], options=OPTIONS, ttl_days=5000)
    assert report.stored == 14 and report.ttl_days == 5000 and table_ttl_days(client) == 5000
    with pytest.raises(ImportRefusedError, match="--ttl-days 0"):
        import_files(client, [REAL / "apache_error.log"], options=OPTIONS, ttl_days=365)  # 2005 is older still


def test_bad_lines_are_counted_and_shown_and_the_rest_is_stored(client: Client, tmp_path: Path) -> None:
    good = (REAL / "ecs_python.json").read_text(encoding="utf-8").splitlines()
    path = tmp_path / "mixed.json"
    path.write_bytes(
        "\n".join([good[0], '{"@timestamp": "2025-01-13T09:58:14Z", "message": "cut off', good[1], "[1, 2]", ""])
        .encode() + b'{"@timestamp":"2025-01-13T09:58:15Z","message":"caf\xe9"}\n'
    )  # fmt: skip
    report = import_files(client, [path], options=OPTIONS, ttl_days=0)
    (file,) = report.files
    assert (file.lines, file.records, file.unparsed, file.not_utf8) == (5, 3, 2, 1)
    assert file.unparsed_examples == [
        'line 2: {"@timestamp": "2025-01-13T09:58:14Z", "message": "cut off',
        "line 4: [1, 2]",
    ]
    assert report.stored == 3
    assert rows(client)[-1]["message"] == "caf\ufffd"  # kept, the byte that is not UTF-8 marked


def test_stack_traces_fold_into_their_record(client: Client, tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    path.write_text(
        "2026-11-26 14:00:00,001 ERROR [main] com.example.Checkout - payment failed\n"
        "java.lang.IllegalStateException: card declined\n"
        "\tat com.example.Checkout.pay(Checkout.java:42)\n"
        "Caused by: java.net.SocketTimeoutException: Read timed out\n"
        "2026-11-26 14:00:01,500 INFO [main] com.example.Checkout - retry scheduled\n",
        encoding="utf-8",
    )
    report = import_files(client, [path], options=OPTIONS)
    assert (report.files[0].records, report.files[0].folded, report.stored) == (2, 3, 2)
    first = rows(client)[0]
    assert (first["level"], first["logger"]) == ("ERROR", "com.example.Checkout")
    assert first["message"].splitlines() == [
        "payment failed",
        "java.lang.IllegalStateException: card declined",
        "\tat com.example.Checkout.pay(Checkout.java:42)",
        "Caused by: java.net.SocketTimeoutException: Read timed out",
    ]


def test_a_file_spanning_months_is_written_one_partition_at_a_time(client: Client, tmp_path: Path) -> None:
    # ClickHouse refuses one INSERT touching more than 100 partitions (max_partitions_per_insert_block): the
    # issue's 213-day file failed so. Here 150 days in one batch: one insert per day.
    start = datetime(2026, 6, 1, tzinfo=UTC)
    lines = [f'ts={start + timedelta(hours=12 * i):%Y-%m-%dT%H:%M:%S}Z level=info msg="tick {i}"' for i in range(300)]
    path = tmp_path / "ticks.log"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = import_files(client, [path], options=OPTIONS, ttl_days=365)
    assert report.records == report.stored == 300
    assert report.days == report.inserts == 150
    per_day = client.query("SELECT count() FROM application_logs GROUP BY toDate(timestamp)").result_rows
    assert len(per_day) == 150 and {count for (count,) in per_day} == {2}


def test_a_user_regex(client: Client, tmp_path: Path) -> None:
    path = tmp_path / "custom.log"
    path.write_text("2026-11-26T14:00:00Z|checkout|WARN|slow cart 42\n|no time here\n", encoding="utf-8")
    regex = r"(?P<time>[^|]+)\|(?P<service>[^|]+)\|(?P<level>[^|]+)\|(?P<message>.*)"
    report = import_files(client, [path], regex=regex, options=OPTIONS)
    assert (report.stored, report.files[0].folded) == (1, 1)  # the second line is a continuation of the first
    assert rows(client)[0] == {**rows(client)[0], "service": "checkout", "level": "WARN"}
    with pytest.raises(ConfigError, match=r"needs the named groups .* missing: \['time'\]"):
        import_files(client, [path], regex=r"(?P<message>.*)", options=OPTIONS)


def test_an_unknown_format_says_what_to_do(client: Client, tmp_path: Path) -> None:
    path = tmp_path / "prose.txt"
    path.write_text("Dear diary,\ntoday nothing was logged.\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"cannot tell the format of .*prose\.txt.*pass --format, or --regex"):
        import_files(client, [path], options=OPTIONS)
    with pytest.raises(ConfigError, match=r"no such file: .*missing\.log"):
        import_files(client, [tmp_path / "missing.log"], options=OPTIONS)


def test_the_command_prints_a_summary_and_progress_on_stderr(tmp_path: Path) -> None:
    env = {**os.environ, "LOGS_MCP_DATA_DIR": str(tmp_path / "store"), "LOGS_MCP_FIXED_NOW": NOW.isoformat()}
    files = [str(REAL / "nginx_access.log"), str(REAL / "openssh.log")]
    command = [sys.executable, "-m", "logs_mcp", "import", "--ttl-days", "0", *files]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    *files_lines, summary = done.stdout.splitlines()
    assert files_lines == [f"{files[0]}: access, 20 lines -> 20 records", f"{files[1]}: syslog, 10 lines -> 10 records"]
    assert summary.startswith(
        "imported 30 records; read back 30 rows (2015-05-17 08:05:01 to 2025-12-10 07:13:56 UTC, 2 days, 2 inserts, "
        "no TTL (every line is kept)) in "
    )
    assert "import [" in done.stderr and "100%" in done.stderr


def test_the_command_refuses_old_lines_in_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "LOGS_MCP_DATA_DIR": str(tmp_path / "store"), "LOGS_MCP_FIXED_NOW": NOW.isoformat()}
    command = [sys.executable, "-m", "logs_mcp", "import", "--format", "access", str(REAL / "nginx_access.log")]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2
    (message,) = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert "older than application_logs' 30-day TTL" in message and "--ttl-days 0" in message
    assert done.stdout == ""
