"""The writer's client (the seeder's, the importer's) on a ClickHouse server: its statements are not held to the
reader's deadline (`query_timeout_s` + 5 s), which a bulk INSERT ... SELECT exceeds on a loaded machine."""

from __future__ import annotations

from typing import Any

from logs_mcp.store import connect

# 7 blocks of one row, each sleeping 1 s (ClickHouse caps a sleep at 3 s per block): 7 s in all
SEVEN_SECONDS = "SELECT sum(sleepEachRow(1)) FROM numbers(7) SETTINGS max_block_size = 1"


def test_a_writer_statement_may_outlast_the_readers_deadline(standin: Any) -> None:
    settings = standin.settings("lab_writer", query_timeout_s=1)  # a reader would give up after 6 s
    writer = connect(settings, writer=True)
    try:
        assert writer.command(SEVEN_SECONDS) == 0
    finally:
        writer.close()
