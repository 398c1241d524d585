"""Confirmed scaling, in two steps: `preview` changes nothing and hands out a token; `execute` makes exactly the
previewed change, once.

A token is an HMAC-signed, expiring statement of one change: namespace, name, requested and current replicas,
the client that asked, and the deployment's state when previewed (its `resourceVersion` and `generation`). The
API server changes `resourceVersion` on every write, so once a token has been spent (here, after a restart, or
on another replica sharing the key) the deployment no longer matches it and it is refused; the write itself
carries that `resourceVersion` as a precondition, so two replicas redeeming one token at the same moment cannot
both succeed (the second gets a conflict). Within one process a nonce list refuses replays at once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from k8s_mcp.backends import ClusterBackend
from k8s_mcp.models import ScalePreview
from k8s_mcp.objects import match_labels, name_of
from k8s_mcp.pod_status import print_pod
from mcp_common.errors import ToolError

if TYPE_CHECKING:  # annotations only: the server imports this module at start (see objects.py)
    from kubernetes.client import V1Deployment, V1Pod

logger = logging.getLogger(__name__)

RENEW = "call scale_deployment again without a token for a new preview"
MAX_TOKEN_LENGTH = 1024


@dataclass(frozen=True)
class ScaleIntent:
    namespace: str
    name: str
    requested: int
    current: int
    client: str  # who asked: the API key's name over HTTP, "stdio" locally
    state: str  # "<resourceVersion>/<generation>" of the deployment when previewed

    @classmethod
    def of(cls, deployment: V1Deployment, requested: int, client: str) -> ScaleIntent:
        meta = deployment.metadata
        return cls(
            namespace=meta.namespace or "",
            name=name_of(deployment),
            requested=requested,
            current=current_replicas(deployment),
            client=client,
            state=f"{meta.resource_version or ''}/{meta.generation or 0}",
        )

    @property
    def resource_version(self) -> str | None:
        return self.state.split("/", 1)[0] or None


def current_replicas(deployment: V1Deployment) -> int:
    return deployment.spec.replicas if deployment.spec and deployment.spec.replicas is not None else 1


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

    def _sign(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()

    def issue(self, intent: ScaleIntent) -> str:
        body = {
            "ns": intent.namespace,
            "name": intent.name,
            "to": intent.requested,
            "from": intent.current,
            "client": intent.client,
            "state": intent.state,
            "exp": int(self._clock()) + self.ttl_s,
            "nonce": secrets.token_hex(8),
        }
        payload = _b64(json.dumps(body, sort_keys=True, separators=(",", ":")).encode())
        return f"{payload}.{_b64(self._sign(payload.encode()))}"

    def _verified_body(self, token: str) -> dict[str, Any]:
        invalid = ToolError(f"confirmation token is invalid (malformed, altered or from another server); {RENEW}")
        text = token.strip()
        if not text.isascii() or len(text) > MAX_TOKEN_LENGTH:
            raise invalid
        payload, _, signature = text.partition(".")
        if not payload or not signature:
            raise invalid
        try:
            expected = self._sign(payload.encode("ascii"))
            if not hmac.compare_digest(expected, _unb64(signature)):
                raise invalid
            body = json.loads(_unb64(payload))
        except (ValueError, binascii.Error):
            raise invalid from None
        if not isinstance(body, dict):
            raise invalid
        return body

    def redeem(self, token: str, intent: ScaleIntent) -> None:
        """Accept the token for `intent` exactly once, or raise a `ToolError` saying why not."""
        body = self._verified_body(token)
        try:
            issued = ScaleIntent(
                str(body["ns"]),
                str(body["name"]),
                int(body["to"]),
                int(body["from"]),
                str(body["client"]),
                str(body["state"]),
            )
            expires, nonce = int(body["exp"]), str(body["nonce"])
        except (ValueError, KeyError, TypeError):
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
            if issued.client != intent.client:
                raise ToolError(f"confirmation token was issued to another client; {RENEW}")
            if issued.current != intent.current:
                raise ToolError(
                    f"replicas of {intent.namespace}/{intent.name} changed since the preview "
                    f"(was {issued.current}, now {intent.current}); {RENEW}"
                )
            if issued.state != intent.state:
                raise ToolError(
                    f"deployment {intent.namespace}/{intent.name} changed since the preview (resourceVersion/"
                    f"generation {issued.state} → {intent.state}): the token was spent or the deployment was edited; "
                    f"{RENEW}"
                )
            self._used[nonce] = expires


def pods_affected(pods: list[V1Pod], current: int, requested: int) -> list[str]:
    if requested > current:
        return [f"{requested - current} new pod(s) will be created"]
    if requested == current:
        return ["no change"]
    # The ReplicaSet controller's deletion order: not-ready first, then more restarts, then the youngest.
    rows = {name_of(p): print_pod(p) for p in pods}
    ordered = sorted(
        pods,
        key=lambda p: (
            rows[name_of(p)].is_ready,
            -rows[name_of(p)].restarts,
            -(p.metadata.creation_timestamp.timestamp() if p.metadata.creation_timestamp else 0),
        ),
    )
    return [f"{name_of(p)} will be removed" for p in ordered[: current - requested]]


class ScaleFlow:
    """Preview, then execute, one deployment scale. Blocking (the server runs it in a worker thread); one lock
    makes preview-check-execute a single step per process."""

    def __init__(self, backend: ClusterBackend, tokens: ConfirmationTokens) -> None:
        self.backend = backend
        self.tokens = tokens
        self._lock = threading.Lock()

    def preview(self, namespace: str, name: str, replicas: int, client: str) -> ScalePreview:
        with self._lock:
            deployment = self.backend.get("Deployment", namespace, name)
            intent = ScaleIntent.of(deployment, replicas, client)
            index = self.backend.index(namespace, ("Pod", "ReplicaSet"), pod_selector=match_labels(deployment))
            pods = index.pods_of(index.get("Deployment", name) or deployment)
            return ScalePreview(
                executed=False,
                namespace=namespace,
                deployment=name,
                current_replicas=intent.current,
                requested_replicas=replicas,
                change=f"{intent.current} → {replicas} replicas",
                pods_affected=pods_affected(pods, intent.current, replicas),
                confirmation_token=self.tokens.issue(intent),
                expires_in_s=self.tokens.ttl_s,
                message="Preview only: nothing changed. Confirm with the user, then call again with the token.",
            )

    def check(self, namespace: str, name: str, replicas: int, token: str, client: str) -> ScaleIntent:
        """Redeem the token against the deployment as it is now (the intent to record before executing)."""
        with self._lock:
            deployment = self.backend.get("Deployment", namespace, name)
            intent = ScaleIntent.of(deployment, replicas, client)
            self.tokens.redeem(token, intent)
            return intent

    def execute(self, intent: ScaleIntent) -> ScalePreview:
        """Make the change the redeemed token allowed, with its resourceVersion as the write's precondition."""
        with self._lock:
            self.backend.scale(intent.namespace, intent.name, intent.requested, intent.resource_version)
        change = f"{intent.current} → {intent.requested} replicas"
        logger.warning("scaled %s/%s: %s (client %s)", intent.namespace, intent.name, change, intent.client)
        return ScalePreview(
            executed=True,
            namespace=intent.namespace,
            deployment=intent.name,
            current_replicas=intent.requested,
            requested_replicas=intent.requested,
            change=change,
            message=f"Scaled {intent.namespace}/{intent.name}: {change}.",
        )
