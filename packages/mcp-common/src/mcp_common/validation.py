"""Defence-in-depth checks run before any I/O, after the JSON schema has already bounded the arguments."""

from __future__ import annotations

import re
from collections.abc import Iterable

from mcp_common.errors import InvalidArgumentError, NotAllowedError

# RFC 1123 label (namespaces, container names) and subdomain (pod, deployment names), as Kubernetes uses them.
_DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def require_allowed(value: str, allowed: Iterable[str], what: str) -> str:
    """Return `value` if it is in `allowed`, else raise a `NotAllowedError` listing what is allowed."""
    allowed = list(allowed)
    if value not in allowed:
        raise NotAllowedError(f"{what} '{_shorten(value)}' is not allowed; allowed: {', '.join(allowed)}")
    return value


def require_dns1123_label(value: str, what: str) -> str:
    """A Kubernetes DNS-1123 label: lowercase alphanumerics and '-', at most 63 characters."""
    if len(value) > 63 or not _DNS1123_LABEL.match(value):
        raise InvalidArgumentError(
            f"{what} '{_shorten(value)}' is not a valid name: use lowercase letters, digits and '-', "
            "starting and ending with a letter or digit, at most 63 characters"
        )
    return value


def require_dns1123_subdomain(value: str, what: str) -> str:
    """A Kubernetes DNS-1123 subdomain (pod, deployment names): labels joined by '.', at most 253 characters."""
    if len(value) > 253 or not _DNS1123_SUBDOMAIN.match(value):
        raise InvalidArgumentError(
            f"{what} '{_shorten(value)}' is not a valid name: use lowercase letters, digits, '-' and '.', "
            "starting and ending with a letter or digit, at most 253 characters"
        )
    return value


def clamp(value: int, low: int, high: int) -> int:
    """Clamp an integer into [low, high] (for arguments documented as clamped rather than rejected)."""
    return max(low, min(high, value))


def _shorten(value: str, limit: int = 80) -> str:
    # Error messages echo input back; keep a hostile 10 kB value from flooding them.
    return value if len(value) <= limit else value[:limit] + f"…(+{len(value) - limit} chars)"
