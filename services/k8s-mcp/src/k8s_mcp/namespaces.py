"""Which namespaces the tools may read: an explicit list, or `*` (every namespace) minus a deny list.

The system namespaces (`kube-system`, `kube-public`, `kube-node-lease`) stay denied under `*` unless they are
named explicitly: `K8S_MCP_ALLOWED_NAMESPACES=*,kube-system` is a deliberate choice, `*` alone is not. The
policy is checked before any request leaves the server (defence in depth on top of the RBAC).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from mcp_common.errors import ToolError
from mcp_common.validation import require_dns1123_label

WILDCARD = "*"
DEFAULT_DENIED = ("kube-system", "kube-public", "kube-node-lease")


@dataclass(frozen=True)
class NamespacePolicy:
    named: tuple[str, ...]  # namespaces named explicitly, in the configured order
    wildcard: bool = False  # `*`: every namespace not denied
    denied: tuple[str, ...] = DEFAULT_DENIED

    @classmethod
    def from_settings(cls, allowed: Iterable[str], denied: Iterable[str]) -> NamespacePolicy:
        allowed = tuple(allowed)
        return cls(
            named=tuple(ns for ns in allowed if ns != WILDCARD),
            wildcard=WILDCARD in allowed,
            denied=tuple(denied),
        )

    def allows(self, namespace: str) -> bool:
        return namespace in self.named or (self.wildcard and namespace not in self.denied)

    def describe(self) -> str:
        """For tool descriptions and error messages."""
        if not self.wildcard:
            return ", ".join(self.named)
        also = f" (named: {', '.join(self.named)})" if self.named else ""
        return f"any namespace except {', '.join(self.denied) or 'none'}{also}"

    def check(self, namespace: str) -> str:
        """The namespace, validated and allowed; a `ToolError` naming what is allowed otherwise."""
        value = require_dns1123_label(namespace.strip(), "namespace")
        if not self.allows(value):
            raise ToolError(f"namespace '{value}' is not allowed; allowed: {self.describe()}")
        return value

    def visible(self, present: Iterable[str]) -> list[str]:
        """The allowed namespaces, in the configured order, then (under `*`) the other allowed ones present."""
        present = list(present)
        listed = list(self.named)
        if self.wildcard:
            listed += sorted(ns for ns in present if ns not in self.named and ns not in self.denied)
        return listed
