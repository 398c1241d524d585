"""The `investigate_incident(service, symptom)` prompt every server offers, registered one way."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from mcp.server.mcpserver import MCPServer
from pydantic import Field

from mcp_common.errors import ToolError, invalid_params
from mcp_common.validation import require_dns1123_subdomain

Guide = Callable[[str, str], str]
"""Renders the server's guide from a checked service name and a normalized symptom."""


def add_investigate_prompt(server: MCPServer[Any], title: str, guide: Guide) -> None:
    """Register `investigate_incident`: arguments checked here, the text from the server's `guide`."""

    @server.prompt(name="investigate_incident", title=title)
    def investigate_incident(
        service: Annotated[str, Field(max_length=253, description="The degraded service, e.g. payment-gateway")],
        symptom: Annotated[str, Field(max_length=500, description="What users or alerts report")],
    ) -> str:
        """A step-by-step guide through this server's tools for one degraded service."""
        try:
            name = require_dns1123_subdomain(service.strip(), "service")
        except ToolError as exc:  # prompts report failures as protocol errors, not tool results
            raise invalid_params(str(exc)) from None
        return guide(name, " ".join(symptom.split())[:500])
