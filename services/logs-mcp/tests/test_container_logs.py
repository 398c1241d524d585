"""Container runtimes' log files (what kubelet keeps under /var/log/pods and /var/log/containers): CRI's text
format and Docker's json-file, read as kubelet reads them, with the application's own format read inside; and the
servers with no preset of their own (nginx's error log, PostgreSQL, Python's logging, gunicorn, Redis), read by
their leading timestamp.

The runtime lines below are kubelet's own parser test cases (kubernetes/kubernetes,
pkg/kubelet/kuberuntime/logs/logs_test.go, TestParseLog and TestReadLogs, commit 04791b49; Apache-2.0): our reading
of each must give kubelet's timestamp, stream and text. The application lines inside are written in the formats
they name (klog's documented header, logrus' logfmt, a JSON logger, Go's log package)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from clickhouse_connect.driver.client import Client

from logs_mcp.config import LogsSettings
from logs_mcp.formats import Options, cri, detect, json_line
from logs_mcp.importer import import_files
from logs_mcp.store import open_writer

OPTIONS = Options(now=datetime(2026, 11, 30, 12, 0, tzinfo=UTC))
KUBELET_WHEN = datetime(2016, 10, 20, 18, 39, 20, 576064, tzinfo=UTC)  # "2016-10-20T18:39:20.57606443Z"
KUBELET_CASES = [  # (line, stream, text) as kubelet's TestParseLog expects them (trailing newline aside)
    ('{"log":"docker stdout test log","stream":"stdout","time":"2016-10-20T18:39:20.57606443Z"}', "stdout",
     "docker stdout test log"),
    ('{"log":"docker stderr test log","stream":"stderr","time":"2016-10-20T18:39:20.57606443Z"}', "stderr",
     "docker stderr test log"),
    ("2016-10-20T18:39:20.57606443Z stdout F cri stdout test log", "stdout", "cri stdout test log"),
    ("2016-10-20T18:39:20.57606443Z stderr F cri stderr test log", "stderr", "cri stderr test log"),
    ("2016-10-20T18:39:20.57606443Z stdout P cri stdout partial test log", "stdout", "cri stdout partial test log"),
    ("2016-10-20T18:39:20.57606443Z stdout P:TAG1:TAG2 cri stdout partial test log", "stdout",
     "cri stdout partial test log"),
]  # fmt: skip


@pytest.mark.parametrize(("line", "stream", "text"), KUBELET_CASES)
def test_each_runtime_line_reads_as_kubelet_reads_it(line: str, stream: str, text: str) -> None:
    records = json_line(line, OPTIONS) if line.startswith("{") else [cri(line, OPTIONS)]
    assert records is not None and len(records) == 1 and records[0] is not None
    (record,) = records
    assert (record.timestamp, record.extra["stream"], record.message) == (KUBELET_WHEN, stream, text)
    assert record.joins_next == (" P" in line)
    assert cri("unsupported log format test log", OPTIONS) is None  # kubelet: an error; here: not a record


@pytest.fixture
def client(tmp_path: Path) -> Iterator[Client]:
    writer = open_writer(LogsSettings(data_dir=tmp_path / "clickhouse"))
    try:
        yield writer
    finally:
        writer.close()


def stored(client: Client) -> list[dict[str, Any]]:
    query = "SELECT timestamp, level, logger, trace_id, message FROM application_logs ORDER BY timestamp, message"
    return list(client.query(query).named_results())


def test_a_pod_log_with_several_application_formats_and_a_long_line_in_pieces(client: Client, tmp_path: Path) -> None:
    long_json = '{"level":"error","msg":"charge failed: ' + "x" * 40 + '","trace_id":"4bf92f3577b34da6"}'
    pieces = [long_json[:20], long_json[20:50], long_json[50:]]
    lines = [
        "2026-11-30T10:15:01.000000001Z stdout F 2026/11/30 10:15:01 listening on :8080",
        "2026-11-30T10:15:02.000000001Z stderr F 2026/11/30 10:15:02 ERROR dial tcp 10.0.0.7:5432: refused",
        '2026-11-30T10:15:03.000000001Z stderr F time="2026-11-30T10:15:03Z" level=warning msg="retrying" try=3',
        "2026-11-30T10:15:04.000000001Z stderr F E1130 10:15:04.123456       1 reflector.go:138] watch failed",
        f"2026-11-30T10:15:05.000000001Z stderr P {pieces[0]}",
        f"2026-11-30T10:15:05.000000002Z stderr P {pieces[1]}",
        f"2026-11-30T10:15:05.000000003Z stderr F {pieces[2]}",
        "2026-11-30T10:15:06.000000001Z stdout F Warning: the cache is cold",
        "2026-11-30T10:15:07.000000001Z stdout F ",
    ]
    path = tmp_path / "payments_checkout-7d9f8-abcde_app-0.log"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = import_files(client, [path], options=OPTIONS)
    (file,) = report.files
    assert (file.format, file.lines, file.records, file.unparsed) == ("cri", 9, 7, 0)
    assert report.stored == 7
    got = [(r["level"], r["logger"], r["trace_id"], r["message"]) for r in stored(client)]
    assert got == [
        ("INFO", "", "", "2026/11/30 10:15:01 listening on :8080"),
        ("ERROR", "", "", "2026/11/30 10:15:02 ERROR dial tcp 10.0.0.7:5432: refused"),
        ("WARN", "", "", "retrying"),
        ("ERROR", "reflector.go:138", "", "watch failed"),
        ("ERROR", "", "4bf92f3577b34da6", "charge failed: " + "x" * 40),  # the pieces, whole, read as JSON
        ("WARN", "", "", "Warning: the cache is cold"),
        ("INFO", "", "", ""),  # an empty line the container wrote is kept
    ]
    assert stored(client)[4]["timestamp"] == datetime(2026, 11, 30, 10, 15, 5)  # the runtime's time, not the app's


def test_a_docker_json_file_log(client: Client, tmp_path: Path) -> None:
    path = tmp_path / "abc123-json.log"  # kubelet's TestReadLogs lines, then an application's JSON inside one
    path.write_text(
        '{"log":"line1\\n","stream":"stdout","time":"2020-09-27T11:18:01.00000000Z"}\n'
        '{"log":"line2\\n","stream":"stdout","time":"2020-09-27T11:18:02.00000000Z"}\n'
        '{"log":"line3\\n","stream":"stdout","time":"2020-09-27T11:18:03.00000000Z"}\n'
        '{"log":"{\\"severity\\":\\"ERROR\\",\\"message\\":\\"db down\\"}\\n","stream":"stderr",'
        '"time":"2020-09-27T11:18:04.5Z"}\n',
        encoding="utf-8",
    )
    report = import_files(client, [path], options=OPTIONS, ttl_days=0)
    assert (report.files[0].format, report.stored) == ("json", 4)
    assert [(r["level"], r["message"]) for r in stored(client)] == [
        ("INFO", "line1"), ("INFO", "line2"), ("INFO", "line3"), ("ERROR", "db down")
    ]  # fmt: skip


def test_a_cri_file_of_a_logfmt_application_is_detected_as_cri() -> None:
    sample = [
        f'2026-11-30T10:15:0{i}.0Z stdout F ts=2026-11-30T10:15:0{i}Z level=info msg="tick {i}"' for i in range(5)
    ]
    assert detect(sample, OPTIONS) == "cri"


# Lines in the default layouts of servers and loggers that have no preset of their own (written here in each
# one's documented layout): read by the timestamped-text fallback.
TIMESTAMPED = {
    "nginx_error.log": [
        "2026/11/30 10:15:02 [error] 1234#0: *5 connect() failed (111: Connection refused) while connecting to up",
        "2026/11/30 10:15:03 [warn] 1234#0: *6 an upstream response is buffered to a temporary file",
    ],
    "postgresql.log": [
        '2026-11-30 10:15:02.123 UTC [1234] ERROR:  relation "users" does not exist at character 15',
        "2026-11-30 10:15:02.123 UTC [1234] STATEMENT:  SELECT * FROM users;",
        "2026-11-30 10:15:03.456 UTC [1240] LOG:  checkpoint starting: time",
    ],
    "python.log": [  # logging's cookbook layout, with a traceback after the record
        "2026-11-30 10:15:02,123 - payments.db - ERROR - connection lost",
        "Traceback (most recent call last):",
        '  File "db.py", line 12, in connect',
        "2026-11-30 10:15:03,456 - payments.web - INFO - GET / 200",
    ],
    "gunicorn.log": [
        "[2026-11-30 10:15:02 +0100] [7] [INFO] Booting worker with pid: 7",
        "[2026-11-30 10:15:03 +0100] [7] [ERROR] Exception in worker process",
    ],
    "redis.log": [
        "1:M 30 Nov 2026 10:15:02.123 * Ready to accept connections tcp",
        "1:M 30 Nov 2026 10:15:03.456 # WARNING Memory overcommit must be enabled!",
    ],
}


def test_servers_without_a_preset_import_by_their_leading_timestamp(client: Client, tmp_path: Path) -> None:
    paths = []
    for name, lines in TIMESTAMPED.items():
        paths.append(tmp_path / name)
        paths[-1].write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = import_files(client, paths, options=OPTIONS)
    assert {Path(f.path).name: (f.format, f.records, f.folded, f.unparsed) for f in report.files} == {
        "nginx_error.log": ("text", 2, 0, 0),
        "postgresql.log": ("text", 3, 0, 0),
        "python.log": ("text", 2, 2, 0),
        "gunicorn.log": ("text", 2, 0, 0),
        "redis.log": ("text", 2, 0, 0),
    }
    got = {(r["timestamp"], r["message"].splitlines()[0]): r["level"] for r in stored(client)}
    assert got == {
        (datetime(2026, 11, 30, 10, 15, 2), "[error] 1234#0: *5 connect() failed (111: Connection refused) while "
         "connecting to up"): "ERROR",
        (datetime(2026, 11, 30, 10, 15, 3), "[warn] 1234#0: *6 an upstream response is buffered to a temporary "
         "file"): "WARN",
        (datetime(2026, 11, 30, 10, 15, 2, 123000), '[1234] ERROR:  relation "users" does not exist at character '
         "15"): "ERROR",
        (datetime(2026, 11, 30, 10, 15, 2, 123000), "[1234] STATEMENT:  SELECT * FROM users;"): "INFO",
        (datetime(2026, 11, 30, 10, 15, 3, 456000), "[1240] LOG:  checkpoint starting: time"):
            "INFO",
        (datetime(2026, 11, 30, 10, 15, 2, 123000), "- payments.db - ERROR - connection lost"): "ERROR",
        (datetime(2026, 11, 30, 10, 15, 3, 456000), "- payments.web - INFO - GET / 200"): "INFO",
        (datetime(2026, 11, 30, 9, 15, 2), "[7] [INFO] Booting worker with pid: 7"): "INFO",  # +0100 stored as UTC
        (datetime(2026, 11, 30, 9, 15, 3), "[7] [ERROR] Exception in worker process"): "ERROR",
        (datetime(2026, 11, 30, 10, 15, 2), "1:M * Ready to accept connections tcp"): "INFO",
        (datetime(2026, 11, 30, 10, 15, 3), "1:M # WARNING Memory overcommit must be enabled!"): "WARN",
    }  # fmt: skip


def test_the_fallback_never_takes_a_file_another_format_reads() -> None:
    log4j = [f"2026-11-30 10:15:0{i},123 ERROR [main] com.example.App - failed {i}" for i in range(4)]
    assert detect([*log4j, "2026-11-30 10:15:09,000 - odd - INFO - one"], OPTIONS) == "log4j"
