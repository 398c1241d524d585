"""What every SRE lab MCP server shares.

- `settings`: pydantic-settings base with one env prefix per server, fail-fast loading;
- `errors`: the error model (expected failures are `ToolError`s; everything else is sanitized);
- `validation`: allowlists, DNS-1123 names, clamped integers;
- `audit`: a hash-chained JSON-lines audit log and its verifier;
- `ratelimit`: a token bucket per client;
- `guard`: the middleware that applies argument checks, rate limits and audit to every call;
- `auth`: API keys for HTTP and the ASGI middleware that enforces them;
- `factory`: builds an `MCPServer` with all of the above wired in;
- `runner`: the command line (`--transport stdio|http`) every server's `main()` calls.
- `prompts`: the `investigate_incident(service, symptom)` prompt every server offers.
"""

__version__ = "0.1.0"
