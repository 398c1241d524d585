"""Confirmation tokens on their own: happy path, replay, tamper, expiry, other arguments, replicas changed."""

from __future__ import annotations

import base64
import json

import pytest

from k8s_mcp.scaling import ConfirmationTokens, ScaleIntent
from mcp_common.errors import ToolError

INTENT = ScaleIntent("payments", "payment-gateway", requested=3, current=5)


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
        tokens.redeem(token, ScaleIntent("payments", "payment-gateway", requested=4, current=5))
    with pytest.raises(ToolError, match="issued for"):
        tokens.redeem(token, ScaleIntent("auth", "payment-gateway", requested=3, current=5))


def test_replicas_changed_since_preview(tokens: ConfirmationTokens) -> None:
    token = tokens.issue(INTENT)
    with pytest.raises(ToolError, match=r"changed since the preview \(was 5, now 4\)"):
        tokens.redeem(token, ScaleIntent("payments", "payment-gateway", requested=3, current=4))
