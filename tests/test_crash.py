"""A sync killed at any moment never damages the store (SIGKILL, whole process group).

The kill points are anchored to the stage lines a sync prints on stderr, not to
wall-clock guesses: a kill planned "40% into merge" waits for the `merge ...`
line, then for 40% of the time merge took in a clean run measured on this
machine. So the kills spread over every stage on a slow machine and a fast one
alike, and the seed (LLMSYNC_CRASH_SEED) fixes the plan.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import duckdb
import pyarrow.parquet as pq
import pytest

from llmsync.pipeline import SyncConfig, run_sync
from llmsync.store.snapshots import TABLE_NAMES, SnapshotStore
from tests.tables import snapshot_files

pytestmark = pytest.mark.slow

# What a sync prints on stderr, in order, when it publishes. A kill is planned
# within one segment: from the spawn to the first line ("start"), from one line
# to the next, or from the last line to the exit.
STAGE_LINES = (
    "fetch leaderboards ...",
    "fetch models ...",
    "build tables ...",
    "merge ...",
    "validate ...",
    "publish ...",
    "published snapshot",
)
SEGMENTS = ("start", *STAGE_LINES)
INTERRUPTED = "the run was interrupted before it finished"

# Read back from every visible snapshot. Both hub states give one catalog row per
# curated (article model, repo) and one models row per repo; Dolly v2 12B's v1
# average is the v1 final table's 39.46 in both; Falcon-40B-Instruct's v2 MATH
# Lvl 5 tells them apart: 1.66 in the export of 2024-11-09 (the newest on
# 2024-11-10), 1.96374622356495 (exactly as the upstream CSV has it) in 2025-03-21's.
CATALOG_ROWS, DOLLY_V1_AVERAGE = 18, 39.46
FALCON_MATH = {"old": 1.66, "new": 1.96374622356495}
# Today's Hub adds the two models the official benchmarks' leaderboards rank.
MODELS_ROWS = {"old": 16, "new": 18}


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


def _stage(line: str) -> str | None:
    """The stage line `line` is, if it is one ("published snapshot <id>" included)."""
    return next((stage for stage in STAGE_LINES if line.startswith(stage)), None)


def _start_sync(hub_url: str, data_dir: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        _sync_command(hub_url, data_dir),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _read_until(stream: IO[str], stage: str, seen: list[str]) -> bool:
    """Read stderr lines into `seen` until `stage`'s line; False if the sync
    ended without printing it."""
    for line in stream:
        seen.append(line.rstrip("\n"))
        if _stage(line) == stage:
            return True
    return False


def _measure_clean_run(hub_url: str, data_dir: Path) -> dict[str, float]:
    """Seconds each segment took in one sync that nothing interrupts."""
    started = time.perf_counter()
    process = _start_sync(hub_url, data_dir)
    assert process.stderr is not None
    arrivals: dict[str, float] = {"start": started}
    for line in process.stderr:
        stage = _stage(line)
        if stage is not None:
            arrivals[stage] = time.perf_counter()
    assert process.wait(timeout=120) == 0
    ended = time.perf_counter()
    assert list(arrivals) == list(SEGMENTS), list(arrivals)
    times = [*arrivals.values(), ended]
    return {segment: times[n + 1] - times[n] for n, segment in enumerate(SEGMENTS)}


@dataclass(frozen=True)
class Kill:
    segment: str
    fraction: float  # of the segment's measured duration, after its line
    killed: bool  # the sync was still running when the signal was sent
    lines: list[str]  # every stage line it printed before it died


def _sync_and_kill(
    hub_url: str, data_dir: Path, *, segment: str, fraction: float, durations: dict[str, float]
) -> Kill:
    process = _start_sync(hub_url, data_dir)
    assert process.stderr is not None
    seen: list[str] = []
    if segment != "start":
        # Every line comes before the sync ends: it is publishing.
        assert _read_until(process.stderr, segment, seen), seen
    time.sleep(fraction * durations[segment])
    killed = process.poll() is None
    if killed:
        os.killpg(process.pid, signal.SIGKILL)
    seen += [line.rstrip("\n") for line in process.stderr]  # what it wrote before dying
    returncode = process.wait(timeout=30)
    if not killed:
        assert returncode == 0, seen
    stages = [line for line in seen if _stage(line) is not None]
    return Kill(segment, fraction, killed, stages)


def _catalog_read_back(data_dir: Path) -> list[tuple[Any, ...]]:
    """(snapshot, catalog rows, Dolly's v1 average, Falcon's v2 MATH) of every
    visible snapshot, read through DuckDB as a user would."""
    pattern = str(data_dir / "processed" / "snapshot=*" / "catalog.parquet")
    query = f"""
        SELECT snapshot, count(*),
               max(open_llm_v1_average) FILTER (
                   WHERE repo_id = 'databricks/dolly-v2-12b' AND role = 'primary'),
               max(open_llm_v2_math_lvl5) FILTER (
                   WHERE repo_id = 'tiiuae/falcon-40b-instruct' AND role = 'primary')
        FROM read_parquet('{pattern}', hive_partitioning = true,
                          hive_types = {{'snapshot': VARCHAR}})
        GROUP BY snapshot ORDER BY snapshot
    """
    return [tuple(row) for row in duckdb.sql(query).fetchall()]


def _assert_snapshots(data_dir: Path, expected: dict[str, str]) -> None:
    """The visible snapshots are exactly `expected` (id -> "old" or "new"), each
    whole: hashes match its manifest, each table has its manifest's row count,
    and DuckDB reads the real values back."""
    store = SnapshotStore(data_dir)
    assert [s.snapshot_id for s in store.snapshots()] == sorted(expected)
    folders = sorted(p.name for p in (data_dir / "processed").glob("snapshot=*"))
    assert folders == [f"snapshot={snapshot_id}" for snapshot_id in sorted(expected)]
    for snapshot in store.snapshots():
        assert store.verify(snapshot) == []
        rows = {name: pq.read_metadata(snapshot.table_path(name)).num_rows for name in TABLE_NAMES}
        assert rows == {name: entry["rows"] for name, entry in snapshot.manifest["tables"].items()}
        state = expected[snapshot.snapshot_id]
        assert (rows["catalog"], rows["models"]) == (CATALOG_ROWS, MODELS_ROWS[state])
    assert _catalog_read_back(data_dir) == [
        (snapshot_id, CATALOG_ROWS, DOLLY_V1_AVERAGE, FALCON_MATH[state])
        for snapshot_id, state in sorted(expected.items())
    ]


@pytest.fixture(scope="module")
def hubs(replay_hub_factory: Callable[..., Any]) -> tuple[str, str]:
    return replay_hub_factory(as_of=dt.date(2024, 11, 10)).url, replay_hub_factory().url


@dataclass(frozen=True)
class Base:
    """The store every kill starts from (copy it, never change it): one
    snapshot of the 2024-11-10 Hub. Each kill interrupts a sync of today's
    Hub, which would publish a second one."""

    data_dir: Path
    snapshot_id: str


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory, hubs: tuple[str, str]) -> Base:
    old_url, _ = hubs
    data_dir = tmp_path_factory.mktemp("crash-base") / "data"
    first = run_sync(SyncConfig(data_dir=data_dir, endpoint=old_url))
    assert first.status == "published" and first.snapshot is not None
    return Base(data_dir, first.snapshot)


def test_sigkill_at_every_stage(tmp_path: Path, hubs: tuple[str, str], base: Base) -> None:
    _, new_url = hubs
    old_id = base.snapshot_id
    base_files = snapshot_files(base.data_dir)
    base_runs = SnapshotStore(base.data_dir).runs()

    durations = _measure_clean_run(new_url, _copy(base.data_dir, tmp_path / "clean"))
    seed = int(os.environ.get("LLMSYNC_CRASH_SEED", "20261128"))
    rng = random.Random(seed)
    # Each segment once, every other one right at its line and the rest at a
    # seeded point inside it (the seed's parity decides which half is which), so
    # both kinds of kill fall in every part of the run over the seeds.
    offset = seed % 2
    plan = [
        (segment, 0.0 if (n + offset) % 2 == 0 else rng.random())
        for n, segment in enumerate(SEGMENTS)
    ]

    kills: list[Kill] = []
    left_a_snapshot: list[bool] = []
    for attempt, (segment, fraction) in enumerate(plan):
        data_dir = _copy(base.data_dir, tmp_path / f"kill-{attempt}")
        kill = _sync_and_kill(
            new_url, data_dir, segment=segment, fraction=fraction, durations=durations
        )
        kills.append(kill)
        context = (seed, kill)

        # What the kill left: the old snapshot byte for byte, and a new one only
        # if the sync had got as far as publishing (whole, if it is there).
        after = snapshot_files(data_dir)
        assert {k: v for k, v in after.items() if k in base_files} == base_files, context
        new_ids = [s.snapshot_id for s in SnapshotStore(data_dir).snapshots()][1:]
        assert len(new_ids) <= 1, context
        if "publish ..." not in kill.lines:
            assert new_ids == [], context
        said_published = [line.split()[-1] for line in kill.lines if line.startswith("published")]
        if said_published:
            assert new_ids == said_published, context
        _assert_snapshots(data_dir, {old_id: "old"} | dict.fromkeys(new_ids, "new"))
        left_a_snapshot.append(bool(new_ids))
        # The run log: the killed run's record, if it got to write one, says
        # it is running, or published (only if its snapshot is there).
        runs = SnapshotStore(data_dir).runs()
        assert runs[: len(base_runs)] == base_runs, context
        killed_run = runs[len(base_runs) :]
        assert len(killed_run) <= 1, context
        if killed_run:
            record = killed_run[0]
            assert record["status"] in {"running", "published"}, context
            if record["status"] == "published":
                assert [record["snapshot"]] == new_ids, context
        if said_published:
            assert [r["status"] for r in killed_run] == ["published"], context

        # The next sync clears up and ends with both snapshots.
        report = run_sync(SyncConfig(data_dir=data_dir, endpoint=new_url))
        assert report.status == ("unchanged" if new_ids else "published"), context
        assert not any((data_dir / "processed" / ".staging").iterdir()), context
        final_id = new_ids[0] if new_ids else report.snapshot
        assert final_id is not None
        _assert_snapshots(data_dir, {old_id: "old", final_id: "new"})
        # The killed run's record, if any, now says it failed (if it was left
        # running) or still says published; the new run's record comes last.
        recovered = [(r["status"], r["reason"]) for r in SnapshotStore(data_dir).runs()]
        expected = [
            ("failed", INTERRUPTED) if r["status"] == "running" else ("published", None)
            for r in killed_run
        ]
        assert recovered == [
            *[(r["status"], r["reason"]) for r in base_runs],
            *expected,
            (report.status, None),
        ], context
        shutil.rmtree(data_dir)

    landed = sum(kill.killed for kill in kills)
    seconds = ", ".join(f"{segment} {t:.2f}" for segment, t in durations.items())
    print(f"\nseed {seed}; clean run's segments (s): {seconds}")
    print(f"{landed} of {len(kills)} kills landed mid-run")
    for kill, left in zip(kills, left_a_snapshot, strict=True):
        print(
            f"  {kill.segment} +{kill.fraction:.2f}: {'killed' if kill.killed else 'had ended'}"
            f" after {len(kill.lines)} stage lines; new snapshot: {'yes' if left else 'no'}"
        )
    # A kill right at a stage line lands while the sync runs, whatever the
    # machine's speed (a line is printed before its stage's work). The kill at
    # "published snapshot" races with the exit and may come too late.
    at_a_line = [k for k in kills if k.fraction == 0.0 and k.segment != "published snapshot"]
    assert [k.segment for k in at_a_line if not k.killed] == []
    # Every kill came after its planned line, and the lines came in order.
    for kill in kills:
        stages = [_stage(line) for line in kill.lines]
        assert stages == list(STAGE_LINES[: len(stages)]), kill
        if kill.killed:
            assert len(stages) >= SEGMENTS.index(kill.segment), kill


def _copy(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    return target


# Runs a sync in a child process that stops at a chosen point of publishing,
# so the test can kill it exactly there.
_PAUSING_SYNC = """
import os, sys, time
import llmsync.store.snapshots as snapshots
from llmsync.cli import main

where = os.environ["PAUSE_AT"]
real_link, real_rename = snapshots._link_unchanged, os.rename
placed = []

def link_unchanged(previous, name, digest, path):
    # Asked for each table as it is placed in the staging folder: pause once
    # two tables are there (their Parquet bytes were encoded before, to validate).
    if where == "tables" and len(placed) == 2:
        print("PAUSED", flush=True)
        time.sleep(600)
    placed.append(name)
    return real_link(previous, name, digest, path)

def rename(src, dst):
    if where == "rename" and "snapshot=" in str(dst):
        print("PAUSED", flush=True)
        time.sleep(600)
    real_rename(src, dst)

snapshots._link_unchanged = link_unchanged
os.rename = rename
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("pause_at", ["tables", "rename"])
def test_kill_mid_publish_leaves_store_byte_for_byte(
    tmp_path: Path, hubs: tuple[str, str], base: Base, pause_at: str
) -> None:
    _, new_url = hubs
    data_dir = _copy(base.data_dir, tmp_path / "data")
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
