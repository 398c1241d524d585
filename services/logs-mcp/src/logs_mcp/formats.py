"""Log file formats the importer reads: JSON lines (OpenTelemetry's OTLP/JSON and common field names), logfmt,
and plain text presets (syslog, log4j/logback, nginx/apache access and apache error logs, klog, and the container
runtimes' own files: CRI's `<time> <stream> <P|F> <line>` and Docker's json-file) or a user regex.

Each parser turns one line into a `Record` or None (the line is not a record of this format: a stack frame
or a wrapped line, which the importer folds into the record before it). One module past ~500 lines on purpose:
detection tries every format on the same lines, and the container formats read the others inside them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from mcp_common.errors import ConfigError

LEVELS = {
    "ERROR": ("error", "err", "fatal", "critical", "crit", "alert", "emerg", "emergency", "severe", "panic", "e", "f"),
    "WARN": ("warn", "warning", "w"),
    "DEBUG": ("debug", "trace", "fine", "finer", "finest", "verbose", "d", "t", "notice_debug"),
}
# syslog severities 0-7: emerg, alert, crit, err, warning, notice, info, debug
SYSLOG_SEVERITY = ("ERROR", "ERROR", "ERROR", "ERROR", "WARN", "INFO", "INFO", "DEBUG")
# Field names seen in the wild, most specific first (flattened with dots: {"kubernetes": {"pod_name": …}}).
FIELDS: dict[str, tuple[str, ...]] = {
    "timestamp": (
        "timestamp",
        "@timestamp",
        "time",
        "ts",
        "datetime",
        "date",
        "t",
        "timeUnixNano",
        "Timestamp",
        "__REALTIME_TIMESTAMP",
    ),
    "level": (
        "level",
        "severity",
        "severityText",
        "SeverityText",
        "log.level",
        "levelname",
        "loglevel",
        "lvl",
        "PRIORITY",
    ),
    "message": ("message", "msg", "body", "Body", "log", "text", "event", "short_message", "MESSAGE"),
    "service": (
        "service",
        "service.name",
        "service_name",
        "app",
        "application",
        "component",
        "program",
        "SYSLOG_IDENTIFIER",
    ),
    "host": ("host", "hostname", "host.name", "kubernetes.host", "node", "_HOSTNAME"),
    "pod": ("pod", "pod_name", "kubernetes.pod_name", "k8s.pod.name", "kubernetes.pod.name"),
    "namespace": ("namespace", "kubernetes.namespace_name", "k8s.namespace.name", "kubernetes.namespace"),
    "logger": ("logger", "logger_name", "loggerName", "log.logger", "name", "caller", "scope", "module"),
    "trace_id": ("trace_id", "traceId", "trace.id", "traceid", "TraceId", "dd.trace_id", "trace"),
    "duration_ms": ("duration_ms", "latency_ms", "elapsed_ms", "took_ms", "response_time_ms"),
    "status_code": ("status_code", "status", "http.status_code", "http.response.status_code", "statusCode"),
}
MONTHS = {
    month: number
    for number, month in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1
    )
}


@dataclass
class Record:
    """One log line as the store keeps it (strings empty when unknown)."""

    timestamp: datetime
    message: str
    level: str = "INFO"
    service: str = ""
    host: str = ""
    pod: str = ""
    namespace: str = ""
    logger: str = ""
    trace_id: str = ""
    duration_ms: int | None = None
    status_code: int | None = None
    extra: dict[str, str] = field(default_factory=dict)
    joins_next: bool = False  # a piece of a line the runtime cut (CRI's P tag), kept as written: the next continues it


def normalize_level(value: Any, default: str = "INFO") -> str:
    """ERROR, WARN, INFO or DEBUG from a level word (error, Warning, crit, fatal, trace …) or a syslog severity
    number 0-7 (journald's PRIORITY); anything else is INFO."""
    text = str(value if value is not None else "").strip().lower()
    if not text:
        return default
    if text.isdigit():  # syslog 0-7; pino and bunyan 10 (trace) … 60 (fatal)
        number = int(text)
        if number < len(SYSLOG_SEVERITY):
            return SYSLOG_SEVERITY[number]
        return "ERROR" if number >= 50 else "WARN" if number >= 40 else "INFO" if number >= 30 else "DEBUG"
    for level, words in LEVELS.items():
        if text in words or text.rstrip(":") in words:
            return level
    return "INFO"


def parse_time(value: Any, zone: tzinfo = UTC) -> datetime | None:
    """ISO 8601 (with or without zone, `,` or `.` fraction), epoch seconds/ms/µs/ns, or None."""
    if isinstance(value, (int, float)) or (isinstance(value, str) and re.fullmatch(r"\d{9,19}(\.\d+)?", value)):
        number = float(value)
        for scale in (1, 1e3, 1e6, 1e9):  # the unit that lands after 2001
            if number / scale < 4e9:
                return datetime.fromtimestamp(number / scale, UTC)
        return None
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace(",", ".", 1) if re.search(r"\d,\d{3}\b", value) else value.strip()
    text = re.sub(r"Z$", "+00:00", text)
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)  # Python keeps microseconds
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{name}."))
        out[name] = value
    return out


def _pick(fields: Mapping[str, Any], logical: str) -> Any:
    for name in FIELDS[logical]:
        value = fields.get(name)
        if value not in (None, ""):
            return value
    return None


def _int(value: Any) -> int | None:
    try:
        return int(float(value)) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def record_from_fields(fields: Mapping[str, Any], zone: tzinfo) -> Record | None:
    """A record from named fields (JSON or logfmt), or None without a time and a message."""
    when = parse_time(_pick(fields, "timestamp"), zone)
    message = _pick(fields, "message")
    if when is None or message is None:
        return None
    used = {name for names in FIELDS.values() for name in names}
    return Record(
        timestamp=when,
        message=message if isinstance(message, str) else json.dumps(message, separators=(",", ":")),
        level=normalize_level(_pick(fields, "level")),
        service=str(_pick(fields, "service") or ""),
        host=str(_pick(fields, "host") or ""),
        pod=str(_pick(fields, "pod") or ""),
        namespace=str(_pick(fields, "namespace") or ""),
        logger=str(_pick(fields, "logger") or ""),
        trace_id=str(_pick(fields, "trace_id") or ""),
        duration_ms=_int(_pick(fields, "duration_ms")),
        status_code=_int(_pick(fields, "status_code")),
        extra={k: str(v) for k, v in fields.items() if k not in used and not isinstance(v, (dict, list))},
    )


# -- OpenTelemetry OTLP/JSON (the collector's file exporter writes one ExportLogsServiceRequest per line) -----


def _otlp_value(value: Mapping[str, Any]) -> Any:
    for kind in ("stringValue", "intValue", "doubleValue", "boolValue"):
        if kind in value:
            return value[kind]
    if "kvlistValue" in value or "arrayValue" in value:
        return json.dumps(value, separators=(",", ":"))
    return ""


def _otlp_attributes(items: list[Mapping[str, Any]] | None) -> dict[str, Any]:
    return {item["key"]: _otlp_value(item.get("value", {})) for item in items or [] if "key" in item}


def otlp_records(data: Mapping[str, Any]) -> Iterator[Record]:
    for resource_logs in data.get("resourceLogs", []):
        resource = _otlp_attributes(resource_logs.get("resource", {}).get("attributes"))
        for scope_logs in resource_logs.get("scopeLogs", []):
            scope = scope_logs.get("scope", {}).get("name", "")
            for log in scope_logs.get("logRecords", []):
                attributes = _otlp_attributes(log.get("attributes"))
                nanos = log.get("timeUnixNano") or log.get("observedTimeUnixNano") or "0"
                number = int(log.get("severityNumber") or 0)
                level = (
                    "ERROR" if number >= 17 else "WARN" if number >= 13 else "INFO" if number >= 9
                    else "DEBUG" if number >= 1 else normalize_level(log.get("severityText"))
                )  # fmt: skip
                yield Record(
                    timestamp=datetime.fromtimestamp(int(nanos) / 1e9, UTC),
                    message=str(_otlp_value(log.get("body", {}))),
                    level=level,
                    service=str(resource.get("service.name", "")),
                    host=str(resource.get("host.name") or resource.get("k8s.pod.name") or ""),
                    pod=str(resource.get("k8s.pod.name", "")),
                    namespace=str(resource.get("k8s.namespace.name", "")),
                    logger=str(scope),
                    trace_id=str(log.get("traceId", "")),
                    status_code=_int(attributes.get("http.response.status_code")),
                )


# -- text formats --------------------------------------------------------------------------------------------

SYSLOG = re.compile(
    r"^(?:<(?P<pri>\d{1,3})>)?(?P<month>[A-Z][a-z]{2}) +(?P<day>\d{1,2}) (?P<clock>\d{2}:\d{2}:\d{2}) "
    r"(?P<host>\S+) (?P<service>[^\s:\[]+)(?:\[(?P<pid>\d+)\])?: ?(?P<message>.*)$"
)
SYSLOG_5424 = re.compile(
    r"^<(?P<pri>\d{1,3})>1 (?P<time>\S+) (?P<host>\S+) (?P<service>\S+) (?P<pid>\S+) (?P<msgid>\S+) "
    r"(?P<sd>-|(?:\[.*?\])+) ?(?P<message>.*)$"
)
# log4j/logback layouts: "<date> [thread] LEVEL logger - message", "<date> LEVEL [thread] logger: message", and
# Spring Boot's "<date>  LEVEL <pid> --- [app] [thread] logger : message"
LOG4J = re.compile(
    r"^(?P<time>\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d{1,9})?(?:Z|[+-]\d{2}:?\d{2})?) +"
    r"(?:\[(?P<thread>[^\]]*)\] +)?(?P<level>TRACE|DEBUG|INFO|WARN|WARNING|ERROR|FATAL|SEVERE)\b:? +"
    r"(?:\d+ +--- +(?:\[[^\]]*\] +)?)?(?:\[(?P<thread2>[^\]]*)\] +)?"
    r"(?:(?P<logger>[\w.$-]+) *(?:- |: ))?(?P<message>.*)$"
)
ACCESS = re.compile(
    r'^(?P<client>\S+) \S+ (?P<user>\S+) \[(?P<time>[^\]]+)\] "(?P<request>[^"]*)" (?P<status>\d{3}) '
    r'(?P<bytes>\d+|-)(?: "(?P<referer>[^"]*)" "(?P<agent>[^"]*)")?(?: (?P<duration>[\d.]+))?.*$'
)
APACHE_ERROR = re.compile(
    r"^\[(?P<time>[A-Z][a-z]{2} [A-Z][a-z]{2} +\d{1,2} \d{2}:\d{2}:\d{2}(?:\.\d+)? \d{4})\] "
    r"\[(?:[\w-]+:)?(?P<level>\w+)\] (?:\[pid \d+(?::tid \d+)?\] )?(?:\[client (?P<client>[^\]]+)\] )?(?P<message>.*)$"
)


@dataclass(frozen=True)
class Options:
    """What a file's lines do not say: the zone of naive times, the year of year-less dates, defaults."""

    zone: tzinfo = UTC
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    service: str = ""
    host: str = ""


def _yearless(month: str, day: str, clock: str, options: Options) -> datetime | None:
    number = MONTHS.get(month.lower())
    if number is None:
        return None
    hour, minute, second = (int(part) for part in clock.split(":"))
    when = datetime(options.now.year, number, int(day), hour, minute, second, tzinfo=options.zone)
    return when.replace(year=when.year - 1) if when > options.now + timedelta(days=1) else when


def syslog(line: str, options: Options) -> Record | None:
    match = SYSLOG_5424.match(line)
    if match:
        when = parse_time(match["time"], options.zone)
        if when is None:
            return None
        fields = match.groupdict()
    else:
        match = SYSLOG.match(line)
        if not match:
            return None
        fields = match.groupdict()
        when = _yearless(fields["month"], fields["day"], fields["clock"], options)
        if when is None:
            return None
    pri = fields.get("pri")
    level = SYSLOG_SEVERITY[int(pri) % 8] if pri else "INFO"
    message = fields["message"]
    if not pri:  # no priority: the message's own words may say it
        level = leading_level(message)
    return Record(when, message, level, service=fields["service"], host=fields["host"])


def log4j(line: str, options: Options) -> Record | None:
    match = LOG4J.match(line)
    if not match:
        return None
    when = parse_time(match["time"], options.zone)
    if when is None:
        return None
    return Record(when, match["message"], normalize_level(match["level"]), logger=match["logger"] or "")


def access(line: str, options: Options) -> Record | None:
    """nginx/apache access (common or combined, optionally a request time after): the line without its date is
    the message (client, request, status, bytes, referer, agent: nothing dropped); 5xx ERROR, 4xx WARN."""
    match = ACCESS.match(line)
    if not match:
        return None
    try:
        when = datetime.strptime(match["time"], "%d/%b/%Y:%H:%M:%S %z")
    except ValueError:
        return None
    status = int(match["status"])
    duration = match["duration"]
    start, end = match.span("time")
    return Record(
        when.astimezone(UTC),
        (line[: start - 1].rstrip() + " " + line[end + 1 :].lstrip()).strip(),
        "ERROR" if status >= 500 else "WARN" if status >= 400 else "INFO",
        host=options.host,
        status_code=status,
        duration_ms=round(float(duration) * 1000) if duration and "." in duration else _int(duration),
    )


def apache_error(line: str, options: Options) -> Record | None:
    match = APACHE_ERROR.match(line)
    if not match:
        return None
    try:
        when = datetime.strptime(re.sub(r"\.\d+", "", match["time"]), "%a %b %d %H:%M:%S %Y")
    except ValueError:
        return None
    return Record(when.replace(tzinfo=options.zone), match["message"], normalize_level(match["level"]))


# Kubernetes components and client-go programs (klog): "E1130 10:15:03.123456    1 file.go:123] message"
KLOG = re.compile(
    r"^(?P<level>[IWEF])(?P<month>\d{2})(?P<day>\d{2}) (?P<clock>\d{2}:\d{2}:\d{2})(?:\.\d+)? +\d+ "
    r"(?P<source>[^\s\]]+)\] (?P<message>.*)$"
)
KLOG_LEVELS = {"I": "INFO", "W": "WARN", "E": "ERROR", "F": "ERROR"}
# The first word of a message, after a date and time it may start with (Go's log: "2026/11/30 10:15:02 ERROR …")
LEADING_WORD = re.compile(
    r"^(?:\d{4}[-/]\d{2}[-/]\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})? +)?\W*([A-Za-z]+)\b"
)
# CRI (containerd, CRI-O): what kubelet keeps under /var/log/pods and /var/log/containers; the tag is P (a piece of a
# long line) or F, possibly followed by more tags (`P:TAG1:TAG2`, as kubelet's own parser reads them)
CRI = re.compile(
    r"^(?P<time>\d{4}-\d{2}-\d{2}T\S+) (?P<stream>stdout|stderr) (?P<tag>[PF])(?::\S*)?(?: (?P<message>.*))?$"
)


def leading_level(text: str) -> str:
    """The level a message's first word says (`ERROR …`, `[warn] …`, `2026/11/30 10:15:02 ERROR …`), else INFO."""
    word = LEADING_WORD.match(text)
    return normalize_level(word[1]) if word else "INFO"


def klog(line: str, options: Options) -> Record | None:
    match = KLOG.match(line)
    if not match:
        return None
    month = next((name for name, number in MONTHS.items() if number == int(match["month"])), "")
    when = _yearless(month, match["day"], match["clock"], options)
    if when is None:
        return None
    return Record(when, match["message"], KLOG_LEVELS[match["level"]], logger=match["source"])


def container_line(when: datetime, text: str, options: Options) -> Record:
    """A line a container wrote, as its runtime stored it: the runtime's time, and the application's own format
    inside when it has one (JSON, logfmt, klog, log4j: its level, logger, trace id …); otherwise the message as
    written, its level from a leading level word (`ERROR …`, `[warn] …`). stderr alone says nothing of the level
    (most loggers write everything there)."""
    text = text.rstrip("\r\n")
    inner: Record | None = None
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            data = None
        if isinstance(data, dict):
            inner = record_from_fields({"time": when.isoformat(), **flatten(data)}, options.zone)
    if inner is None and "=" in text:
        fields = _logfmt_fields(text)
        if len(fields) >= 2 and _pick(fields, "message") is not None:
            inner = record_from_fields({"time": when.isoformat(), **fields}, options.zone)
    inner = inner or klog(text, options) or log4j(text, options)
    if inner is not None:
        inner.timestamp = when
        return inner
    return Record(when, text, leading_level(text))


def cri(line: str, options: Options) -> Record | None:
    match = CRI.match(line)
    if not match:
        return None
    when = parse_time(match["time"], options.zone)
    if when is None:
        return None
    return _cri_record(when, match, match["message"] or "", options)


def join_pieces(first: Record, line: str, options: Options) -> Record | None:
    """`first`, a piece of a line the runtime cut (its message the text so far, as written), continued by the CRI
    line `line`: a longer piece, or the whole line read as one. None when `line` is not a CRI line."""
    match = CRI.match(line)
    if not match:
        return None
    return _cri_record(first.timestamp, match, first.message + (match["message"] or ""), options)


def _cri_record(when: datetime, match: re.Match[str], text: str, options: Options) -> Record:
    """A piece (P) is kept as written until the line is whole; a whole line (F) is read as the container wrote it."""
    piece = match["tag"] == "P"
    record = Record(when, text, joins_next=True) if piece else container_line(when, text, options)
    record.extra["stream"] = match["stream"]
    return record


def json_line(line: str, options: Options) -> list[Record] | None:
    try:
        data = json.loads(line)
    except json.JSONDecodeError:
        return None
    if not isinstance(data, dict):
        return None
    if "resourceLogs" in data:
        return list(otlp_records(data))
    if isinstance(data.get("log"), str) and "stream" in data and "time" in data:  # Docker's json-file driver
        when = parse_time(data["time"], options.zone)
        if when is None:
            return None
        wrapped = container_line(when, data["log"], options)
        wrapped.extra["stream"] = str(data["stream"])
        return [wrapped]
    record = record_from_fields(flatten(data), options.zone)
    return [record] if record else None


LOGFMT_PAIR = re.compile(r'([^\s="]+)=("(?:[^"\\]|\\.)*"|[^\s"]*)')


def _logfmt_fields(line: str) -> dict[str, str]:
    fields = {}
    for key, raw in LOGFMT_PAIR.findall(line):
        quoted = raw.startswith('"') and raw.endswith('"') and len(raw) >= 2
        fields[key] = re.sub(r"\\(.)", r"\1", raw[1:-1]) if quoted else raw
    return fields


def logfmt(line: str, options: Options) -> Record | None:
    """key=value pairs; values bare or double-quoted with backslash escapes (bare words are flags)."""
    fields = _logfmt_fields(line)
    if len(fields) < 2:
        return None
    return record_from_fields(fields, options.zone)


def user_regex(pattern: str) -> Callable[[str, Options], Record | None]:
    """A parser from a regex with named groups: time and message required; level, service, host, pod, … optional."""
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise ConfigError(f"--regex: not a valid regular expression: {exc}") from None
    missing = {"time", "message"} - set(compiled.groupindex)
    if missing:
        raise ConfigError(f"--regex needs the named groups (?P<time>…) and (?P<message>…); missing: {sorted(missing)}")

    def parse(line: str, options: Options) -> Record | None:
        match = compiled.match(line)
        if not match:
            return None
        fields = {("timestamp" if k == "time" else k): v for k, v in match.groupdict().items() if v is not None}
        return record_from_fields(fields, options.zone)

    return parse


# Any other line that starts with a date and time (after at most a few characters, in brackets or not): nginx's
# error log, PostgreSQL, Python's logging, gunicorn, Rails, Redis … The time may carry a zone (Z, +0000, UTC).
TIMESTAMPED = re.compile(
    r"^(?P<prefix>.{0,6}?)\[?(?P<time>"
    r"(?P<iso>\d{4}[-/]\d{2}[-/]\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d{1,9})?)(?: ?(?P<zone>Z|[+-]\d{2}:?\d{2}|UTC|GMT))?"
    r"|(?P<dmy>\d{1,2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2})(?:\.\d{1,9})?"
    r")\]?(?=\s|$)"
)
# A level word as loggers print it: upper case (ERROR), or set off by brackets or a colon ([error], error:)
LEVEL_TOKEN = re.compile(r"^(?:[A-Z]{3,}:?|\[[A-Za-z]{3,}\]|[A-Za-z]{3,}:)$")


def timestamped(line: str, options: Options) -> Record | None:
    """A line that starts with a date and time: the line without the time is the message (nothing else dropped);
    the level is the first level word among the next few words (`[error]`, `ERROR:`, `- ERROR -`, `[INFO]`)."""
    match = TIMESTAMPED.match(line)
    if not match:
        return None
    if match["iso"]:
        zone = match["zone"] or ""
        zone = "+00:00" if zone in ("Z", "UTC", "GMT") else zone
        zone = f"{zone[:3]}:{zone[3:]}" if len(zone) == 5 else zone  # +0000 -> +00:00
        when = parse_time(match["iso"].replace("/", "-") + zone, options.zone)
    else:
        try:
            when = datetime.strptime(match["dmy"], "%d %b %Y %H:%M:%S").replace(tzinfo=options.zone)
        except ValueError:
            when = None
    if when is None:
        return None
    message = (line[: match.start("time")].rstrip("[ ") + " " + line[match.end() :].lstrip()).strip()
    level = "INFO"
    for word in line[match.end() :].split()[:6]:
        if LEVEL_TOKEN.match(word) and (found := normalize_level(word.strip("[]:"))) != "INFO":
            level = found
            break
    return Record(when, message, level)


TEXT_PRESETS: dict[str, Callable[[str, Options], Record | None]] = {
    "syslog": syslog,
    "log4j": log4j,
    "access": access,
    "apache-error": apache_error,
    "cri": cri,  # before logfmt: a CRI line whose application writes logfmt parses as both (ties go to the first)
    "klog": klog,
    "logfmt": logfmt,
    "text": timestamped,  # the fallback: detection tries it only when no other format fits
}
FORMATS = ("auto", "json", *TEXT_PRESETS, "regex")


def detect(sample: list[str], options: Options) -> str | None:
    """The format most of the sample's lines parse as, or None. A format whose records are followed by many
    continuation lines (stack traces) counts too when the sample's first line is one of its records."""
    lines = [line for line in sample if line.strip()][:50]
    if not lines:
        return None
    parsers: dict[str, Callable[[str, Options], object]] = {"json": json_line, **TEXT_PRESETS}
    fallback = parsers.pop("text")
    for candidates in (parsers, {"text": fallback}):
        scores = {name: sum(1 for line in lines if parser(line, options)) for name, parser in candidates.items()}
        best = max(scores, key=lambda name: scores[name])
        if scores[best] * 2 >= len(lines) or (scores[best] and candidates[best](lines[0], options)):
            return best
    return None
