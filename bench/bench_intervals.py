"""Prints what building `scores` intervals from the full leaderboard history costs.

    .venv/bin/python bench/bench_intervals.py --bundle PATH/leaderboard-history.bundle
        [--check] [--incremental]

Reads the 210 real exports of the history bundle (see `bundle_exports`), parses
each, and builds the intervals in one pass; prints the time of each step, the
table sizes and the peak resident memory. `--incremental` also builds them one
export at a time (as nightly syncs would) and says whether the two are equal;
`--check` compares the as-of view with every export's parsed rows
(occurrences aside).
Figures, not assertions.
"""

from __future__ import annotations

import argparse
import io
import resource
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

# Run as a script: its own folder is on the path, so its sibling imports as is.
from bundle_exports import bundle_exports

from llmsync.tables.export_rows import ExportRows
from llmsync.tables.intervals import Export, as_of, empty_scores, extend
from llmsync.tables.leaderboards import parse_leaderboard
from llmsync.tables.revisions import classify


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _long(export: Export) -> pa.Table:
    rows = export.rows
    return rows.long(export.leaderboard) if isinstance(rows, ExportRows) else rows


def _canonical(table: pa.Table) -> pa.Table:
    keys = [(name, "ascending") for name in table.column_names]
    return table.sort_by(keys)


class _Parsed:
    """Parses and classifies the bundle's exports lazily, timing the parse."""

    def __init__(self, bundle: Path, *, suspect_row_loss: float, keep: bool) -> None:
        self.bundle, self.suspect_row_loss, self.keep = bundle, suspect_row_loss, keep
        self.parse_seconds = self.read_seconds = 0.0
        self.count = self.upstream_rows = self.long_rows = 0
        self.suspect: list[str] = []
        self.kept: list[Export] = []

    def __iter__(self) -> Iterator[Export]:
        last_ok: dict[str, int] = {}
        items = bundle_exports(self.bundle)
        while True:
            started = time.perf_counter()
            item = next(items, None)
            self.read_seconds += time.perf_counter() - started
            if item is None:
                return
            started = time.perf_counter()
            parsed = parse_leaderboard(item.table, leaderboard=item.leaderboard)
            self.parse_seconds += time.perf_counter() - started
            self.count += 1
            self.upstream_rows += parsed.upstream_rows
            self.long_rows += int((~np.isnan(parsed.values.values)).sum())
            status, reason = classify(
                parsed.upstream_rows,
                previous_ok_rows=last_ok.get(item.leaderboard),
                max_loss=self.suspect_row_loss,
            )
            if status != "ok":
                self.suspect.append(f"{item.leaderboard} {item.date}: {reason}")
                continue
            last_ok[item.leaderboard] = parsed.upstream_rows
            export = Export(item.leaderboard, item.revision, item.date, parsed.values)
            if self.keep:
                self.kept.append(export)
            yield export


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bundle", type=Path, required=True)
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--incremental", action="store_true")
    parser.add_argument("--suspect-row-loss", type=float, default=0.5)
    args = parser.parse_args()

    parsed = _Parsed(
        args.bundle, suspect_row_loss=args.suspect_row_loss, keep=args.check or args.incremental
    )
    started = time.perf_counter()
    scores = extend(empty_scores(), parsed)
    total = time.perf_counter() - started
    print(f"full-history build, streaming (read CSV, parse, apply): {total:.1f}s")
    applying = total - parsed.read_seconds - parsed.parse_seconds
    print(f"  read {parsed.count} CSV exports out of git: {parsed.read_seconds:.1f}s")
    print(f"  parse them: {parsed.parse_seconds:.1f}s")
    print(f"  apply the ok ones to the intervals, sort: {applying:.1f}s")
    print(f"  {parsed.upstream_rows:,} upstream rows, {parsed.long_rows:,} rows x benchmarks")
    for line in parsed.suspect:
        print(f"  suspect, not applied: {line}")
    buffer = io.BytesIO()
    pq.write_table(scores, buffer, compression="zstd")
    open_rows = scores.column("valid_to").null_count
    print(f"  scores: {scores.num_rows:,} intervals ({open_rows:,} open)")
    print(f"  {buffer.tell() / 1e6:.1f} MB as zstd Parquet, {scores.nbytes / 1e6:.0f} MB in memory")
    print(f"peak resident memory of the build: {_peak_mib():.0f} MiB")
    exports = parsed.kept

    if args.incremental:
        started = time.perf_counter()
        chained = empty_scores()
        for export in exports:
            chained = extend(chained, [export])
        seconds = time.perf_counter() - started
        print(f"build one export at a time ({len(exports)} extends): {seconds:.1f}s")
        print(f"  equal to the one-pass build: {chained.equals(scores)}")
        before = extend(empty_scores(), exports[:-1])
        started = time.perf_counter()
        extend(before, exports[-1:])
        seconds = time.perf_counter() - started
        print(f"  one nightly extend (the last export on top of the rest): {seconds:.2f}s")

    if args.check:
        started = time.perf_counter()
        mismatches = 0
        for export in exports:
            mine = scores.filter(pc.equal(scores.column("leaderboard"), export.leaderboard))
            # Without `occurrence`, as the tests compare: a duplicate's number
            # is its interval's, not necessarily the one this export's parse gave.
            state = as_of(mine, export.date).drop_columns(["occurrence"])
            rows = _long(export).drop_columns(["occurrence"])
            if not _canonical(state).equals(_canonical(rows)):
                mismatches += 1
                print(f"  as-of differs: {export.leaderboard} {export.date}")
        seconds = time.perf_counter() - started
        print(f"as-of view vs each ok export's rows: {mismatches} mismatches ({seconds:.1f}s)")
    print(f"peak resident memory: {_peak_mib():.0f} MiB")


if __name__ == "__main__":
    main()
