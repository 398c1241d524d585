from k8s_mcp.config import K8sSettings
from k8s_mcp.server import create_server
from mcp_common.runner import main_for


def main() -> None:
    raise SystemExit(main_for("k8s-mcp", K8sSettings, create_server))


if __name__ == "__main__":
    main()
