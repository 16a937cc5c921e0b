"""Prints what whole syncs cost over the leaderboards' full history, beside the
plain read of the same exports (issues 8 and 23).

    .venv/bin/python bench/bench_history_sync.py [--latency-ms 50] [--json out.json]

Against the replay hub (the bundled recordings: 17 v1 and 190 v2 exports) on
loopback, each sync in a process of its own (`llmsync sync --no-prefect`, so
Prefect's start is not counted; it is measured apart, below):

- a cold backfill with no added latency (the Hub as of 2025-03-20: every
  revision but the newest), beside the floor: `pyarrow.parquet.read_table` of
  the same landed exports, in a process of its own, after the sync (so from the
  page cache the sync left warm, as the sync's own parse read them);
- the same cold backfill with each request delayed by `--latency-ms`, beside
  that floor plus the fetch's own latency floor (every HTTP request the hub
  served, its storage host's included, / concurrency x latency);
- a sync that finds the one new export of 2025-03-21, and an unchanged sync,
  at `--latency-ms`, each beside the read of the exports it parsed;
- Prefect's temporary server: a fresh process that runs an empty flow (what
  `dev.sh demo` pays before its sync starts), reported on its own.

The replay hub builds each export from its row store the first time it is
asked for it, and keeps the file (`LLMSYNC_REPLAY_CACHE`); the Hub serves
stored bytes. So the bench first builds every export into a cache of its own
(timed and printed: what a replay costs once per machine), and the syncs run
against hubs that serve from it.

Each sync's wall time is its process's (Python's start and imports included,
as a user waits for them), and its peak resident memory (`/usr/bin/time`).
The goals (issue 23) are checked and printed with the figures; `--json`
writes them all. Figures, not assertions: the machine's load is printed too.

Beside them, with `--per-export-layout`, the figures of storing every export's
rows (the layout before intervals): the time and peak memory of parsing every
landed export and writing them all to one Parquet file, and that file's size.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from llmsync.pipeline.stages import SyncConfig
from llmsync.replay.rowstore import CACHE_ENV
from llmsync.store.raw import RawStore
from llmsync.store.snapshots import Snapshot, SnapshotStore
from llmsync.tables.leaderboards import LEADERBOARD_FILE

GOALS = {
    "cold_over_floor": 3.0,
    "one_new_export_s": 1.5,
    "unchanged_s": 1.0,
    "peak_rss_mib": 500.0,
}

# Run in a child process: the plain read of the listed files, timed without
# Python's start and pyarrow's import (the floor a sync's parse compares with).
_READ = """
import sys, time
import pyarrow.dataset  # read_table's first call imports it: an import, not a read
import pyarrow.parquet as pq
paths = sys.argv[1:]
started = time.perf_counter()
rows = sum(pq.read_table(path).num_rows for path in paths)
print(f"{time.perf_counter() - started:.6f} {rows}")
"""

# Run in a child process: every file the replay builds, built into its cache.
_BUILD_REPLAY_FILES = """
import time
from llmsync.replay.recordings import RecordingStore
store = RecordingStore.load()
started = time.perf_counter()
for digest in list(store.built):
    store.blob_bytes(digest)
print(f"{time.perf_counter() - started:.6f} {len(store.built)}")
"""

# Run in a child process: Prefect's temporary server, started by an empty flow.
_PREFECT = """
import time
started = time.perf_counter()
from prefect import flow
imported = time.perf_counter()

@flow
def empty() -> int:
    return 1

empty()
print(f"{imported - started:.6f} {time.perf_counter() - imported:.6f}")
"""

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

    def __init__(self, *, as_of: str | None, latency_ms: float, cache: Path) -> None:
        command = [sys.executable, "-m", "llmsync.cli", "replay-hub", "--port", "0"]
        command += ["--latency-ms", str(latency_ms)]
        if as_of:
            command += ["--as-of", as_of]
        env = {**os.environ, CACHE_ENV: str(cache)}
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
        assert self.process.stdout is not None
        self.url = self.process.stdout.readline().strip()

    def served(self) -> int:
        """Every request the hub answered (its CDN's included), admin aside."""
        with urllib.request.urlopen(f"{self.url}/_replay/stats", timeout=30) as answer:
            stats = json.load(answer)
        return sum(int(n) for n in stats["requests"].values())

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def _measured(
    command: list[str], env: dict[str, str] | None = None
) -> tuple[float, float, str, dict[str, float]]:
    """(seconds, peak resident MiB, stdout, seconds per stage) of a command in
    its own process; a stage is timed from its progress line (`<stage> ...` on
    stderr) to the next one, the last to the process's end."""
    started = time.perf_counter()
    process = subprocess.Popen(
        ["/usr/bin/time", "-f", "peak-kib %M", *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    out: list[str] = []
    reader = threading.Thread(target=lambda: out.extend(process.stdout or []))
    reader.start()
    marks: list[tuple[str, float]] = [("start and imports", 0.0)]
    errors: list[str] = []
    for line in process.stderr or []:
        errors.append(line)
        if line.rstrip().endswith(" ..."):
            marks.append((line.strip()[:-4], time.perf_counter() - started))
    process.wait()
    reader.join()
    seconds = time.perf_counter() - started
    stages: dict[str, float] = {}
    for i, (name, at) in enumerate(marks):
        # The sources fetch at the same time, their lines a moment apart: one
        # stage, from the first source's line to the next stage's.
        name = "fetch (the sources at once)" if name.startswith("fetch ") else name
        ended = marks[i + 1][1] if i + 1 < len(marks) else seconds
        stages[name] = round(stages.get(name, 0.0) + ended - at, 3)
    found = re.search(r"peak-kib (\d+)", "".join(errors))
    if process.returncode != 0 or found is None:
        raise SystemExit(f"{' '.join(command)} failed:\n{''.join(out)}\n{''.join(errors)}")
    return seconds, int(found.group(1)) / 1024, "".join(out), stages


def _build_replay_files(cache: Path) -> dict[str, Any]:
    """Every file the replay builds, built into `cache` in a fresh process."""
    env = {**os.environ, CACHE_ENV: str(cache)}
    result = subprocess.run(
        [sys.executable, "-c", _BUILD_REPLAY_FILES],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    seconds, files = result.stdout.split()
    return {"files": int(files), "seconds": round(float(seconds), 3)}


def _hub_serve(snapshot: Snapshot, *, as_of: str, workers: int, cache: Path) -> float:
    """Seconds a fresh replay hub takes to serve every export `snapshot`
    lists, fetched `workers` at a time with plain GETs: what the hub costs (on
    this machine its CPU is shared with the sync), whoever asks."""
    hub = _Hub(as_of=as_of, latency_ms=0.0, cache=cache)
    urls = [
        f"{hub.url}/datasets/{entry['repo_id']}/resolve/{item['revision']}/{LEADERBOARD_FILE}"
        for entry in snapshot.manifest["sources"]["leaderboards"].values()
        for item in entry["revisions"]
    ]
    try:
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(lambda url: urllib.request.urlopen(url, timeout=120).read(), urls))
        return round(time.perf_counter() - started, 3)
    finally:
        hub.stop()


def _sync(data_dir: Path, *, as_of: str | None, latency_ms: float, cache: Path) -> dict[str, Any]:
    """One sync in its own process, against a hub of its own; what it cost."""
    hub = _Hub(as_of=as_of, latency_ms=latency_ms, cache=cache)
    try:
        command = [sys.executable, "-m", "llmsync.cli", "sync", "--no-prefect"]
        seconds, peak, out, stages = _measured(
            [*command, "--hub", hub.url, "--data-dir", str(data_dir)]
        )
        served = hub.served()
    finally:
        hub.stop()
    parsed = re.search(r"leaderboard revisions parsed: ([\d,]+)", out)
    status = re.search(r"status: (\w+)", out)
    inside = re.search(r"wall time: ([\d.]+)s", out)
    requests = re.search(r"hub requests: api (\d+), resolvers (\d+), pages (\d+)", out)
    return {
        "seconds": round(seconds, 3),
        "seconds_in_sync": float(inside.group(1)) if inside else None,
        "peak_rss_mib": round(peak, 1),
        "status": status.group(1) if status else "?",
        "parsed": int(parsed.group(1).replace(",", "")) if parsed else 0,
        "requests": sum(int(n) for n in requests.groups()) if requests else 0,
        # Every HTTP round trip, the storage host's (the CDN's) included.
        "http_requests": served,
        "latency_ms": latency_ms,
        "stages_seconds": stages,
    }


def _export_paths(data_dir: Path, snapshot: Snapshot, since: Snapshot | None) -> list[str]:
    """The landed exports `snapshot` lists and `since` did not: what a sync parsed."""
    seen = set()
    if since is not None:
        for entry in since.manifest["sources"]["leaderboards"].values():
            seen |= {item["revision"] for item in entry["revisions"]}
    raw = RawStore(data_dir / "raw")
    paths = []
    for entry in snapshot.manifest["sources"]["leaderboards"].values():
        for item in entry["revisions"]:
            if item["revision"] in seen:
                continue
            landed = raw.get(
                entry["repo_id"], LEADERBOARD_FILE, repo_type="dataset", revision=item["revision"]
            )
            if landed is not None:
                paths.append(str(landed.path))
    return paths


def _floor(paths: list[str]) -> dict[str, Any]:
    """The plain read of `paths` in a fresh process, timed around the reads."""
    if not paths:
        return {"files": 0, "rows": 0, "seconds": 0.0}
    result = subprocess.run(
        [sys.executable, "-c", _READ, *paths], capture_output=True, text=True, check=True
    )
    seconds, rows = result.stdout.split()
    return {"files": len(paths), "rows": int(rows), "seconds": round(float(seconds), 3)}


def _prefect_start(root: Path) -> dict[str, Any]:
    """Prefect's import and an empty flow run on its temporary server, apart,
    with the settings `dev.sh` runs it with. A start that fails (it times out
    on a loaded machine) is reported, not fatal: the syncs' figures stand."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_")}
    env["PREFECT_HOME"] = str(root / "prefect-home")
    env["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    env["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "120"
    try:
        seconds, peak, out, _ = _measured([sys.executable, "-c", _PREFECT], env=env)
    except SystemExit as exc:
        return {"error": str(exc).strip().splitlines()[-1][:200]}
    imported, flow = (float(n) for n in out.split()[-2:])
    return {
        "process_seconds": round(seconds, 3),
        "import_seconds": round(imported, 3),
        "empty_flow_with_temporary_server_seconds": round(flow, 3),
        "peak_rss_mib": round(peak, 1),
    }


def _per_export_layout(data_dir: Path, root: Path, intervals: dict[str, Any]) -> dict[str, Any]:
    out_file = root / "every_export.parquet"
    seconds, peak, out, _ = _measured(
        [sys.executable, "-c", _PER_EXPORT, str(data_dir), str(out_file)]
    )
    rows = int(out.split()[-1])
    size = out_file.stat().st_size
    return {
        "seconds": round(seconds, 3),
        "peak_rss_mib": round(peak, 1),
        "rows": rows,
        "bytes": size,
        "rows_over_intervals": round(rows / intervals["rows"], 1),
        "bytes_over_intervals": round(size / intervals["bytes"], 1),
    }


def run(latency_ms: float, *, per_export: bool) -> dict[str, Any]:
    workers = SyncConfig(data_dir=Path("data")).download_workers
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        quiet_dir, data_dir, cache = root / "cold-no-latency", root / "data", root / "replay"
        replay_build = _build_replay_files(cache)
        syncs = {
            "cold_no_latency": _sync(quiet_dir, as_of="2025-03-20", latency_ms=0.0, cache=cache)
        }
        cold = SnapshotStore(quiet_dir).latest()
        assert cold is not None
        syncs["cold_no_latency"]["floor"] = _floor(_export_paths(quiet_dir, cold, None))
        hub_serve = _hub_serve(cold, as_of="2025-03-20", workers=workers, cache=cache)
        for name, as_of in (
            ("cold", "2025-03-20"),
            ("one_new_export", None),
            ("unchanged", None),
        ):
            before = SnapshotStore(data_dir).latest()
            syncs[name] = _sync(data_dir, as_of=as_of, latency_ms=latency_ms, cache=cache)
            after = SnapshotStore(data_dir).latest()
            assert after is not None
            syncs[name]["floor"] = _floor(
                _export_paths(data_dir, after, before) if after != before else []
            )
        latest = SnapshotStore(data_dir).latest()
        assert latest is not None
        tables = {
            name: {"rows": entry["rows"], "bytes": entry["bytes"]}
            for name, entry in latest.manifest["tables"].items()
        }
        every = _floor(_export_paths(data_dir, latest, None))
        layout = _per_export_layout(data_dir, root, tables["scores"]) if per_export else None
        prefect = _prefect_start(root)

    for sync in syncs.values():
        floor = sync["floor"]["seconds"]
        sync["ratio_to_floor"] = round(sync["seconds"] / floor, 2) if floor else None
    quiet, cold_latency = syncs["cold_no_latency"], syncs["cold"]
    fetch_floor = cold_latency["http_requests"] / workers * latency_ms / 1000
    allowed_cold = GOALS["cold_over_floor"] * quiet["floor"]["seconds"] + fetch_floor
    peak = max(sync["peak_rss_mib"] for sync in syncs.values())
    goals = {
        "cold_no_latency_within_3x_floor": quiet["seconds"]
        <= GOALS["cold_over_floor"] * quiet["floor"]["seconds"],
        "cold_with_latency_within_3x_floor_plus_fetch_floor": cold_latency["seconds"]
        <= allowed_cold,
        "one_new_export_within_1_5_s": syncs["one_new_export"]["seconds"]
        <= GOALS["one_new_export_s"],
        "unchanged_within_1_0_s": syncs["unchanged"]["seconds"] <= GOALS["unchanged_s"],
        "peak_rss_within_500_mib": peak <= GOALS["peak_rss_mib"],
    }
    return {
        "latency_ms": latency_ms,
        "download_workers": workers,
        "load_average_before": [round(n, 2) for n in load],
        "load_average_after": [round(n, 2) for n in os.getloadavg()],
        "cpus": os.cpu_count(),
        "syncs": syncs,
        "fetch_latency_floor_seconds": round(fetch_floor, 3),
        "replay_hub_serve_seconds": hub_serve,
        "replay_build_files": replay_build,
        "cold_with_latency_allowed_seconds": round(allowed_cold, 3),
        "every_export_plain_read": every,
        "peak_rss_mib": peak,
        "goals": goals,
        "prefect": prefect,
        "tables": tables,
        "per_export_layout": layout,
    }


def _print(result: dict[str, Any]) -> None:
    print(
        f"replay hub on loopback; load average {result['load_average_before']} before, "
        f"{result['load_average_after']} after, {result['cpus']} CPUs"
    )
    labels = {
        "cold_no_latency": "cold backfill, no added latency",
        "cold": f"cold backfill, {result['latency_ms']:g} ms a request",
        "one_new_export": f"one new export, {result['latency_ms']:g} ms",
        "unchanged": f"unchanged, {result['latency_ms']:g} ms",
    }
    for name, sync in result["syncs"].items():
        floor, ratio = sync["floor"], sync["ratio_to_floor"]
        print(
            f"{labels[name]:<34} {sync['seconds']:6.2f}s  peak {sync['peak_rss_mib']:5.0f} MiB  "
            f"{sync['status']}, parsed {sync['parsed']}, {sync['requests']} requests "
            f"({sync['http_requests']} HTTP) | "
            f"read_table of its {floor['files']} exports {floor['seconds']:5.2f}s"
            + (f"  ratio {ratio:.1f}x" if ratio is not None else "")
        )
    for name, sync in result["syncs"].items():
        stages = ", ".join(f"{stage} {sec:.2f}" for stage, sec in sync["stages_seconds"].items())
        print(f"  {name} by stage (s): {stages}")
    build = result["replay_build_files"]
    print(
        f"the replay building its {build['files']} files into its cache (once a machine): "
        f"{build['seconds']:.2f}s; a fresh replay hub serving the "
        f"{result['syncs']['cold_no_latency']['parsed']} exports from it to "
        f"{result['download_workers']} plain GETs at a time: "
        f"{result['replay_hub_serve_seconds']:.2f}s"
    )
    print(
        f"fetch's latency floor: {result['syncs']['cold']['http_requests']} HTTP requests "
        f"(the Hub's and its storage host's) / "
        f"{result['download_workers']} workers x {result['latency_ms']:g} ms = "
        f"{result['fetch_latency_floor_seconds']:.2f}s; cold with latency allowed "
        f"{result['cold_with_latency_allowed_seconds']:.2f}s"
    )
    every = result["every_export_plain_read"]
    print(
        f"read_table of every landed export: {every['files']} files, "
        f"{every['rows']:,} rows, {every['seconds']:.2f}s"
    )
    print(f"peak RSS of the syncs: {result['peak_rss_mib']:.0f} MiB")
    for goal, met in result["goals"].items():
        print(f"  goal {goal}: {'met' if met else 'NOT met'}")
    prefect = result["prefect"]
    if "error" in prefect:
        print(f"Prefect, apart: its temporary server did not start: {prefect['error']}")
    else:
        print(
            f"Prefect, apart: import {prefect['import_seconds']:.2f}s, an empty flow on its "
            f"temporary server {prefect['empty_flow_with_temporary_server_seconds']:.2f}s, "
            f"process {prefect['process_seconds']:.2f}s"
        )
    for name, entry in result["tables"].items():
        print(f"  {name:<12} {entry['rows']:>9,} rows  {entry['bytes'] / 1e6:6.2f} MB")
    layout = result["per_export_layout"]
    if layout is not None:
        print("every export's rows (the layout before intervals):")
        print(
            f"  parse all and write: {layout['seconds']:6.1f}s  peak {layout['peak_rss_mib']:5.0f}"
            f" MiB  {layout['rows']:,} rows  {layout['bytes'] / 1e6:6.2f} MB"
        )
        print(
            f"  ratio to intervals: {layout['rows_over_intervals']:.1f}x rows, "
            f"{layout['bytes_over_intervals']:.1f}x bytes"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument(
        "--per-export-layout",
        action="store_true",
        help="also measure storing every export's rows (the layout before intervals)",
    )
    args = parser.parse_args()
    result = run(args.latency_ms, per_export=args.per_export_layout)
    _print(result)
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
