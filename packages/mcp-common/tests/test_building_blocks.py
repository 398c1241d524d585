"""Rate limiter, validation helpers, settings loading and API-key handling on their own."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from pydantic import Field
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from mcp_common.auth import CLIENT_STATE_KEY, ApiKeyMiddleware, load_api_keys, match_key
from mcp_common.errors import ToolError
from mcp_common.ratelimit import RateLimiter
from mcp_common.settings import ConfigError, ServerSettings, load_settings, server_config
from mcp_common.validation import clamp, require_allowed, require_dns1123_label, require_dns1123_subdomain


class DemoSettings(ServerSettings):
    model_config = server_config("DEMO_MCP_")
    max_replicas: int = Field(default=20, ge=0, le=100)


def test_rate_limiter_buckets_are_per_client(clock) -> None:
    limiter = RateLimiter(rate_per_minute=30, burst=1, clock=clock)
    assert limiter.acquire("a") is None
    assert limiter.acquire("b") is None
    assert limiter.acquire("a") == pytest.approx(2.0)
    clock.now += 2.0
    assert limiter.acquire("a") is None


def test_validation_helpers() -> None:
    assert require_allowed("payments", ["payments"], "namespace") == "payments"
    with pytest.raises(ToolError, match="allowed: payments, auth"):
        require_allowed("kube-system", ["payments", "auth"], "namespace")
    assert require_dns1123_subdomain("payment-gw-def34", "pod") == "payment-gw-def34"
    for bad in ["Payment", "-x", "x-", "a_b", "a;rm -rf", "", "a" * 254, "../etc"]:
        with pytest.raises(ToolError, match="not a valid name"):
            require_dns1123_subdomain(bad, "pod")
    with pytest.raises(ToolError):
        require_dns1123_label("a.b", "namespace")
    with pytest.raises(ToolError) as long_error:
        require_dns1123_label("x" * 10_000, "namespace")
    assert len(str(long_error.value)) < 400, "hostile input is not echoed in full"
    assert (clamp(0, 1, 500), clamp(9999, 1, 500), clamp(20, 1, 500)) == (1, 500, 20)


def test_settings_from_env_and_errors_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEMO_MCP_MAX_REPLICAS", "7")
    monkeypatch.setenv("DEMO_MCP_AUDIT_LOG", "/tmp/a.jsonl")
    settings = load_settings(DemoSettings)
    assert settings.max_replicas == 7 and settings.audit_log == Path("/tmp/a.jsonl")
    monkeypatch.setenv("DEMO_MCP_MAX_REPLICAS", "lots")
    with pytest.raises(ConfigError, match="DEMO_MCP_MAX_REPLICAS"):
        load_settings(DemoSettings)


def test_api_keys_from_env_and_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    keyfile = tmp_path / "keys"
    keyfile.write_text("# lab keys\nclaude:0123456789abcdef0123\n\nops:fedcba9876543210fedc\n")
    monkeypatch.setenv("DEMO_MCP_API_KEYS", "ci:ci-key-0123456789abcdef")
    monkeypatch.setenv("DEMO_MCP_API_KEYS_FILE", str(keyfile))
    keys = load_api_keys(load_settings(DemoSettings))
    assert [k.name for k in keys] == ["ci", "claude", "ops"]
    assert match_key("fedcba9876543210fedc", keys) == "ops"
    assert match_key("fedcba9876543210fedX", keys) is None
    monkeypatch.setenv("DEMO_MCP_API_KEYS", "short:abc")
    with pytest.raises(ConfigError, match="shorter than 16"):
        load_api_keys(load_settings(DemoSettings))
    monkeypatch.setenv("DEMO_MCP_API_KEYS", "no-colon-here-at-all")
    with pytest.raises(ConfigError, match="expected name:key"):
        load_api_keys(load_settings(DemoSettings))


@pytest.mark.anyio
async def test_api_key_middleware_401_and_identity(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def whoami(request: Request) -> PlainTextResponse:
        return PlainTextResponse(request.scope["state"][CLIENT_STATE_KEY])

    async def health(_: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    monkeypatch.setenv("DEMO_MCP_API_KEYS", "claude:0123456789abcdef0123")
    keys = load_api_keys(load_settings(DemoSettings))
    app = ApiKeyMiddleware(Starlette(routes=[Route("/mcp", whoami), Route("/healthz", health)]), keys)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        assert (await http.get("/mcp")).status_code == 401
        wrong = await http.get("/mcp", headers={"Authorization": "Bearer nope-nope-nope-nope"})
        assert wrong.status_code == 401 and wrong.json()["detail"] == "invalid API key"
        assert wrong.headers["www-authenticate"].startswith("Bearer")
        right = await http.get("/mcp", headers={"Authorization": "Bearer 0123456789abcdef0123"})
        assert right.status_code == 200 and right.text == "claude"
        assert (await http.get("/mcp", headers={"X-API-Key": "0123456789abcdef0123"})).text == "claude"
        assert (await http.get("/healthz")).text == "ok"
