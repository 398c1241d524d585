"""Settings base: pydantic-settings with one env prefix per server.

Each server subclasses `ServerSettings` and sets `model_config = server_config("K8S_MCP_")`. Loading goes
through `load_settings`, which turns a validation failure into a `ConfigError` naming the variable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, AnyHttpUrl, BeforeValidator, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from mcp_common.errors import ConfigError

__all__ = ["ConfigError", "ServerSettings", "ServerUrl", "SettingsT", "load_settings", "server_config"]


def _blank_is_unset(value: object) -> object:
    # `X_URL=` in an env file means "not set", as for every other optional setting.
    return None if isinstance(value, str) and not value.strip() else value


def _bare_server_url(url: AnyHttpUrl | None) -> AnyHttpUrl | None:
    if url is None:
        return None
    if url.username or url.password:
        raise ValueError("put no credentials in the URL; use the server's user and password settings")
    if url.path not in (None, "", "/") or url.query or url.fragment:
        raise ValueError("expected a bare server URL, http(s)://host:port (no path, query or fragment)")
    return url


ServerUrl = Annotated[AnyHttpUrl | None, BeforeValidator(_blank_is_unset), AfterValidator(_bare_server_url)]
"""An optional URL of a server a setting points at (ClickHouse, Chroma): http or https, a host, maybe a port.

Every server types its URL settings with this, so they parse, default their port and fail alike; read
`.host`, `.port` (the scheme's default when omitted) and `.scheme`. Blank means unset.
"""


def server_config(env_prefix: str) -> SettingsConfigDict:
    """The settings config every server uses: its own env prefix, unknown variables ignored."""
    return SettingsConfigDict(env_prefix=env_prefix, extra="ignore", case_sensitive=False, frozen=True)


class ServerSettings(BaseSettings):
    """What every server can configure. Subclasses add their own fields under their own prefix."""

    model_config = server_config("MCP_")

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    audit_log: Path | None = Field(
        default=None, description="Append one JSON line per tool call to this file (hash-chained)."
    )
    audit_durability: Literal["fsync", "group", "os"] = Field(
        default="group",
        description="When audit lines reach the disk: every line (fsync), within AUDIT_FSYNC_INTERVAL_MS (group), "
        "or when the OS writes back (os). Every mode survives kill -9; write-tool intents are always fsync'd.",
    )
    audit_fsync_interval_ms: float = Field(default=100.0, gt=0, le=10_000, description="Group-commit interval.")
    audit_max_file_mb: float = Field(default=100.0, ge=0, description="Rotate the audit file at this size; 0: never.")
    audit_keep_files: int = Field(default=10, ge=0, description="Rotated audit files kept; 0: keep all.")
    audit_max_line_bytes: int = Field(default=16_384, ge=1024, description="Largest audit line; the rest is cut.")
    audit_key: SecretStr | None = Field(
        default=None, description="HMAC key for the audit chain and seal (at least 16 characters)."
    )
    audit_key_file: Path | None = Field(default=None, description="File holding the audit HMAC key.")
    rate_limit_per_minute: float = Field(default=120.0, gt=0, description="Sustained tool calls per client.")
    rate_limit_burst: int = Field(default=30, ge=1, description="Calls a client may make at once before limiting.")
    api_keys: SecretStr | None = Field(
        default=None, description="HTTP API keys as comma-separated name:key pairs (e.g. claude:s3cr3t)."
    )
    api_keys_file: Path | None = Field(default=None, description="File of name:key lines (HTTP API keys).")
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8000, ge=1, le=65535)
    http_max_header_bytes: int = Field(
        default=64 * 1024, ge=4096, le=16 * 1024 * 1024, description="Largest request head (h11); 400 beyond."
    )
    http_max_body_bytes: int = Field(default=1024 * 1024, ge=1024, description="Largest request body; 413 beyond.")
    http_max_connections: int = Field(default=512, ge=1, description="Open connections at once; 503 beyond.")
    http_max_sessions: int = Field(default=1000, ge=1, description="MCP sessions open at once (all keys).")
    http_max_sessions_per_key: int = Field(default=50, ge=1, description="MCP sessions one API key may hold.")
    http_new_sessions_per_minute: float = Field(default=60.0, gt=0, description="Sessions a key may open per minute.")
    http_new_session_burst: int = Field(default=20, ge=1, description="Sessions a key may open at once.")
    http_session_idle_s: float = Field(default=300.0, gt=0, description="Close a session idle this long.")
    http_allowed_hosts: str = Field(
        default="", description="Host headers accepted (comma separated, host:* for any port); default: loopback."
    )
    http_allowed_origins: str = Field(default="", description="Origin headers accepted; default: loopback origins.")
    http_shutdown_grace_s: float = Field(
        default=30.0, ge=0, le=3600, description="On SIGTERM, how long calls in flight may finish."
    )

    def audit_key_bytes(self) -> bytes | None:
        """The audit HMAC key from AUDIT_KEY or AUDIT_KEY_FILE; raises `ConfigError` when it is unusable."""
        prefix = str(type(self).model_config.get("env_prefix", ""))
        if self.audit_key is not None and self.audit_key_file is not None:
            raise ConfigError(f"set {prefix}AUDIT_KEY or {prefix}AUDIT_KEY_FILE, not both")
        if self.audit_key is not None:
            key = self.audit_key.get_secret_value().strip()
            source = f"{prefix}AUDIT_KEY"
        elif self.audit_key_file is not None:
            source = f"{prefix}AUDIT_KEY_FILE"
            try:
                key = self.audit_key_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(f"{source}: cannot read {self.audit_key_file}: {exc.strerror}") from None
        else:
            return None
        if len(key) < MIN_AUDIT_KEY_LENGTH:
            raise ConfigError(f"{source}: the key is shorter than {MIN_AUDIT_KEY_LENGTH} characters")
        return key.encode("utf-8")


MIN_AUDIT_KEY_LENGTH = 16
SettingsT = TypeVar("SettingsT", bound=ServerSettings)


def load_settings(cls: type[SettingsT], **overrides: Any) -> SettingsT:
    """Build settings from the environment; raise `ConfigError` naming each bad variable."""
    try:
        return cls(**overrides)
    except ValidationError as exc:
        prefix = str(cls.model_config.get("env_prefix", ""))
        problems = []
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else "?"
            problems.append(f"{prefix}{field.upper()}: {err['msg']}")
        raise ConfigError("invalid configuration: " + "; ".join(problems)) from None
