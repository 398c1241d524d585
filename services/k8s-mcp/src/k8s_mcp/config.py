"""k8s-mcp settings, all from `K8S_MCP_*` environment variables (see the service README for the table)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import NoDecode

from mcp_common.settings import ServerSettings, server_config

DEFAULT_ALLOWED_NAMESPACES = ("payments", "auth", "monitoring", "default")


class K8sSettings(ServerSettings):
    model_config = server_config("K8S_MCP_")

    backend: Literal["snapshot", "live"] | None = Field(
        default=None, description="snapshot (a directory of kubectl JSON) or live (the Kubernetes API)."
    )
    snapshot_dir: Path | None = Field(default=None, description="Cluster snapshot directory (backend=snapshot).")
    kubeconfig: Path | None = Field(default=None, description="kubeconfig file (backend=live); default ~/.kube/config.")
    context: str | None = Field(default=None, description="kubeconfig context (backend=live); default current.")
    in_cluster: bool = Field(default=False, description="Use the pod's service account (backend=live).")
    allowed_namespaces: Annotated[tuple[str, ...], NoDecode] = Field(
        default=DEFAULT_ALLOWED_NAMESPACES, description="Comma-separated namespaces the tools may read."
    )
    request_timeout_s: float = Field(default=10.0, gt=0, le=120, description="Kubernetes API request timeout.")
    enable_writes: bool = Field(default=False, description="Register scale_deployment (off by default).")
    max_replicas: int = Field(default=20, ge=0, le=1000, description="Upper bound for scale_deployment.")
    confirmation_key: SecretStr | None = Field(
        default=None, description="HMAC key for scale confirmation tokens; random per process when unset."
    )
    confirmation_ttl_s: int = Field(default=120, ge=10, le=3600, description="Lifetime of a confirmation token.")

    @field_validator("allowed_namespaces", mode="before")
    @classmethod
    def _split_namespaces(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("allowed_namespaces")
    @classmethod
    def _check_namespaces(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("at least one namespace must be allowed")
        if "kube-system" in value:
            raise ValueError("kube-system may not be exposed to MCP clients")
        return value
