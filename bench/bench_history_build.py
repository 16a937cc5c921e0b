"""Prints what building `scores` from every recorded export costs, beside the
plain read of the same exports, in one process (issue 23).

    .venv/bin/python bench/bench_history_build.py [--rounds 2]

The 208 exports of the bundled recordings, held in memory as the bytes the
Hub serves. Each round, in one process and in this order: `pyarrow.parquet.
read_table` of every export (the floor), the parse of every export (one after
another; a sync parses two at a time), the intervals by the columnar pass
(`tables.intervals.extend`), a night's build (v2's newest export parsed and
applied to the table of all the others) and the sequential builder the pass
replaced (tests/interval_reference.py, export after export); prints each
time, its ratio to the floor, and whether the two builders gave the same
table. The load average is printed: on a shared machine the figures vary
from round to round. Figures, not assertions.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pyarrow as pa
import pyarrow.dataset  # read_table's first call imports it: an import, not a read
import pyarrow.parquet as pq

from llmsync.replay.recordings import RecordingStore
from llmsync.tables.intervals import Export, empty_scores, extend
from llmsync.tables.leaderboards import LEADERBOARD_FILE, LEADERBOARD_REPOS, parse_leaderboard

# The sequential builder lives with the tests, as their oracle.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.interval_reference import extend_sequentially

T = TypeVar("T")


def recorded() -> list[tuple[str, str, dt.date, bytes]]:
    """(leaderboard, revision, date, bytes) of every recorded export, oldest first."""
    store = RecordingStore.load()
    found = []
    for leaderboard, repo_id in LEADERBOARD_REPOS.items():
        for commit in store.repos[f"dataset/{repo_id}"].commits:
            if LEADERBOARD_FILE in commit.files:
                data = store.file_bytes(commit.files[LEADERBOARD_FILE])
                found.append((leaderboard, commit.sha, commit.date.date(), data))
    return found


def _timed(work: Callable[[], T]) -> tuple[float, T]:
    started = time.perf_counter()
    result = work()
    return time.perf_counter() - started, result


def _night(
    exports: list[tuple[str, str, dt.date, bytes]], parsed: list[Export]
) -> tuple[float, float]:
    """(parse and apply v2's newest export to the table of all the others,
    `read_table` of it) in seconds: a night's build and its floor."""
    last = max(i for i, item in enumerate(exports) if item[0] == "open_llm_v2")
    before = extend(empty_scores(), parsed[:last] + parsed[last + 1 :])
    board, sha, date, data = exports[last]
    floor, _ = _timed(lambda: pq.read_table(pa.BufferReader(data)))
    night, _ = _timed(
        lambda: extend(
            before, [Export(board, sha, date, parse_leaderboard(data, leaderboard=board).values)]
        )
    )
    return night, floor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    exports = recorded()
    print(f"{len(exports)} exports; load average {os.getloadavg()}")
    for number in range(1, args.rounds + 1):
        floor, rows = _timed(
            lambda: sum(pq.read_table(pa.BufferReader(data)).num_rows for *_, data in exports)
        )
        parse, parsed = _timed(
            lambda: [
                Export(board, sha, date, parse_leaderboard(data, leaderboard=board).values)
                for board, sha, date, data in exports
            ]
        )
        columnar, table = _timed(lambda: extend(empty_scores(), parsed))  # noqa: B023
        night, night_floor = _night(exports, parsed)
        sequential, expected = _timed(
            lambda: extend_sequentially(empty_scores(), parsed)  # noqa: B023
        )
        print(
            f"round {number}: read_table {floor:.2f}s ({rows:,} rows) | "
            f"parse {parse:.2f}s ({parse / floor:.1f}x) | "
            f"columnar pass {columnar:.2f}s ({columnar / floor:.1f}x) | "
            f"sequential {sequential:.2f}s ({sequential / floor:.1f}x) | "
            f"parse + pass {(parse + columnar) / floor:.1f}x the floor | "
            f"same table: {table.equals(expected)} | "
            f"a night (the newest export on the rest: parse + pass) {night:.3f}s, "
            f"its read_table {night_floor:.3f}s"
        )
    print(f"load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
