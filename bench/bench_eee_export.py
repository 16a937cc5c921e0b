"""Prints what `llmsync export eee` writes for a full-history snapshot, how long it
takes and its peak memory; checks that a second export writes the same bytes.

    .venv/bin/python bench/bench_eee_export.py [--repeat 2] [--data-dir DIR]

Without --data-dir, syncs the replay hub's whole history once (what
`scripts/dev.sh demo` does) into a temporary folder. Each export runs as
`llmsync export eee` in a child process, so its peak memory (max RSS) is its own.
Target: at most 30 s per export.

EEE's own Open LLM Leaderboard v2 data is one frozen snapshot "around 4,576
models" (every_eval_ever/adapters/catalog.py, the `hfopenllm_v2` entry's notes;
its adapters/README.md says "4576+ models"): one record per model, no history.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from llmsync.pipeline import SyncConfig, run_sync
from llmsync.replay.server import ReplayHub

EEE_FROZEN_V2_MODELS = 4_576


def _export(data_dir: Path, out: Path, *extra: str) -> tuple[float, str]:
    command = [sys.executable, "-m", "llmsync.cli", "export", "eee", "--out", str(out)]
    started = time.perf_counter()
    done = subprocess.run(
        [*command, "--data-dir", str(data_dir), *extra], capture_output=True, text=True, check=True
    )
    return time.perf_counter() - started, done.stdout


def _digest(out: Path) -> tuple[int, str]:
    files = sorted(out.rglob("*.json"))
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(out)).encode() + b"\0" + path.read_bytes())
    return len(files), digest.hexdigest()


def _bench(data_dir: Path, work: Path, *, repeat: int) -> None:
    times, outputs = [], []
    for n in range(repeat):
        out = work / f"export-{n}"
        seconds, printed = _export(data_dir, out)
        times.append(seconds)
        outputs.append(out)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak_mb = children.ru_maxrss / 1024
    # CPU time tells the export's own cost apart from a loaded machine's waiting.
    cpu = (children.ru_utime + children.ru_stime) / repeat
    print(printed.rstrip())
    print(f"{'export (median of ' + str(repeat) + ')':<34} {statistics.median(times):6.2f}s")
    print(f"{'CPU per export (user + system)':<34} {cpu:6.2f}s")
    print(f"{'peak memory (max RSS)':<34} {peak_mb:6.0f} MB")
    digests = {_digest(out) for out in outputs}
    print(f"{'repeated exports byte-identical':<34} {len(digests) == 1}")

    data = outputs[0] / "data"
    # data/<collection>/<developer>/<model>: one folder per model.
    models = Counter(folder.parts[-3] for folder in data.glob("*/*/*"))
    for collection in ("hfopenllm_v1", "hfopenllm_v2"):
        records = sum(1 for _ in (data / collection).rglob("*.json"))
        print(
            f"{collection:<16} {models[collection]:>6,} models, {records:>7,} records "
            f"({records / EEE_FROZEN_V2_MODELS:.1f}x EEE's frozen v2 snapshot of "
            f"~{EEE_FROZEN_V2_MODELS:,} records)"
        )

    newest = max(
        int(json.loads(path.read_bytes())["retrieved_timestamp"])
        for path in (data / "hfopenllm_v2").rglob("*.json")
    )
    day = time.strftime("%Y-%m-%d", time.gmtime(newest))
    seconds, printed = _export(data_dir, work / "since", "--since", day)
    print(f"--since {day} (the newest v2 change), {seconds:.2f}s:")
    print("\n".join("  " + line for line in printed.splitlines()[1:]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--data-dir", type=Path, help="a data directory already synced")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        data_dir = args.data_dir
        if data_dir is None:
            data_dir = work / "data"
            with ReplayHub() as hub:
                run_sync(SyncConfig(data_dir=data_dir, endpoint=hub.url))
        _bench(data_dir, work, repeat=args.repeat)


if __name__ == "__main__":
    main()
