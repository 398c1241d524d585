from logs_mcp.config import LogsSettings
from logs_mcp.server import create_server
from mcp_common.runner import main_for


def main() -> None:
    raise SystemExit(main_for("logs-mcp", LogsSettings, create_server))


if __name__ == "__main__":
    main()
