"""Prints what whole syncs cost over the full leaderboard history.

    .venv/bin/python bench/bench_history_sync.py --bundle PATH/leaderboard-history.bundle

Builds a recordings folder in a temporary directory: the bundled recordings
with both leaderboards' commits replaced by the bundle's 210 real exports
(converted to the display-named Parquet the replay hub serves; see
`bundle_exports`). Then, each in its own process against a replay hub in
another: a backfill of the Hub as of 2025-03-20 (209 exports), the nightly sync
that finds the one export of 2025-03-21, an unchanged sync, and `llmsync
verify` of the last snapshot (a rebuild of all 210 from raw). Prints wall time,
peak resident memory, revisions parsed and table sizes. Figures, not assertions.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

# Run as a script: its own folder is on the path, so its sibling imports as is.
from bundle_exports import bundle_exports

from llmsync.replay.recordings import default_recordings_dir
from llmsync.store.snapshots import SnapshotStore
from llmsync.tables.leaderboards import LEADERBOARD_FILE, LEADERBOARD_REPOS


def _parquet(table: object) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return buffer.getvalue()


def build_recordings(bundle: Path, target: Path) -> int:
    """The bundled recordings with the bundle's exports as the leaderboards' commits."""
    shutil.copytree(default_recordings_dir(), target)
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    commits: dict[str, list[dict[str, object]]] = {name: [] for name in LEADERBOARD_REPOS}
    for export in bundle_exports(bundle):
        data = _parquet(export.table)
        digest = hashlib.sha256(data).hexdigest()
        (target / "blobs" / digest).write_bytes(data)
        repo_id = LEADERBOARD_REPOS[export.leaderboard]
        content = f"dataset/{repo_id}\n{export.date}\n{LEADERBOARD_FILE} {digest}\n"
        commits[export.leaderboard].append(
            {
                "sha": hashlib.sha1(content.encode()).hexdigest(),
                "date": f"{export.date}T00:00:00Z",
                "title": f"Leaderboard export of {export.date} (history bundle, benchmark)",
                "files": {LEADERBOARD_FILE: digest},
                "api_info": None,
                "source": "leaderboard history bundle, converted for a benchmark",
            }
        )
    for repo in manifest["repos"]:
        for leaderboard, repo_id in LEADERBOARD_REPOS.items():
            if repo["repo_id"] == repo_id:
                repo["commits"] = commits[leaderboard]
    (target / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return sum(len(items) for items in commits.values())


class _Hub:
    """`python -m llmsync.replay.server` in a process of its own."""

    def __init__(self, recordings: Path, as_of: str | None) -> None:
        command = [sys.executable, "-m", "llmsync.replay.server", "--recordings", str(recordings)]
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
    parser.add_argument("--bundle", type=Path, required=True)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        started = time.perf_counter()
        count = build_recordings(args.bundle, root / "recordings")
        print(f"recordings with {count} exports built in {time.perf_counter() - started:.0f}s")
        data_dir = root / "data"
        sync = [sys.executable, "-m", "llmsync.cli", "sync", "--no-prefect"]
        runs = (
            ("backfill (Hub as of 2025-03-20)", "2025-03-20"),
            ("nightly (one new export)", None),
        )
        for label, as_of in (*runs, ("unchanged", None)):
            hub = _Hub(root / "recordings", as_of)
            try:
                seconds, peak, out = _measured(
                    [*sync, "--hub", hub.url, "--data-dir", str(data_dir)]
                )
            finally:
                hub.stop()
            parsed = re.search(r"leaderboard revisions parsed: ([\d,]+)", out)
            status = re.search(r"status: (\w+)", out)
            print(
                f"{label:<34} {seconds:6.1f}s  peak {peak:5.0f} MiB  "
                f"{status.group(1) if status else '?'}, "
                f"parsed {parsed.group(1) if parsed else 0}"
            )
        latest = SnapshotStore(data_dir).latest()
        assert latest is not None
        for name, entry in latest.manifest["tables"].items():
            print(f"  {name:<10} {entry['rows']:>9,} rows  {entry['bytes'] / 1e6:6.2f} MB")
        verify = [sys.executable, "-m", "llmsync.cli", "verify", "--data-dir", str(data_dir)]
        seconds, peak, out = _measured(verify)
        same = out.count("identical")
        print(
            f"{'verify (rebuild all from raw)':<34} {seconds:6.1f}s  peak {peak:5.0f} MiB  "
            f"{same} of {len(latest.manifest['tables'])} tables identical"
        )


if __name__ == "__main__":
    main()
