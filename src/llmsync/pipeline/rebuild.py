"""Rebuilding a snapshot from the raw landing alone, offline: the proof that
processed data is a function of raw data (`llmsync verify`)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa

from llmsync.pipeline.report import SyncFailed
from llmsync.pipeline.stages import (
    LeaderboardRevision,
    ModelFetch,
    build_models,
    build_scores,
    merge,
)
from llmsync.store.raw import RawStore
from llmsync.store.snapshots import TABLE_NAMES, Snapshot, SnapshotStore
from llmsync.tables.curated import Curated, load_curated
from llmsync.tables.leaderboards import LEADERBOARD_FILE
from llmsync.tables.validation import validate_tables


def rebuild_from_raw(
    store: SnapshotStore, snapshot: Snapshot, *, curated_path: Path | None = None
) -> dict[str, pa.Table]:
    """A snapshot's tables made again from `data/raw/` and its manifest alone,
    with no network: the proof that processed data is a function of raw data."""
    raw = RawStore(store.data_dir / "raw")
    manifest = snapshot.manifest
    sources = manifest["sources"]
    curated = _curated_for(raw, sources["curated_sha256"], fallback=curated_path)

    revisions: list[LeaderboardRevision] = []
    for leaderboard, entry in sources["leaderboards"].items():
        for item in entry["revisions"]:
            path = raw.get(
                entry["repo_id"], LEADERBOARD_FILE, repo_type="dataset", revision=item["revision"]
            )
            if path is None:
                raise SyncFailed(f"raw landing lacks {leaderboard} at {item['revision'][:10]}")
            date = dt.date.fromisoformat(item["date"])
            revisions.append(
                LeaderboardRevision(leaderboard, entry["repo_id"], item["revision"], date, path)
            )

    details: dict[str, str] = manifest.get("model_details", {})
    fetches: list[ModelFetch] = []
    for repo_id, model in sources["models"].items():
        info = card = None
        if model["sha"]:
            info_path = raw.get_api_info(repo_id, revision=model["sha"])
            info = info_path.read_bytes() if info_path else None
            card_path = (
                raw.get(repo_id, "README.md", repo_type="model", revision=model["sha"])
                if model["card_sha256"]
                else None
            )
            card = card_path.read_bytes() if card_path else None
        # "ok" covers what the tables derive themselves (no card, parse errors).
        status = None if model["status"] == "ok" else model["status"]
        fetches.append(ModelFetch(repo_id, info, card, status, details.get(repo_id)))

    previous_id = manifest.get("previous_snapshot")
    previous = next((s for s in store.snapshots() if s.snapshot_id == previous_id), None)
    merged = merge(
        curated, scores=build_scores(revisions), models=build_models(fetches), previous=previous
    )
    return validate_tables(merged.tables)


def compare_with_snapshot(snapshot: Snapshot, rebuilt: dict[str, pa.Table]) -> dict[str, bool]:
    """For each table, whether the rebuilt one equals the published one."""
    return {name: snapshot.read_table(name).equals(rebuilt[name]) for name in TABLE_NAMES}


def _curated_for(raw: RawStore, sha256: str, *, fallback: Path | None) -> Curated:
    """The curated file the snapshot was built from: the copy landed in raw,
    else (snapshots from before copies were landed) the given or default file,
    if it still has the same hash."""
    landed = raw.curated_path(sha256)
    curated = load_curated(landed if landed.is_file() else fallback)
    if curated.sha256 != sha256:
        raise SyncFailed(
            "the curated file this snapshot was built from is not in data/raw/curated/ "
            "and the current one differs; pass the original with --curated"
        )
    return curated
