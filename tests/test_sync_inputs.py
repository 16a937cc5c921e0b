"""What a user brings to a sync: their own curated file, and repos the Hub
knows under another name."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq

from llmsync.pipeline import SyncConfig, compare_with_snapshot, rebuild_from_raw, run_sync
from llmsync.replay.server import ReplayHub
from llmsync.store.snapshots import TABLE_NAMES, SnapshotStore
from llmsync.tables.curated import BUNDLED, bundled_path
from tests.conftest import CleanSync


def test_a_users_curated_file_builds_the_catalog_and_is_kept_for_verify(
    tmp_path: Path, replay_hub: ReplayHub, clean_sync: CleanSync
) -> None:
    bundled = bundled_path().read_text(encoding="utf-8")
    # A reviewer's edit: Dolly's developer written out in full.
    assert bundled.count("developer: Databricks\n") == 1
    mine = tmp_path / "reviewed.yaml"
    mine.write_text(bundled.replace("developer: Databricks\n", "developer: Databricks, Inc.\n"))
    # Their store so far: today's Hub synced with the bundled file (the clean run's).
    data_dir = clean_sync.copy_to(tmp_path / "data")

    report = run_sync(SyncConfig(data_dir=data_dir, endpoint=replay_hub.url, curated_path=mine))

    assert report.status == "published"
    store = SnapshotStore(data_dir)
    snapshot = store.latest()
    assert snapshot is not None
    digest = hashlib.sha256(mine.read_bytes()).hexdigest()
    assert snapshot.manifest["curated"] == {
        "origin": str(mine),
        "sha256": digest,
        "raw_object": f"curated/{digest}.yaml",
    }
    assert snapshot.manifest["sources"]["curated_sha256"] == digest
    catalog = pq.read_table(snapshot.table_path("catalog"))
    dolly = catalog.filter(pc.equal(catalog["article_model"], "Dolly"))
    assert set(dolly["developer"].to_pylist()) == {"Databricks, Inc."}

    # The user's file goes away; the snapshot still rebuilds, offline, from raw.
    mine.unlink()
    same = compare_with_snapshot(snapshot, rebuild_from_raw(store, snapshot))
    assert same == dict.fromkeys(TABLE_NAMES, True)


def test_the_bundled_curated_file_is_named_as_such(clean_sync: CleanSync) -> None:
    # The clean run is a sync of today's replay hub with no curated file given.
    snapshot = SnapshotStore(clean_sync.data_dir).latest()
    assert snapshot is not None
    assert snapshot.manifest["curated"]["origin"] == BUNDLED
    assert (
        snapshot.manifest["curated"]["sha256"]
        == hashlib.sha256(bundled_path().read_bytes()).hexdigest()
    )


def test_a_renamed_repo_shows_its_new_id(
    tmp_path: Path, replay_hub: ReplayHub, clean_sync: CleanSync
) -> None:
    # A store of today's Hub (the clean run's), then a sync that asks for one repo more.
    data_dir = clean_sync.copy_to(tmp_path / "data")
    # The recordings hold bert-base-uncased's real 307 to google-bert/bert-base-uncased.
    run_sync(
        SyncConfig(data_dir=data_dir, endpoint=replay_hub.url, extra_repos=("bert-base-uncased",))
    )
    snapshot = SnapshotStore(data_dir).latest()
    assert snapshot is not None
    models = pq.read_table(snapshot.table_path("models"))
    renamed = models.filter(pc.equal(models["repo_id"], "bert-base-uncased")).to_pylist()
    assert [(row["hub_repo_id"], row["status"]) for row in renamed] == [
        # The recordings have no README for it: only its API body is real.
        ("google-bert/bert-base-uncased", "no_card")
    ]
    # A repo that was not renamed answers to the id it was asked by.
    dolly = models.filter(pc.equal(models["repo_id"], "databricks/dolly-v2-12b"))
    assert dolly["hub_repo_id"].to_pylist() == ["databricks/dolly-v2-12b"]
    (body,) = (data_dir / "raw" / "api-info" / "models" / "bert-base-uncased").rglob("*.json")
    landed = json.loads(body.read_bytes())
    assert landed["id"] == "google-bert/bert-base-uncased"
