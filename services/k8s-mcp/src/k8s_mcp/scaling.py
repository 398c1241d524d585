"""Confirmed scaling: a preview hands out an HMAC-signed, single-use, expiring token bound to the exact
change (namespace, name, requested and current replicas); only that token executes that change."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from mcp_common.errors import ToolError

RENEW = "call scale_deployment again without a token for a new preview"


@dataclass(frozen=True)
class ScaleIntent:
    namespace: str
    name: str
    requested: int
    current: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class ConfirmationTokens:
    """Issues and redeems scale confirmation tokens. The clock is injectable (tests move it by hand)."""

    def __init__(self, key: bytes | None, ttl_s: int, clock: Callable[[], float] = time.time) -> None:
        # No configured key: a random one per process, so tokens die with the process.
        self._key = key or secrets.token_bytes(32)
        self.ttl_s = ttl_s
        self._clock = clock
        self._used: dict[str, float] = {}
        self._lock = threading.Lock()

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest())

    def issue(self, intent: ScaleIntent) -> str:
        body = {
            "ns": intent.namespace,
            "name": intent.name,
            "to": intent.requested,
            "from": intent.current,
            "exp": int(self._clock()) + self.ttl_s,
            "nonce": secrets.token_hex(8),
        }
        payload = _b64(json.dumps(body, sort_keys=True, separators=(",", ":")).encode())
        return f"{payload}.{self._sign(payload)}"

    def redeem(self, token: str, intent: ScaleIntent) -> None:
        """Accept the token for `intent` exactly once, or raise a `ToolError` saying why not."""
        payload, _, signature = token.strip().partition(".")
        if not payload or not signature or not hmac.compare_digest(self._sign(payload), signature):
            raise ToolError(f"confirmation token is invalid (malformed, altered or from another server); {RENEW}")
        try:
            body = json.loads(_unb64(payload))
            issued = ScaleIntent(str(body["ns"]), str(body["name"]), int(body["to"]), int(body["from"]))
            expires, nonce = int(body["exp"]), str(body["nonce"])
        except (ValueError, KeyError, TypeError, binascii.Error):
            raise ToolError(f"confirmation token is invalid; {RENEW}") from None
        with self._lock:  # check and consume atomically: two concurrent redeems cannot both pass
            now = self._clock()
            self._used = {n: exp for n, exp in self._used.items() if exp >= now}  # forget expired nonces
            if nonce in self._used:
                raise ToolError(f"confirmation token was already used (tokens are single use); {RENEW}")
            if now > expires:
                raise ToolError(f"confirmation token expired {int(now - expires)} s ago; {RENEW}")
            if (issued.namespace, issued.name, issued.requested) != (intent.namespace, intent.name, intent.requested):
                raise ToolError(
                    f"confirmation token was issued for {issued.namespace}/{issued.name} → {issued.requested} "
                    f"replicas, not {intent.namespace}/{intent.name} → {intent.requested}; {RENEW}"
                )
            if issued.current != intent.current:
                raise ToolError(
                    f"replicas of {intent.namespace}/{intent.name} changed since the preview "
                    f"(was {issued.current}, now {intent.current}); {RENEW}"
                )
            self._used[nonce] = expires
