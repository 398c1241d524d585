"""`sre-lab`: seed the incident, run the lab, wire Claude to the servers, investigate, verify audit logs.

Every command is registered on `app` through `LabTyper`, so each runs inside the one error handler
(`sre_lab.errors`): an expected failure prints one line and exits non-zero; only a bug shows a traceback.
"""

from sre_lab.cli import audit, config, investigate, lab, seed
from sre_lab.cli.base import app

__all__ = ["app", "audit", "config", "investigate", "lab", "seed"]
