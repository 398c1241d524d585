"""k8s-mcp settings, all from `K8S_MCP_*` environment variables (see the service README for the table)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import NoDecode

from k8s_mcp.namespaces import DEFAULT_DENIED, WILDCARD
from mcp_common.settings import ServerSettings, server_config

DEFAULT_ALLOWED_NAMESPACES = ("payments", "auth", "monitoring", "default")
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def _split(value: object) -> object:
    """'a, b' or '"a,b"' → ('a', 'b'): commas separate, surrounding quotes (from .env files) are dropped."""
    if isinstance(value, str):
        value = [part.strip().strip("'\"").strip() for part in value.strip().strip("'\"").split(",")]
        value = [part for part in value if part]
    return value


def _check_names(value: tuple[str, ...], *, wildcard: bool) -> tuple[str, ...]:
    for name in value:
        if wildcard and name == WILDCARD:
            continue
        if len(name) > 63 or not _DNS1123_LABEL.match(name):
            hint = f"; did you mean '{name.lower()}'?" if _DNS1123_LABEL.match(name.lower()) else ""
            raise ValueError(
                f"'{name}' is not a namespace name (lowercase letters, digits and '-', at most 63 characters"
                + (", or * for every namespace" if wildcard else "")
                + f"){hint}"
            )
    return tuple(dict.fromkeys(value))


class K8sSettings(ServerSettings):
    model_config = server_config("K8S_MCP_")

    backend: Literal["snapshot", "live"] | None = Field(
        default=None, description="snapshot (a directory of kubectl JSON) or live (the Kubernetes API)."
    )
    snapshot_dir: Path | None = Field(default=None, description="Cluster snapshot directory (backend=snapshot).")
    kubeconfig: Path | None = Field(
        default=None, description="kubeconfig file (backend=live); default $KUBECONFIG, then ~/.kube/config."
    )
    context: str | None = Field(default=None, description="kubeconfig context (backend=live); default current.")
    in_cluster: bool = Field(default=False, description="Use the pod's service account (backend=live).")
    allowed_namespaces: Annotated[tuple[str, ...], NoDecode] = Field(
        default=DEFAULT_ALLOWED_NAMESPACES,
        description="Comma-separated namespaces the tools may read; * for every namespace not denied.",
    )
    denied_namespaces: Annotated[tuple[str, ...], NoDecode] = Field(
        default=DEFAULT_DENIED, description="Namespaces * does not cover (a namespace named explicitly still is)."
    )
    request_timeout_s: float = Field(default=10.0, gt=0, le=120, description="Kubernetes API request timeout.")
    enable_writes: bool = Field(default=False, description="Register scale_deployment (off by default).")
    max_replicas: int = Field(default=20, ge=0, le=1000, description="Upper bound for scale_deployment.")
    confirmation_key: SecretStr | None = Field(
        default=None, description="HMAC key for scale confirmation tokens; random per process when unset."
    )
    confirmation_ttl_s: int = Field(default=120, ge=10, le=3600, description="Lifetime of a confirmation token.")

    @field_validator("allowed_namespaces", "denied_namespaces", mode="before")
    @classmethod
    def _split_namespaces(cls, value: object) -> object:
        return _split(value)

    @field_validator("allowed_namespaces")
    @classmethod
    def _check_allowed(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("at least one namespace (or *) must be allowed")
        return _check_names(value, wildcard=True)

    @field_validator("denied_namespaces")
    @classmethod
    def _check_denied(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _check_names(value, wildcard=False)
