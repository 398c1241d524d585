"""API-key authentication for the streamable HTTP transport.

Keys come from `<PREFIX>API_KEYS` ("name:key,name2:key2") and/or `<PREFIX>API_KEYS_FILE` (one `name:key` per
line, `#` comments). Clients send `Authorization: Bearer <key>` or `X-API-Key: <key>`. The key's *name* (never
the key) becomes the client identity in the audit log and the rate limiter.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from mcp_common.settings import ConfigError, ServerSettings

CLIENT_STATE_KEY = "mcp_client"
MIN_KEY_LENGTH = 16


@dataclass(frozen=True)
class ApiKey:
    name: str
    digest: bytes  # SHA-256 of the key: compared in constant time, never kept in clear


def _parse_pairs(pairs: Iterable[str], source: str) -> list[ApiKey]:
    keys: list[ApiKey] = []
    for number, raw in enumerate(pairs, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, key = line.partition(":")
        name, key = name.strip(), key.strip()
        if not sep or not name or not key:
            raise ConfigError(f"{source}, entry {number}: expected name:key")
        if len(key) < MIN_KEY_LENGTH:
            raise ConfigError(f"{source}, entry {number} ({name}): key shorter than {MIN_KEY_LENGTH} characters")
        keys.append(ApiKey(name=name, digest=hashlib.sha256(key.encode()).digest()))
    return keys


def load_api_keys(settings: ServerSettings) -> list[ApiKey]:
    """Keys from the settings' env string and key file; raises `ConfigError` on a malformed entry."""
    prefix = str(type(settings).model_config.get("env_prefix", ""))
    keys: list[ApiKey] = []
    if settings.api_keys is not None:
        keys += _parse_pairs(settings.api_keys.get_secret_value().split(","), f"{prefix}API_KEYS")
    if settings.api_keys_file is not None:
        try:
            text = settings.api_keys_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{prefix}API_KEYS_FILE: cannot read {settings.api_keys_file}: {exc.strerror}") from None
        keys += _parse_pairs(text.splitlines(), f"{prefix}API_KEYS_FILE {settings.api_keys_file}")
    return keys


def match_key(presented: str, keys: list[ApiKey]) -> str | None:
    """Return the name of the key that matches, comparing against every key in constant time."""
    digest = hashlib.sha256(presented.encode()).digest()
    found: str | None = None
    for key in keys:
        # No early exit: every key is compared, so timing says nothing about which (or whether one) matched.
        if hmac.compare_digest(digest, key.digest) and found is None:
            found = key.name
    return found


def _presented_key(scope: Scope) -> str | None:
    headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
    for name, value in headers:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
        elif name == b"x-api-key" and value:
            return value.decode("latin-1").strip()
    return None


class ApiKeyMiddleware:
    """ASGI middleware: every HTTP request except `open_paths` needs a valid key, or gets 401."""

    def __init__(self, app: ASGIApp, keys: list[ApiKey], open_paths: Iterable[str] = ("/healthz",)) -> None:
        self.app = app
        self.keys = keys
        self.open_paths = frozenset(open_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in self.open_paths:
            await self.app(scope, receive, send)
            return
        presented = _presented_key(scope)
        name = match_key(presented, self.keys) if presented else None
        if name is None:
            await _unauthorized(send, "missing API key" if presented is None else "invalid API key")
            return
        scope.setdefault("state", {})[CLIENT_STATE_KEY] = name
        await self.app(scope, receive, send)


async def _unauthorized(send: Send, reason: str) -> None:
    body = json.dumps({"error": "unauthorized", "detail": reason}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 401,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"www-authenticate", b'Bearer realm="mcp"'),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
