"""k8s-mcp: read-only Kubernetes access for MCP clients, with a confirmed two-step scale."""

__version__ = "0.1.0"
