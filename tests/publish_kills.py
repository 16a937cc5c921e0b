"""SIGKILL a publish at chosen moments; after each kill the target's newest
snapshot must still be complete (every table's sha256 its manifest's), and the
next run must complete the publish. Used by tests/test_publish_kills.py (a few
kills) and bench/bench_publish.py (8 per target, random moments)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pyarrow.fs as pafs
import pyarrow.parquet as pq
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.errors import HfHubHTTPError

from llmsync.publish.s3 import LATEST_NAME, s3_filesystem
from llmsync.store.snapshots import MANIFEST_NAME, Snapshot, SnapshotStore


def add_nights(data_dir: Path, count: int) -> list[Snapshot]:
    """`count` more snapshots holding the newest one's tables (new ids), as
    later nights that changed nothing would publish them: more to publish."""
    store = SnapshotStore(data_dir)
    added = []
    for _ in range(count):
        newest = store.latest()
        assert newest is not None
        tables = {
            name: pq.read_table(newest.table_path(name)) for name in newest.manifest["tables"]
        }
        drop = ("tables", "snapshot_id")
        manifest = {k: v for k, v in newest.manifest.items() if k not in drop}
        added.append(store.publish(tables, manifest=manifest))
    return added


def _check(manifest: bytes, read: dict[str, bytes]) -> str:
    parsed = json.loads(manifest)
    for name, entry in parsed["tables"].items():
        digest = hashlib.sha256(read[entry.get("file", f"{name}.parquet")]).hexdigest()
        assert digest == entry["sha256"], f"{parsed['snapshot_id']}: {name} differs"
    return str(parsed["snapshot_id"])


def newest_complete(target: str, *, hub_url: str, cache: Path) -> str | None:
    """The snapshot a reader finds newest on `target` (S3: `latest.json`; the
    Hub: the newest tag), checked whole; None when there is none yet."""
    if target.startswith("s3://"):
        fs = s3_filesystem()
        root = target.removeprefix("s3://")
        try:
            with fs.open_input_stream(f"{root}/{LATEST_NAME}") as stream:
                pointer = json.load(stream)
        except FileNotFoundError:
            return None
        folder = f"{root}/snapshot={pointer['snapshot_id']}"
        read = {}
        for info in fs.get_file_info(pafs.FileSelector(folder)):
            with fs.open_input_stream(info.path) as stream:
                read[info.base_name] = stream.read()
        return _check(read[MANIFEST_NAME], read)
    repo_id = target.removeprefix("hf://datasets/")
    api = HfApi(endpoint=hub_url)
    try:
        tags = sorted(tag.name for tag in api.list_repo_refs(repo_id, repo_type="dataset").tags)
    except HfHubHTTPError:  # no repo yet: the kill came before it was created
        return None
    if not tags:
        return None
    sid = tags[-1]
    read = {}
    for path in api.list_repo_files(repo_id, repo_type="dataset", revision=sid):
        if path.startswith(f"snapshot={sid}/"):
            local = hf_hub_download(
                repo_id, path, repo_type="dataset", revision=sid, endpoint=hub_url, cache_dir=cache
            )
            read[path.split("/", 1)[1]] = Path(local).read_bytes()
    return _check(read[MANIFEST_NAME], read)


@dataclass(frozen=True)
class KillRound:
    target: str
    delay: float
    finished_before_kill: bool
    newest_after_kill: str | None
    newest_after_rerun: str | None


def _command(data_dir: Path) -> list[str]:
    return [sys.executable, "-m", "llmsync.cli", "publish", "--all", "--data-dir", str(data_dir)]


def publish_seconds(target: str, data_dir: Path, *, env: dict[str, str]) -> float:
    """How long one uncut publish of every snapshot takes, process start included:
    the window the kills are spread over."""
    started = time.perf_counter()
    done = subprocess.run(
        [*_command(data_dir), target], env={**os.environ, **env}, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return time.perf_counter() - started


def kill_rounds(
    targets: Iterable[str], data_dir: Path, *, delays: Iterable[float], env: dict[str, str]
) -> list[KillRound]:
    """For each target (a fresh one per delay) a publish killed after `delay`
    seconds, the check, then a run to the end and the check again."""
    command = _command(data_dir)
    full_env = {**os.environ, **env}
    rounds = []
    for target, delay in zip(targets, delays, strict=True):
        process = subprocess.Popen(
            [*command, target], env=full_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(delay)
        finished = process.poll() is not None
        if not finished:
            process.send_signal(signal.SIGKILL)
        process.wait()
        after_kill = newest_complete(target, hub_url=env["HF_ENDPOINT"], cache=data_dir / "cache")
        rerun = subprocess.run(
            [*command, target], env=full_env, capture_output=True, text=True, timeout=300
        )
        assert rerun.returncode == 0, rerun.stderr
        after_rerun = newest_complete(target, hub_url=env["HF_ENDPOINT"], cache=data_dir / "cache")
        rounds.append(KillRound(target, delay, finished, after_kill, after_rerun))
    return rounds
