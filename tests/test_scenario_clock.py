"""The lab keeps its own time: a lab seeded 26 hours or 8 days ago investigates exactly like a fresh one.

Three labs are seeded with the scenario clock at now, now − 26 h and now − 8 days (the clock is injected
through seeding, nothing sleeps) and investigated now, through the same servers Claude Desktop runs. Every
timestamp of each report is made relative to its lab's scenario clock; after that the reports must be
equal, call by call and finding by finding. Without the clock pinned, the older labs' log windows (which
follow the wall clock) would be empty and their pods a day or a week older.
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sre_lab import labstate, seeding
from sre_lab.investigate import Report, investigate
from sre_lab.paths import EmbeddedStores
from sre_lab.scenario import build_scenario
from sre_lab.stack import EmbeddedStack

pytestmark = [pytest.mark.anyio, pytest.mark.stack, pytest.mark.slow]
DRILL4 = "The payment gateway seems degraded."
ROWS = 60_000
_INSTANT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|\+00:00)?")
_DATE = re.compile(r"\b\d{4}-\d\d-\d\d\b")


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


def seed_lab(root: Path, now: datetime, runbooks_from: Path) -> EmbeddedStack:
    """A lab at scenario clock `now`; the runbooks (which know no time) are copied from a seeded lab."""
    labstate.claim(root)
    stores, source = EmbeddedStores(root), EmbeddedStores(runbooks_from)
    scenario = build_scenario(now=now)
    seeding.seed_cluster(scenario, stores.cluster, lab_root=root)
    settings = seeding.logs_settings(stores.clickhouse, clickhouse_url=None)
    seeding.seed_logs(scenario, settings, ROWS, progress=False, lab_root=root)
    shutil.copytree(source.chroma, stores.chroma)
    shutil.copytree(source.kb_corpus_cache, stores.kb_corpus_cache)
    return EmbeddedStack(root)


def relative(report: Report) -> dict[str, Any]:
    """The report with every instant as an offset from its scenario clock, and timings left out."""
    assert report.scenario_now is not None, "the stack pins the servers to the lab's clock"
    now = datetime.fromisoformat(report.scenario_now.replace("Z", "+00:00"))
    data = report.model_dump(mode="json", exclude={"started_at", "duration_s", "scenario_now"})
    for call in data["calls"]:
        call.pop("duration_ms")

    def instant(found: re.Match[str]) -> str:
        at = datetime.fromisoformat(found.group(0).replace("Z", "+00:00"))
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
        return f"T{(at - now).total_seconds():+.3f}s"

    def day(found: re.Match[str]) -> str:
        return f"D{(date.fromisoformat(found.group(0)) - now.date()).days:+d}"

    text = _DATE.sub(day, _INSTANT.sub(instant, json.dumps(data, sort_keys=True)))
    return dict(json.loads(text))


async def test_a_lab_seeded_26_hours_or_8_days_ago_investigates_like_a_fresh_one(
    stack, tmp_path_factory: pytest.TempPathFactory
) -> None:
    if stack.kind != "embedded":
        pytest.skip("seeds labs of its own: embedded only")
    fresh_now = datetime.now(UTC).replace(microsecond=0)
    reports = {}
    for label, age in (("fresh", timedelta()), ("26 h", timedelta(hours=26)), ("8 days", timedelta(days=8))):
        root = tmp_path_factory.mktemp(label.replace(" ", "")) / "data"
        lab = seed_lab(root, fresh_now - age, runbooks_from=stack.data_dir)
        assert lab.scenario_now == labstate.iso(fresh_now - age)
        reports[label] = await investigate(lab, DRILL4)
    fresh = relative(reports["fresh"])
    assert fresh["logs"]["first_error"] and fresh["logs"]["timeline"], "the logs answer, as of the lab's clock"
    for label in ("26 h", "8 days"):
        older = relative(reports[label])
        for section in ("focus", "calls", "kubernetes", "logs", "runbooks", "synthesis", "limits", "notes"):
            assert older[section] == fresh[section], f"a lab seeded {label} ago differs in {section}"
