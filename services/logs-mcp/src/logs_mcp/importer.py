"""Load log files into the lab's schema (`logs-mcp import FILE...`): parse, fold continuation lines, batch by
partition, and check that what is stored is what was read.

- Each file's format is detected from its first lines (or given); a line its parser does not take is folded
  into the record before it (a stack frame, a wrapped message), or counted and shown as unparsed (with its line
  number) when there is no record before it or the format has no continuation lines (JSON): nothing is dropped
  without a word.
- Nothing is written until every file has been read once: the oldest line is known before any insert, so data
  older than the table's TTL (which ClickHouse would delete right after the insert reported success) is
  refused with the reason, unless the caller sets the retention (`ttl_days`; 0 removes the TTL).
- Inserts go one day (one partition) at a time, so a file spanning months never hits TOO_MANY_PARTS
  (`max_partitions_per_insert_block`).
- Afterwards the rows of every day written are counted again: each day must have gained exactly the records
  read for it, or the import fails saying which days differ.
"""

from __future__ import annotations

import re
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from logs_mcp.formats import TEXT_PRESETS, Options, Record, detect, join_pieces, json_line, user_regex
from mcp_common.errors import ConfigError

if TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

COLUMNS = ("timestamp", "service", "level", "host", "pod", "namespace", "logger", "trace_id", "message",
           "duration_ms", "status_code")  # fmt: skip
# the table's TTL as system.tables shows it (a bound number shows as _CAST(n, 'UInt32'))
TTL_DAYS = re.compile(r"TTL toDateTime\(timestamp\) \+ toIntervalDay\((?:_CAST\()?(\d+)")
BATCH_ROWS = 50_000
MAX_MESSAGE = 256 * 1024  # continuation lines fold into a record up to this size; past it they count as unparsed
Progress = Callable[[int], None]  # bytes read since the last call


class ImportRefusedError(Exception):
    """The import would lose data or cannot be done; the message says why and what to do."""


@dataclass
class FileReport:
    path: str
    format: str
    lines: int = 0
    records: int = 0
    folded: int = 0  # continuation lines appended to the record before them
    unparsed: int = 0
    not_utf8: int = 0  # lines kept with U+FFFD in place of bytes that are not UTF-8
    unparsed_examples: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    files: list[FileReport]
    records: int  # read (pass 1)
    stored: int  # rows the table gained on those days, read back after the writes
    days: int  # partitions written
    inserts: int  # INSERT statements (one per day per batch)
    first: datetime | None
    last: datetime | None
    ttl_days: int | None  # the table's retention after the import (None: keeps everything)
    bytes_read: int
    seconds: float


def parser_for(path: Path, fmt: str, regex: str | None, options: Options) -> tuple[str, Callable[[str], list[Record]]]:
    """The format's name and a function from a line to its records ([] when the line is not a record)."""
    if fmt == "regex" or regex:
        if not regex:
            raise ConfigError("--format regex needs --regex with (?P<time>…) and (?P<message>…) groups")
        custom = user_regex(regex)
        return "regex", lambda line: [record] if (record := custom(line, options)) else []
    if fmt == "auto":
        with path.open(encoding="utf-8", errors="replace") as handle:
            sample = [line.rstrip("\n") for _, line in zip(range(50), handle, strict=False)]
        found = detect(sample, options)
        if found is None:
            raise ConfigError(
                f"cannot tell the format of {path}: its first lines are none of json, {', '.join(TEXT_PRESETS)}; "
                "pass --format, or --regex with (?P<time>…) and (?P<message>…) groups"
            )
        fmt = found
    if fmt == "json":
        return "json", lambda line: json_line(line, options) or []
    parser = TEXT_PRESETS.get(fmt)
    if parser is None:
        raise ConfigError(f"unknown format {fmt!r}; known: auto, json, {', '.join(TEXT_PRESETS)}, regex")
    return fmt, lambda line: [record] if (record := parser(line, options)) else []


def read_file(
    path: Path, parse: Callable[[str], list[Record]], report: FileReport, options: Options, progress: Progress | None
) -> Iterator[Record]:
    """The file's records, continuation lines folded in, defaults filled (service: the file's name)."""
    service = options.service or path.name.split(".")[0]
    pending: Record | None = None
    foldable = report.format != "json"
    with path.open("rb") as handle:
        for raw in handle:
            if progress:
                progress(len(raw))
            try:
                line = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError:  # kept, with U+FFFD for the bytes that are not UTF-8, and counted
                line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                report.not_utf8 += 1
            report.lines += 1
            if not line.strip():
                continue
            records = parse(line)
            if not records:
                if pending is not None and foldable and len(pending.message) + len(line) < MAX_MESSAGE:
                    pending.message += "\n" + line
                    report.folded += 1
                else:
                    report.unparsed += 1
                    if len(report.unparsed_examples) < 3:
                        report.unparsed_examples.append(f"line {report.lines}: {line[:160]}")
                continue
            joined = join_pieces(pending, line, options) if pending is not None and pending.joins_next else None
            if joined is not None:  # the runtime's pieces of one long line
                records = [_filled(joined, service, options)]
            elif pending is not None:
                yield pending
            for record in records[:-1]:
                yield _filled(record, service, options)
            pending = _filled(records[-1], service, options)
    if pending is not None:
        yield pending


def _filled(record: Record, service: str, options: Options) -> Record:
    record.service = record.service or service
    record.host = record.host or options.host or record.pod
    record.pod = record.pod or ""
    return record


def table_ttl_days(client: Client) -> int | None:
    """The TTL of application_logs in days, or None when it has none."""
    engine = client.query(
        "SELECT engine_full FROM system.tables WHERE database = currentDatabase() AND name = 'application_logs'"
    ).result_rows
    if not engine:
        raise ImportRefusedError("the store has no application_logs table; apply the schema first")
    match = TTL_DAYS.search(engine[0][0])
    return int(match[1]) if match else None


def set_ttl_days(client: Client, days: int) -> None:
    """Keep application_logs' lines `days` days (0: keep them all: no TTL)."""
    if days == 0:
        client.command("ALTER TABLE application_logs REMOVE TTL")
    else:
        client.command(
            "ALTER TABLE application_logs MODIFY TTL toDateTime(timestamp) + toIntervalDay({days:UInt32})",
            parameters={"days": days},
        )


def rows_per_day(client: Client, days: Collection[date]) -> dict[date, int]:
    """Rows of application_logs per day, for the given days (read back after the import)."""
    if not days:
        return {}
    rows = client.query(
        "SELECT toDate(timestamp) AS day, count() FROM application_logs WHERE toDate(timestamp) IN {days:Array(Date)} "
        "GROUP BY day",
        parameters={"days": sorted(days)},
    ).result_rows
    return {day: int(count) for day, count in rows}


def _insert(client: Client, batch: list[Record]) -> int:
    """Insert one batch one day (one partition) at a time; the number of inserts made."""
    by_day: dict[date, list[Record]] = defaultdict(list)
    for record in batch:
        by_day[record.timestamp.astimezone(UTC).date()].append(record)
    for day in sorted(by_day):
        rows = [
            (r.timestamp, r.service, r.level, r.host, r.pod, r.namespace, r.logger, r.trace_id, r.message,
             r.duration_ms, r.status_code)
            for r in by_day[day]
        ]  # fmt: skip
        client.insert("application_logs", rows, column_names=COLUMNS)
    return len(by_day)


def import_files(
    client: Client,
    paths: Sequence[Path],
    *,
    fmt: str = "auto",
    regex: str | None = None,
    options: Options | None = None,
    ttl_days: int | None = None,
    progress: Progress | None = None,
    batch_rows: int = BATCH_ROWS,
) -> ImportReport:
    """Import `paths` into application_logs (the client's database, schema applied); see the module doc.

    `ttl_days` sets the table's retention first (0: none); None keeps the table's own and refuses lines older than it.
    """
    options = options or Options()
    began = time.perf_counter()
    missing = [str(path) for path in paths if not path.is_file()]
    if missing:
        raise ConfigError(f"no such file: {', '.join(missing)}")
    if ttl_days is not None and ttl_days < 0:
        raise ConfigError(f"--ttl-days must be 0 (keep everything) or a number of days (got {ttl_days})")
    parsers = [parser_for(path, fmt, regex, options) for path in paths]
    total_bytes = 2 * sum(path.stat().st_size for path in paths)  # read twice: the check, then the write

    # Pass 1: read everything once (no writes): records per day and the time span, for the TTL check.
    scans = [FileReport(str(path), name) for path, (name, _) in zip(paths, parsers, strict=True)]
    expected: dict[date, int] = defaultdict(int)
    first = last = None
    for path, (_, parse), scan in zip(paths, parsers, scans, strict=True):
        for record in read_file(path, parse, scan, options, progress):
            expected[record.timestamp.astimezone(UTC).date()] += 1
            first = record.timestamp if first is None or record.timestamp < first else first
            last = record.timestamp if last is None or record.timestamp > last else last
    records = sum(expected.values())
    current_ttl = table_ttl_days(client)
    ttl = current_ttl if ttl_days is None else (ttl_days or None)
    if ttl is not None and first is not None and first < options.now - timedelta(days=ttl):
        age = (options.now - first).days + 1
        raise ImportRefusedError(
            f"the files hold lines from {first:%Y-%m-%d}, {age} days ago, older than application_logs' {ttl}-day TTL: "
            "ClickHouse would delete them right after the insert. Re-run with --ttl-days 0 (keep every line: no TTL) "
            f"or --ttl-days {age} or more; nothing was written"
        )
    if ttl_days is not None and ttl != current_ttl:
        set_ttl_days(client, ttl_days)

    # Pass 2: write, one partition per insert, then read back the rows per day.
    before = rows_per_day(client, expected.keys())
    inserts = 0
    reports = [FileReport(str(path), name) for path, (name, _) in zip(paths, parsers, strict=True)]
    for path, (_, parse), report in zip(paths, parsers, reports, strict=True):
        batch: list[Record] = []
        for record in read_file(path, parse, report, options, progress):
            batch.append(record)
            report.records += 1
            if len(batch) >= batch_rows:
                inserts += _insert(client, batch)
                batch = []
        if batch:
            inserts += _insert(client, batch)
    after = rows_per_day(client, expected.keys())
    short = {day: (count, after.get(day, 0) - before.get(day, 0)) for day, count in expected.items()}
    short = {day: counts for day, counts in short.items() if counts[0] != counts[1]}
    stored = sum(after.values()) - sum(before.values())
    if short:
        days = ", ".join(f"{day}: read {read:,}, stored {got:,}" for day, (read, got) in sorted(short.items())[:5])
        raise ImportRefusedError(
            f"read {records:,} records but {stored:,} rows were stored ({days}): another writer may be running, or "
            "the table dropped rows (a TTL); count the table's rows and re-run on a quiet store"
        )
    return ImportReport(
        files=reports,
        records=records,
        stored=stored,
        days=len(expected),
        inserts=inserts,
        first=first,
        last=last,
        ttl_days=ttl,
        bytes_read=total_bytes,
        seconds=time.perf_counter() - began,
    )


class StderrProgress:
    """A one-line progress bar on stderr (redrawn in place on a terminal, a line every 10 % otherwise)."""

    def __init__(self, total_bytes: int, stream: TextIO | None = None) -> None:
        self.total = max(total_bytes, 1)
        self.done = 0
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.began = time.perf_counter()
        self._shown = -1

    def __call__(self, read: int) -> None:
        self.done += read
        percent = min(100, self.done * 100 // self.total)
        step = percent if self.tty else percent // 10 * 10
        if step == self._shown:
            return
        self._shown = step
        bar = "#" * (percent // 4)
        elapsed = time.perf_counter() - self.began
        line = f"import [{bar:<25}] {percent:3d}% {self.done / 1e6:,.1f}/{self.total / 1e6:,.1f} MB {elapsed:.1f} s"
        self.stream.write(f"\r{line}" if self.tty else f"{line}\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty and self._shown >= 0:
            self.stream.write("\n")
            self.stream.flush()
