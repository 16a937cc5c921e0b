"""Prints how long the sync's stages take against the replay hub, and its memory.

    .venv/bin/python bench/bench_sync.py [--repeat 3]

Figures, not assertions: a cold run (empty data directory), a warm run that
publishes (raw landing already filled, hub state changed), an unchanged run,
the leaderboard parse alone, and the peak resident memory of this process.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from llmsync.pipeline import LeaderboardRevision, SyncConfig, fetch_leaderboards, run_sync
from llmsync.replay.server import ReplayHub
from llmsync.tables.leaderboards import parse_leaderboard


def _timed(fn: Callable[..., object], *args: object) -> float:
    started = time.perf_counter()
    fn(*args)
    return time.perf_counter() - started


def _parse_all(revisions: list[LeaderboardRevision]) -> None:
    for item in revisions:
        parse_leaderboard(item.path.read_bytes(), leaderboard=item.leaderboard)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    cold, warm, unchanged, parse = [], [], [], []
    with ReplayHub(as_of=dt.date(2024, 11, 10)) as old, ReplayHub() as new:
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory() as folder:
                data_dir = Path(folder)
                cold.append(_timed(run_sync, SyncConfig(data_dir=data_dir, endpoint=old.url)))
                config = SyncConfig(data_dir=data_dir, endpoint=new.url)
                warm.append(_timed(run_sync, config))
                unchanged.append(_timed(run_sync, config))
                parse.append(_timed(_parse_all, fetch_leaderboards(config)))

    def show(label: str, values: list[float]) -> None:
        print(f"{label:<44} median {statistics.median(values):6.2f}s  (min {min(values):.2f}s)")

    print(f"llmsync sync without Prefect, replay hub on loopback, {args.repeat} repeats")
    show("cold run (2024-11-10 state, empty data dir)", cold)
    show("warm run that publishes (newest state)", warm)
    show("unchanged run", unchanged)
    show("parse all 6 leaderboard tables (112k rows)", parse)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'peak resident memory':<44} {peak_mib:6.0f} MiB")


if __name__ == "__main__":
    main()
