"""The one redaction rule set, checked against a corpus of realistic secrets and of harmless look-alikes."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from mcp_common.audit import AuditEntry, AuditLog
from mcp_common.redaction import REDACTED, clip_text, is_secret_name, redact, redact_env_value, redact_text

CORPUS: dict[str, list[dict[str, Any]]] = tomllib.loads(
    (Path(__file__).parent / "fixtures" / "secrets" / "corpus.toml").read_text(encoding="utf-8")
)


def _id(entry: dict[str, Any]) -> str:
    return str(entry.get("name") or entry["value"][:40])


@pytest.mark.parametrize("entry", CORPUS["secret_env"], ids=_id)
def test_secret_env_values_are_masked_and_the_rest_stays_readable(entry: dict[str, Any]) -> None:
    shown = redact_env_value(entry["name"], entry["value"])
    for secret in entry["hidden"]:
        assert secret not in shown
    for readable in entry.get("shown", []):
        assert readable in shown
    assert REDACTED in shown


@pytest.mark.parametrize("entry", CORPUS["harmless_env"], ids=_id)
def test_harmless_look_alikes_are_shown_unchanged(entry: dict[str, Any]) -> None:
    assert redact_env_value(entry["name"], entry["value"]) == entry["value"]


@pytest.mark.parametrize("entry", CORPUS["secret_text"], ids=_id)
def test_secrets_inside_free_text_are_masked(entry: dict[str, Any]) -> None:
    shown = redact_text(entry["value"])
    for secret in entry["hidden"]:
        assert secret not in shown
    for readable in entry.get("shown", []):
        assert readable in shown


@pytest.mark.parametrize("entry", CORPUS["harmless_text"], ids=_id)
def test_harmless_text_is_left_alone(entry: dict[str, Any]) -> None:
    assert redact_text(entry["value"]) == entry["value"]


def test_the_corpus_is_big_enough_to_mean_something() -> None:
    assert len(CORPUS["secret_env"]) >= 40 and len(CORPUS["harmless_env"]) >= 30


def test_names_split_into_words_and_descriptors_win() -> None:
    assert is_secret_name("DB_PASSWORD") and is_secret_name("dbPassword") and is_secret_name("x-api-key")
    assert is_secret_name("confirmation_token") and is_secret_name("AccountKey")
    assert not is_secret_name("KEYCLOAK_URL") and not is_secret_name("TOKEN_TTL_SECONDS")
    assert not is_secret_name("TOKENIZERS_PARALLELISM") and not is_secret_name("MONKEY")
    assert not is_secret_name("") and not is_secret_name("___")


def test_nested_values_are_masked_by_key_and_by_shape() -> None:
    out = redact(
        {
            "password": "hunter2",
            "nested": {"DB_PASSWORD": "x", "plain": "eyJhbGciOi.eyJzdWIi.sig", "tokens": ["a", "b"]},
            "keyword": "password=hunter2",
            "namespace": "payments",
            "count": 3,
            "api_key": 12345678,
        }
    )
    assert out == {
        "password": REDACTED,
        "nested": {"DB_PASSWORD": REDACTED, "plain": REDACTED, "tokens": [REDACTED, REDACTED]},
        "keyword": "password=***",
        "namespace": "payments",
        "count": 3,
        "api_key": REDACTED,
    }


def test_every_corpus_secret_stays_out_of_the_audit_log(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path)
    lines: list[tuple[dict[str, Any], int]] = []
    for entry in CORPUS["secret_env"]:
        # As a named argument, inside a free-text argument, and in an error message that names it.
        value = entry["value"]
        pair = f"{entry['name']}='{value}'" if any(c.isspace() for c in value) else f"{entry['name']}={value}"
        arguments = {entry["name"]: value, "keyword": pair}
        log.record(AuditEntry("demo-mcp", "echo", arguments, "stdio", "error", 1.0, error=f"driver said: {pair}"))
        lines.append((entry, len(lines)))
    for entry in CORPUS["secret_text"]:
        log.record(AuditEntry("demo-mcp", "echo", {"keyword": entry["value"]}, "stdio", "ok", 1.0))
        lines.append((entry, len(lines)))
    written = path.read_text(encoding="utf-8").splitlines()
    assert len(written) == len(lines)
    for entry, number in lines:
        for secret in entry["hidden"]:
            assert secret not in written[number], entry


def test_a_clipped_message_masks_a_secret_across_the_cut_and_says_it_was_cut() -> None:
    dsn = "postgres://app:Vd3shNZOOx6qGxStSocp@db.payments.svc:5432/payments"
    message = "panic: dial " + dsn + " failed\n" + "\tat frame\n" * 5000
    for limit in (30, 35, 40, 1000):  # the cut inside the password (it starts at 27), and after it
        shown = clip_text(message, limit)
        assert shown.startswith("panic: dial postgres://app:") and "Vd" not in shown, shown
        assert len(shown) == limit and shown.endswith("…"), shown
    assert clip_text("password=hunter2", 100) == redact_text("password=hunter2") != "password=hunter2"
