"""logs-mcp: the application logs of the SRE lab in ClickHouse, as an MCP server.

- `config`: `LogsSettings` (env prefix `LOGS_MCP_`): a ClickHouse server URL, or the embedded chDB directory;
- `store`: opens the store (either backend through clickhouse-connect), applies the schema, runs the named
  queries in `sql/` with bound parameters and per-query limits;
- `windows`: the fixed time ranges and buckets the tools accept;
- `queries`: the domain functions the tools call (plain, typed, synchronous);
- `models`: the tools' results;
- `server`: `create_server(settings)`, the thin MCP layer;
- `bench`: the p50/p95 benchmark over a real stdio session.
"""

__version__ = "0.1.0"
