"""A sync killed at any moment never damages the store (SIGKILL, whole process group)."""

from __future__ import annotations

import datetime as dt
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest

from llmsync.pipeline import SyncConfig, run_sync
from llmsync.store.snapshots import TABLE_NAMES, SnapshotStore
from tests.tables import snapshot_files

pytestmark = pytest.mark.slow


def _assert_store_sound(data_dir: Path, before: dict[str, bytes]) -> None:
    """Earlier snapshots byte for byte as they were; every visible one whole and readable."""
    now = snapshot_files(data_dir)
    assert {k: v for k, v in now.items() if k in before} == before
    store = SnapshotStore(data_dir)
    folders = sorted((data_dir / "processed").glob("snapshot=*"))
    assert len(folders) == len(store.snapshots())  # no folder without its manifest
    for snapshot in store.snapshots():
        assert store.verify(snapshot) == []
        for name in TABLE_NAMES:
            assert pq.read_table(snapshot.table_path(name)).num_rows >= 0
    pattern = str(data_dir / "processed" / "snapshot=*" / "scores.parquet")
    if folders:
        duckdb.sql(f"SELECT count(*) FROM read_parquet('{pattern}', hive_partitioning=true)")


def _sync_command(hub_url: str, data_dir: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "llmsync.cli",
        "sync",
        "--no-prefect",
        "--hub",
        hub_url,
        "--data-dir",
        str(data_dir),
    ]


@pytest.fixture()
def hubs(replay_hub_factory: Callable[..., Any]) -> tuple[str, str]:
    return replay_hub_factory(as_of=dt.date(2024, 11, 10)).url, replay_hub_factory().url


def test_sigkill_at_random_points(tmp_path: Path, hubs: tuple[str, str]) -> None:
    old_url, new_url = hubs
    data_dir = tmp_path / "data"
    started = time.perf_counter()
    subprocess.run(_sync_command(old_url, data_dir), check=True, capture_output=True)
    # Kill anywhere from the first instant to past a whole run's end (a run that
    # diffs against a previous snapshot takes longer than this first one).
    horizon = (time.perf_counter() - started) * 1.5
    seed = int(os.environ.get("LLMSYNC_CRASH_SEED", "20261128"))
    rng = random.Random(seed)
    killed = 0
    for attempt in range(20):
        before = snapshot_files(data_dir)
        # Alternate hub states, so that a run that gets far enough publishes.
        url = new_url if attempt % 2 == 0 else old_url
        process = subprocess.Popen(
            _sync_command(url, data_dir),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        time.sleep(rng.uniform(0, horizon))
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            killed += 1
        process.wait(timeout=30)
        _assert_store_sound(data_dir, before)
    statuses = [run["status"] for run in SnapshotStore(data_dir).runs()]
    print(f"seed {seed}, horizon {horizon:.1f}s: {killed} of 20 syncs killed; runs: {statuses}")
    # The kills must land mid-run, not only after runs that had already ended.
    assert killed >= 5

    before = snapshot_files(data_dir)
    final = subprocess.run(_sync_command(new_url, data_dir), capture_output=True, text=True)
    assert final.returncode == 0, (seed, final.stderr)
    _assert_store_sound(data_dir, before)
    assert not any((data_dir / "processed" / ".staging").iterdir())
    assert SnapshotStore(data_dir).runs()[-1]["status"] in {"published", "unchanged"}


# Runs a sync in a child process that stops at a chosen point of publishing,
# so the test can kill it exactly there.
_PAUSING_SYNC = """
import os, sys, time
import llmsync.store.snapshots as snapshots
from llmsync.cli import main

where = os.environ["PAUSE_AT"]
real_write, real_rename = snapshots.pq.write_table, os.rename
written = []

def write_table(table, path, **kwargs):
    real_write(table, path, **kwargs)
    written.append(path)
    if where == "tables" and len(written) == 2:
        print("PAUSED", flush=True)
        time.sleep(600)

def rename(src, dst):
    if where == "rename" and "snapshot=" in str(dst):
        print("PAUSED", flush=True)
        time.sleep(600)
    real_rename(src, dst)

snapshots.pq.write_table = write_table
os.rename = rename
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("pause_at", ["tables", "rename"])
def test_kill_mid_publish_leaves_store_byte_for_byte(
    tmp_path: Path, hubs: tuple[str, str], pause_at: str
) -> None:
    old_url, new_url = hubs
    data_dir = tmp_path / "data"
    run_sync(SyncConfig(data_dir=data_dir, endpoint=old_url))
    whole_store = {
        str(p.relative_to(data_dir)): p.read_bytes()
        for p in sorted((data_dir / "processed").rglob("*"))
        if p.is_file()
    }
    process = subprocess.Popen(
        [sys.executable, "-c", _PAUSING_SYNC, *_sync_command(new_url, data_dir)[3:]],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
        env={**os.environ, "PAUSE_AT": pause_at},
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "PAUSED"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)

    after = {
        str(p.relative_to(data_dir)): p.read_bytes()
        for p in sorted((data_dir / "processed").rglob("*"))
        if p.is_file() and ".staging" not in p.parts
    }
    assert after == whole_store
    assert any((data_dir / "processed" / ".staging").iterdir())  # the half snapshot, aside

    report = run_sync(SyncConfig(data_dir=data_dir, endpoint=new_url))
    assert report.status == "published"
    assert not any((data_dir / "processed" / ".staging").iterdir())
    statuses = [r["status"] for r in SnapshotStore(data_dir).runs()]
    assert statuses == ["published", "failed", "published"]
