"""Prints what whole syncs cost over the leaderboards' full history (issue 8).

    .venv/bin/python bench/bench_history_sync.py [--latency-ms 50]

Against the replay hub (the bundled recordings: 17 v1 and 190 v2 exports) on
loopback, each request delayed by `--latency-ms`, each sync in a process of its
own (`llmsync sync --no-prefect`, so Prefect's start is not counted): a cold
backfill of every revision but the newest (the Hub as of 2025-03-20), a sync
that finds the one new export of 2025-03-21, and an unchanged sync. Prints wall
time, peak resident memory, revisions parsed, and the snapshot's table sizes.

Beside them, the same figures for storing every export's rows (the layout
before intervals: one row per export row and benchmark): the time and peak
memory of parsing every landed export and writing them all to one Parquet file
in a process of its own, and that file's size. Figures, not assertions.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from llmsync.store.snapshots import SnapshotStore

# Run in a child process: every landed export parsed and written as one table.
_PER_EXPORT = """
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from llmsync.store.raw import RawStore
from llmsync.store.snapshots import SnapshotStore
from llmsync.tables.leaderboards import LEADERBOARD_FILE, parse_leaderboard

data_dir, out = Path(sys.argv[1]), Path(sys.argv[2])
latest = SnapshotStore(data_dir).latest()
raw = RawStore(data_dir / "raw")
parts = []
for leaderboard, entry in latest.manifest["sources"]["leaderboards"].items():
    for item in entry["revisions"]:
        landed = raw.get(
            entry["repo_id"], LEADERBOARD_FILE, repo_type="dataset", revision=item["revision"]
        )
        rows = parse_leaderboard(landed.path.read_bytes(), leaderboard=leaderboard).rows
        n = rows.num_rows
        rows = rows.append_column("revision", pa.array([item["revision"]] * n, pa.string()))
        parts.append(rows)
table = pa.concat_tables(parts)
pq.write_table(table, out, compression="zstd")
print(f"rows {table.num_rows}")
"""


class _Hub:
    """`llmsync replay-hub` in a process of its own."""

    def __init__(self, *, as_of: str | None, latency_ms: float) -> None:
        command = [sys.executable, "-m", "llmsync.cli", "replay-hub", "--port", "0"]
        command += ["--latency-ms", str(latency_ms)]
        if as_of:
            command += ["--as-of", as_of]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().strip()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def _measured(command: list[str]) -> tuple[float, float, str]:
    """(seconds, peak resident MiB, stdout) of a command in its own process."""
    started = time.perf_counter()
    result = subprocess.run(
        ["/usr/bin/time", "-f", "peak-kib %M", *command], capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    found = re.search(r"peak-kib (\d+)", result.stderr)
    if result.returncode != 0 or found is None:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
    return seconds, int(found.group(1)) / 1024, result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    args = parser.parse_args()
    print(f"replay hub on loopback, {args.latency_ms:g} ms per request")
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        data_dir = root / "data"
        sync = [sys.executable, "-m", "llmsync.cli", "sync", "--no-prefect"]
        runs = (
            ("cold backfill (Hub as of 2025-03-20)", "2025-03-20"),
            ("one new export (2025-03-21)", None),
            ("unchanged", None),
        )
        peaks = []
        for label, as_of in runs:
            hub = _Hub(as_of=as_of, latency_ms=args.latency_ms)
            try:
                seconds, peak, out = _measured(
                    [*sync, "--hub", hub.url, "--data-dir", str(data_dir)]
                )
            finally:
                hub.stop()
            peaks.append(peak)
            parsed = re.search(r"leaderboard revisions parsed: ([\d,]+)", out)
            status = re.search(r"status: (\w+)", out)
            print(
                f"{label:<38} {seconds:6.1f}s  peak {peak:5.0f} MiB  "
                f"{status.group(1) if status else '?'}, "
                f"parsed {parsed.group(1) if parsed else 0}"
            )
        latest = SnapshotStore(data_dir).latest()
        assert latest is not None
        print(f"peak RSS of the syncs: {max(peaks):.0f} MiB")
        for name, entry in latest.manifest["tables"].items():
            print(f"  {name:<10} {entry['rows']:>9,} rows  {entry['bytes'] / 1e6:6.2f} MB")
        intervals = latest.manifest["tables"]["scores"]

        out_file = root / "every_export.parquet"
        seconds, peak, out = _measured(
            [sys.executable, "-c", _PER_EXPORT, str(data_dir), str(out_file)]
        )
        rows = int(out.split()[-1])
        size = out_file.stat().st_size
        print("every export's rows (the layout before intervals):")
        print(
            f"  parse all and write: {seconds:6.1f}s  peak {peak:5.0f} MiB  "
            f"{rows:,} rows  {size / 1e6:6.2f} MB"
        )
        print(
            f"  ratio to intervals: {rows / intervals['rows']:.1f}x rows, "
            f"{size / intervals['bytes']:.1f}x bytes"
        )


if __name__ == "__main__":
    main()
