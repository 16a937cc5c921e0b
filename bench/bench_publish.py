"""Prints what publishing costs on each target, on loopback, and what kills do.

    .venv/bin/python bench/bench_publish.py [--data-dir D] [--kills 8]

Figures, not assertions. The targets are real servers on 127.0.0.1: moto's
S3 server and the replay hub's upload room (the same ones the tests start).
Without --data-dir, one full-history sync of the replay hub is run first into a
temporary folder. For each target: the full-history snapshot's publish (bytes,
requests, seconds), a republish (must upload 0 bytes), a night that adds one
snapshot (must upload only it), then `--kills` publishes SIGKILLed at random
moments, each followed by the check (the newest snapshot is whole) and a run
to the end.
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

# The helpers the tests use (the S3 server, the kill rounds), from the repo root.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from llmsync.pipeline import SyncConfig, run_sync
from llmsync.publish.command import publish_to_targets
from llmsync.replay.server import ReplayHub
from tests.publish_kills import add_nights, kill_rounds, publish_seconds
from tests.s3_server import copy_snapshots, running_s3_server


class _Counter(logging.Handler):
    """Counts the requests moto's server logs (one werkzeug line each)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


def _measure(name: str, target: str, data_dir: Path, requests: Callable[[], int]) -> None:
    before = requests()
    started = time.perf_counter()
    [summary] = publish_to_targets(data_dir, [target], say=lambda line: None)
    seconds = time.perf_counter() - started
    print(
        f"  {name:<28} {len(summary.published)} published, {len(summary.already_present)} present; "
        f"{summary.files_uploaded} files, {summary.bytes_uploaded:,} bytes; "
        f"{requests() - before} requests; {seconds:.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, help="a data folder with snapshots")
    parser.add_argument("--kills", type=int, default=8)
    parser.add_argument("--seed", type=int, default=20)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as scratch, ReplayHub() as hub:
        work = Path(scratch)
        if args.data_dir is None:
            started = time.perf_counter()
            run_sync(SyncConfig(data_dir=work / "synced", endpoint=hub.url))
            print(f"full-history sync for the bench: {time.perf_counter() - started:.1f} s")
            source = work / "synced"
        else:
            source = args.data_dir
        counter = _Counter()
        with running_s3_server() as s3:
            werkzeug = logging.getLogger("werkzeug")
            werkzeug.setLevel(logging.INFO)
            werkzeug.propagate = False
            werkzeug.addHandler(counter)
            env = {**s3.env, "HF_ENDPOINT": hub.url, "HF_TOKEN": "hf_llmsyncBenchToken0123456789"}
            os.environ.update(env)
            targets = {
                "s3": ("s3://bench-0/nightly", lambda: counter.count),
                "hf": ("hf://datasets/llmsync/bench-0", lambda: len(hub.requests)),
            }
            for scheme, (target, requests) in targets.items():
                if scheme == "s3":
                    for index in range(args.kills + 2):
                        s3.create_bucket(f"bench-{index}")
                data_dir = copy_snapshots(source, work / f"data-{scheme}")
                print(f"{scheme}: {target}")
                _measure("full-history snapshot", target, data_dir, requests)
                _measure("republish", target, data_dir, requests)
                add_nights(data_dir, 1)
                _measure("a night adding one snapshot", target, data_dir, requests)
                if not args.kills:
                    continue
                add_nights(data_dir, 2)  # four snapshots to publish per kill round
                fresh = [target.replace("-0", f"-{i}") for i in range(1, args.kills + 2)]
                window = publish_seconds(fresh[0], data_dir, env=env)
                delays = [rng.uniform(0.2, 0.95) * window for _ in range(args.kills)]
                rounds = kill_rounds(fresh[1:], data_dir, delays=delays, env=env)
                cut = [r for r in rounds if not r.finished_before_kill]
                newest = sorted(p.name for p in (data_dir / "processed").glob("snapshot=*"))[-1]
                assert all(f"snapshot={r.newest_after_rerun}" == newest for r in rounds)
                print(
                    f"  kills: {len(rounds)} at {', '.join(f'{d:.2f}' for d in delays)} s "
                    f"(an uncut publish of 4 snapshots, process start included: {window:.2f} s); "
                    f"{len(cut)} cut a publish; newest after each kill: "
                    + ", ".join(r.newest_after_kill or "none yet" for r in rounds)
                    + "; every next run completed"
                )


if __name__ == "__main__":
    main()
