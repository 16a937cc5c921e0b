"""Prints how long `llmsync report` takes on a full-history snapshot, and its size.

    .venv/bin/python bench/bench_report.py [--repeat 5] [--data-dir DIR]

Without --data-dir, syncs the replay hub's whole history (207 leaderboard
exports, the October 2023 partial captures served) into a temporary folder in
two runs (as of 2024-11-10, then today) so the report has every view to draw,
then times writing the report of the newest snapshot. Target: at most 10 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

from llmsync.pipeline import SyncConfig, run_sync
from llmsync.replay.server import ReplayHub
from llmsync.report.page import write_report
from llmsync.store.snapshots import SnapshotStore


def _sync_history(data_dir: Path) -> None:
    for as_of in (dt.date(2024, 11, 10), None):
        with ReplayHub(as_of=as_of, serve_partial_captures=True) as hub:
            run_sync(SyncConfig(data_dir=data_dir, endpoint=hub.url))


def _bench(data_dir: Path, *, repeat: int) -> None:
    times, size = [], 0
    out = data_dir / "bench-report.html"
    for _ in range(repeat):
        started = time.perf_counter()
        write_report(data_dir, out=out)
        times.append(time.perf_counter() - started)
        size = out.stat().st_size
    print(f"llmsync report of the newest snapshot in {data_dir.name}, {repeat} repeats")
    print(
        f"{'write the report':<28} median {statistics.median(times):6.2f}s  (max {max(times):.2f}s)"
    )
    print(f"{'file size':<28} {size / 1e6:6.2f} MB")
    manifest = SnapshotStore(data_dir).snapshots()[-1].manifest
    rows = {name: entry["rows"] for name, entry in manifest["tables"].items()}
    print(f"{'drawn from':<28} {rows['scores']:,} score intervals, {rows['revisions']} exports")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--data-dir", type=Path, help="a data directory already synced")
    args = parser.parse_args()
    if args.data_dir:
        _bench(args.data_dir, repeat=args.repeat)
        return
    with tempfile.TemporaryDirectory() as folder:
        _sync_history(Path(folder))
        _bench(Path(folder), repeat=args.repeat)


if __name__ == "__main__":
    main()
