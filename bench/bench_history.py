"""Prints figures of the recorded leaderboard history: size, build, serve, parse.

    .venv/bin/python bench/bench_history.py

Figures, not assertions: the recordings' size on disk, the time to load them,
to build every export's Parquet from the row stores (cold, then from the
in-memory cache), to download every export through the replay hub twice, and
to parse every served export into `scores` rows. Also checks that every built
file is the byte sequence the manifest names (sha256), and that the two
downloads were identical.
"""

from __future__ import annotations

import hashlib
import resource
import time
import urllib.request

import pyarrow as pa
import pyarrow.parquet as pq

from llmsync.replay.recordings import RecordingStore, default_recordings_dir
from llmsync.replay.server import ReplayHub
from llmsync.tables.leaderboards import LEADERBOARD_FILE, LEADERBOARD_REPOS, parse_leaderboard


def main() -> int:
    root = default_recordings_dir()
    files = [path for path in root.rglob("*") if path.is_file()]
    size = sum(path.stat().st_size for path in files)
    print(f"recordings: {len(files)} files, {size:,} bytes ({size / 1e6:.2f} MB)")

    started = time.perf_counter()
    store = RecordingStore.load()
    print(f"load: {time.perf_counter() - started:.2f} s")

    commits = [
        (leaderboard, commit)
        for leaderboard, repo_id in LEADERBOARD_REPOS.items()
        for commit in store.repos[f"dataset/{repo_id}"].commits
    ]
    entries = [commit.files[LEADERBOARD_FILE] for _, commit in commits]
    started = time.perf_counter()
    built = [store.file_bytes(entry) for entry in entries]
    cold = time.perf_counter() - started
    served = sum(len(data) for data in built)
    print(f"build {len(built)} exports (cold): {cold:.2f} s, {served:,} bytes")
    started = time.perf_counter()
    again = [store.file_bytes(entry) for entry in entries]
    print(f"again (in-memory cache): {time.perf_counter() - started:.3f} s")
    matching = sum(
        hashlib.sha256(data).hexdigest() == entry.sha256 and len(data) == entry.size
        for data, entry in zip(built, entries, strict=True)
    )
    print(f"sha256 and size as the manifest says: {matching}/{len(built)}")
    assert again == built

    with ReplayHub() as hub:
        downloads = []
        started = time.perf_counter()
        for _ in range(2):
            downloads.append(
                [_download(f"{hub.cdn_url}/cdn-lfs/{entry.sha256}") for entry in entries]
            )
        took = time.perf_counter() - started
    same = sum(a == b == c for a, b, c in zip(*downloads, built, strict=True))
    print(f"served twice over HTTP: {took:.2f} s; identical to each other and built: {same}")

    started = time.perf_counter()
    rows = 0
    for (leaderboard, commit), data in zip(commits, built, strict=True):
        table = pq.read_table(pa.BufferReader(data))
        rows += parse_leaderboard(
            table,
            leaderboard=leaderboard,
            source_revision=commit.sha,
            source_date=commit.date.date(),
        ).num_rows
    parse = time.perf_counter() - started
    print(f"parse {len(commits)} exports (read Parquet + parse): {parse:.2f} s, {rows:,} rows")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory: {peak:.0f} MB")
    return 0


def _download(url: str) -> bytes:
    with urllib.request.urlopen(url) as response:
        data: bytes = response.read()
    return data


if __name__ == "__main__":
    raise SystemExit(main())
