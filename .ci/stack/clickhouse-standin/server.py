"""A stand-in for ClickHouse's HTTP interface, over chDB, for `make test-stack` only.

The CI machine has no ClickHouse server in any form (no image, no binary), but it has chDB: ClickHouse's engine
in-process. This serves the part of ClickHouse's HTTP interface that clickhouse-connect uses (queries and
commands in the body or `query=`, `param_*` bindings, settings as URL parameters, Native inserts, `/ping`), so
the seed job and logs-mcp talk to it exactly as to a real server. It reads the lab's own users file
(services/clickhouse/users.d/lab-users.xml): each user's password (from the environment) and profile settings
(readonly=2, max_execution_time ... for logs_reader) are applied. What it does NOT do, and so what the stack
tests do not test: grants, settings constraints, quotas, compression of responses, sessions, the native TCP
protocol, and ClickHouse server itself (its config.d, its version: chDB's engine is 26.x).
"""

from __future__ import annotations

import hmac
import json
import os
import re
import signal
import sys
import tempfile
import threading
import uuid
from base64 import b64decode
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit
from xml.etree import ElementTree

import chdb
from clickhouse_connect.driver._backend.chdb_backend import _decompress  # the client's own codecs, pinned by the lock

# URL parameters that are about the HTTP exchange, not ClickHouse settings.
TRANSPORT = {
    "query", "database", "default_format", "session_id", "session_timeout", "session_check", "query_id",
    "compress", "decompress", "enable_http_compression", "send_progress_in_http_headers",
    "http_headers_progress_interval_ms", "wait_end_of_query", "cancel_http_readonly_queries_on_client_close",
    "user", "password", "quota_key", "buffer_size", "http_zlib_compression_level", "client_protocol_version",
    "role", "http_response_buffer_size",
}  # fmt: skip
RESULT_STATEMENTS = re.compile(r"^\s*(\(?\s*SELECT|WITH|SHOW|DESC|DESCRIBE|EXISTS|EXPLAIN|CHECK)\b", re.I)
TRAILING_FORMAT = re.compile(rb"\bFORMAT\s+(\w+)\s*;?\s*$", re.I)
INSERT_WITH_DATA = re.compile(rb"^\s*(INSERT\b.*?)\bFORMAT\s+(\w+)[ \t]*\r?\n?", re.I | re.S)
ERROR_CODE = re.compile(r"Code: (\d+)")
MAX_URI = 1 << 20


class Users:
    """Users, passwords and profile settings from a ClickHouse users.d file (the lab's own)."""

    def __init__(self, path: Path) -> None:
        root = ElementTree.parse(path).getroot()  # noqa: S314 - the lab's own users file
        profiles = {
            p.tag: {s.tag: (s.text or "").strip() for s in p if s.tag != "constraints"}
            for p in root.findall("profiles/*")
        }
        self.users: dict[str, tuple[str, dict[str, str], bool]] = {}
        for user in root.findall("users/*"):
            password = user.find("password")
            secret = ""
            if password is not None:
                env = password.get("from_env")
                secret = os.environ.get(env, "") if env else (password.text or "")
            local_only = user.tag == "default"
            self.users[user.tag] = (secret, profiles.get(user.findtext("profile") or "", {}), local_only)

    def check(self, name: str, password: str, address: str) -> dict[str, str] | None:
        entry = self.users.get(name)
        if entry is None:
            return None
        secret, profile, local_only = entry
        if local_only and address not in ("127.0.0.1", "::1"):
            return None
        if not hmac.compare_digest(secret.encode(), password.encode()):
            return None
        return profile


class Engine:
    """chDB handles, one per user and set of settings (settings are per handle), each used under its lock."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._handles: dict[tuple, tuple[object, threading.Lock, list[str | None]]] = {}
        self._lock = threading.Lock()
        output, _ = self.run(("default", ()), {}, None, b"SELECT timezone()", "TabSeparated", {})
        self.timezone = output.decode().strip()

    def _handle(self, key: tuple, settings: dict[str, str]):
        with self._lock:
            if key not in self._handles:
                conn = chdb.connect(self.path)
                for name, value in settings.items():
                    conn.query(f"SET {name} = {_literal(value)}")
                self._handles[key] = (conn, threading.Lock(), [None])
            return self._handles[key]

    def run(self, key, settings, database, sql: bytes, fmt: str, params):
        conn, lock, active = self._handle(key, settings)
        with lock:
            if database and database != active[0]:
                conn.query(f"USE `{database.replace('`', '')}`")
                active[0] = database
            result = conn.query(sql.decode(), fmt, params=params)
            return result.bytes() or b"", result


def _literal(value: str) -> str:
    return (
        value if re.fullmatch(r"-?\d+(\.\d+)?", value) else "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    )


class Handler(BaseHTTPRequestHandler):
    server_version = "clickhouse-standin"
    engine: Engine
    users: Users

    def log_message(self, fmt: str, *args: object) -> None:  # errors only, on stderr
        pass

    def handle_one_request(self) -> None:
        """http.server's own, with ClickHouse's URI limit (1 MiB: bound parameters travel in the URL)."""
        self.raw_requestline = self.rfile.readline(MAX_URI + 1)
        if len(self.raw_requestline) > MAX_URI:
            self.send_error(414)
            return
        if not self.raw_requestline:
            self.close_connection = True
            return
        if not self.parse_request():
            return
        method = getattr(self, "do_" + self.command, None)
        if method is None:
            self.send_error(501, f"Unsupported method ({self.command!r})")
            return
        method()
        self.wfile.flush()

    def do_GET(self) -> None:
        if "query=" not in self.path:  # GET /ping (and GET /): the health endpoint
            self._reply(200, b"Ok.\n", {})
            return
        self._query(b"")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = self._read_chunked()
        else:
            body = self.rfile.read(length)
        encoding = self.headers.get("Content-Encoding")
        if encoding and body:
            body = _decompress(body, encoding)
        content_type = self.headers.get("Content-Type", "")
        if content_type.startswith("multipart/form-data"):
            # clickhouse-connect sends the query and its bound parameters as form fields once they are too long
            # for a URL (over 4 kB), as ClickHouse's HTTP interface accepts
            self._query(b"", _form_fields(content_type, body))
            return
        self._query(body)

    def _read_chunked(self) -> bytes:
        parts = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                self.rfile.readline()
                return b"".join(parts)
            parts.append(self.rfile.read(size))
            self.rfile.readline()

    def _query(self, body: bytes, form: dict[str, str] | None = None) -> None:
        query_id = str(uuid.uuid4())
        try:
            params = dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True))
            params.update(form or {})
            query_id = params.get("query_id") or query_id
            user, password = self._credentials(params)
            profile = self.users.check(user, password, self.client_address[0])
            if profile is None:
                raise StandinError(
                    516,
                    f"{user}: Authentication failed: password is incorrect, or there is no user with such name.",
                    403,
                )
            settings = dict(profile)
            for name, value in params.items():
                if (
                    name not in TRANSPORT
                    and not name.startswith("param_")
                    and not (name == "readonly" and "readonly" in profile)
                ):
                    settings[name] = value
            bind = {name[len("param_") :]: value for name, value in params.items() if name.startswith("param_")}
            sql = (params.get("query", "").encode() + b"\n" + body) if params.get("query") else body
            fmt = params.get("default_format") or "TabSeparated"
            key = (user, tuple(sorted(settings.items())))
            data_file = None
            insert = INSERT_WITH_DATA.match(sql[:65536])
            if insert and sql[insert.end() :].strip():
                data_file = tempfile.NamedTemporaryFile(suffix=".data", delete=False)  # noqa: SIM115
                data_file.write(sql[insert.end() :])
                data_file.close()
                sql = insert.group(1) + b" FROM INFILE '" + data_file.name.encode() + b"' FORMAT " + insert.group(2)
            try:
                output, result = self.engine.run(key, settings, params.get("database"), sql, fmt, bind)
            finally:
                if data_file is not None:
                    os.unlink(data_file.name)
        except StandinError as exc:
            self._error(exc.code, str(exc), exc.status, query_id)
            return
        except Exception as exc:  # chDB's errors carry ClickHouse's "Code: N. DB::Exception: ..." text
            message = str(exc)
            code = int(m.group(1)) if (m := ERROR_CODE.search(message)) else 1002
            self._error(code, message, 404 if code in (60, 81) else 500, query_id)
            return
        headers = {
            "X-ClickHouse-Query-Id": query_id,
            "X-ClickHouse-Timezone": self.engine.timezone,
            "X-ClickHouse-Summary": json.dumps(
                {
                    "read_rows": str(result.rows_read()),
                    "read_bytes": str(result.bytes_read()),
                    "written_rows": "0",
                    "written_bytes": "0",
                    "total_rows_to_read": str(result.rows_read()),
                    "result_rows": "0",
                    "result_bytes": str(len(output)),
                    "elapsed_ns": str(int(result.elapsed() * 1e9)),
                }
            ),
        }
        text = sql.decode("utf-8", "replace")
        if RESULT_STATEMENTS.match(text) or output:
            trailing = TRAILING_FORMAT.search(sql)
            headers["X-ClickHouse-Format"] = trailing.group(1).decode() if trailing else fmt
        self._reply(200, output, headers)

    def _credentials(self, params: dict[str, str]) -> tuple[str, str]:
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            user, _, password = b64decode(auth[6:]).decode().partition(":")
            return user or "default", password
        user = self.headers.get("X-ClickHouse-User") or params.get("user") or "default"
        return user, self.headers.get("X-ClickHouse-Key") or params.get("password") or ""

    def _error(self, code: int, message: str, status: int, query_id: str) -> None:
        if not message.startswith("Code:"):
            message = f"Code: {code}. DB::Exception: {message}"
        self._reply(
            status,
            message.encode() + b"\n",
            {"X-ClickHouse-Exception-Code": str(code), "X-ClickHouse-Query-Id": query_id},
        )

    def _reply(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


def _form_fields(content_type: str, body: bytes) -> dict[str, str]:
    """The fields of a multipart/form-data body (query, param_*): text only, as clickhouse-connect sends them."""
    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    fields: dict[str, str] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str):
            fields[name] = (part.get_payload(decode=True) or b"").decode()
    return fields


class StandinError(Exception):
    def __init__(self, code: int, message: str, status: int) -> None:
        super().__init__(message)
        self.code, self.status = code, status


def main() -> int:
    data = os.environ.get("STANDIN_DATA_DIR", "/var/lib/clickhouse")
    users = os.environ.get("STANDIN_USERS_FILE", "/etc/clickhouse-server/users.d/lab-users.xml")
    port = int(os.environ.get("STANDIN_PORT", "8123"))
    Handler.users = Users(Path(users))
    Handler.engine = Engine(data)
    server = ThreadingHTTPServer(("0.0.0.0", port), Handler)  # noqa: S104 - inside its container
    # PID 1 of its container: without a handler SIGTERM is ignored, and every stop or restart waits for SIGKILL
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"clickhouse-standin: chDB at {data}, users from {users}, http on :{port}", file=sys.stderr)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
