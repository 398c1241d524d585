"""Confirmation tokens on their own: happy path, replay, tamper, malformed and non-ASCII input, expiry, other
arguments, another client, replicas or the deployment's state changed (a spent token after a restart)."""

from __future__ import annotations

import base64
import json
from dataclasses import replace

import pytest

from k8s_mcp.scaling import ConfirmationTokens, ScaleIntent
from mcp_common.errors import ToolError

INTENT = ScaleIntent("payments", "payment-gateway", requested=3, current=5, client="stdio", state="4711/3")


def intent(**changes) -> ScaleIntent:
    return replace(INTENT, **changes)


@pytest.fixture
def tokens(clock) -> ConfirmationTokens:
    return ConfirmationTokens(b"k" * 32, ttl_s=120, clock=clock)


def test_token_redeems_once(tokens: ConfirmationTokens) -> None:
    token = tokens.issue(INTENT)
    tokens.redeem(token, INTENT)
    with pytest.raises(ToolError, match="already used"):
        tokens.redeem(token, INTENT)


def test_expired(tokens: ConfirmationTokens, clock) -> None:
    token = tokens.issue(INTENT)
    clock.now += 121
    with pytest.raises(ToolError, match=r"expired 1 s ago"):
        tokens.redeem(token, INTENT)


def test_tampered_payload_or_signature(tokens: ConfirmationTokens) -> None:
    token = tokens.issue(INTENT)
    payload, signature = token.split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    body["to"] = 20
    forged = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
    for bad in [f"{forged}.{signature}", f"{payload}.{signature[:-2]}xx", "garbage", ""]:
        with pytest.raises(ToolError, match="invalid"):
            tokens.redeem(bad, INTENT)


def test_token_from_another_key_is_rejected(tokens: ConfirmationTokens, clock) -> None:
    other = ConfirmationTokens(b"x" * 32, ttl_s=120, clock=clock)
    with pytest.raises(ToolError, match="invalid"):
        tokens.redeem(other.issue(INTENT), INTENT)


def test_other_arguments(tokens: ConfirmationTokens) -> None:
    token = tokens.issue(INTENT)
    with pytest.raises(
        ToolError, match=r"issued for payments/payment-gateway → 3 replicas, not payments/payment-gateway → 4"
    ):
        tokens.redeem(token, intent(requested=4))
    with pytest.raises(ToolError, match="issued for"):
        tokens.redeem(token, intent(namespace="auth"))


def test_replicas_changed_since_preview(tokens: ConfirmationTokens) -> None:
    token = tokens.issue(INTENT)
    with pytest.raises(ToolError, match=r"changed since the preview \(was 5, now 4\)"):
        tokens.redeem(token, intent(current=4))


@pytest.mark.parametrize(
    "bad",
    ["jetón.ñ", "a" * 2000, "€€€.€€€", "payload.", ".signature", "a.b.c", "\x00.\x00", "🙂"],
)
def test_malformed_or_non_ascii_tokens_are_invalid_not_errors(tokens: ConfirmationTokens, bad: str) -> None:
    with pytest.raises(ToolError, match="invalid"):
        tokens.redeem(bad, INTENT)


def test_token_is_bound_to_the_client_that_asked(tokens: ConfirmationTokens) -> None:
    token = tokens.issue(INTENT)
    with pytest.raises(ToolError, match="issued to another client"):
        tokens.redeem(token, intent(client="alice"))
    tokens.redeem(token, INTENT)


def test_a_token_spent_before_a_restart_is_refused_after_it(clock) -> None:
    """A new process (or another replica) with the same key has no memory of spent nonces; the deployment's
    resourceVersion, changed by the scale the token executed, is what refuses it."""
    before = ConfirmationTokens(b"k" * 32, ttl_s=120, clock=clock)
    token = before.issue(INTENT)
    before.redeem(token, INTENT)
    after = ConfirmationTokens(b"k" * 32, ttl_s=120, clock=clock)
    scaled = intent(current=3, state="4712/4")
    with pytest.raises(ToolError, match="changed since the preview"):
        after.redeem(token, scaled)
    with pytest.raises(ToolError, match=r"changed since the preview \(resourceVersion/generation 4711/3 → 4712/4\)"):
        after.redeem(token, intent(state="4712/4"))
