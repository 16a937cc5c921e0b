"""The snapshot store: atomic publish, manifests, the run log, the lock."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from llmsync.cli import main
from llmsync.store.snapshots import (
    TABLE_NAMES,
    SnapshotStore,
    StoreError,
    StoreLockedError,
    new_snapshot_id,
    schema_versions,
)
from tests.tables import snapshot_tables


def _tree_bytes(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_snapshot_id_sorts_in_time_and_is_filesystem_safe() -> None:
    early = new_snapshot_id(dt.datetime(2024, 11, 10, 3, 0, 5, tzinfo=dt.UTC))
    late = new_snapshot_id(dt.datetime(2025, 3, 21, 3, 0, 0, tzinfo=dt.UTC))
    assert early == "20241110T030005Z"
    assert early < late
    assert not set(early) & set(':/\\<>"|?* ')


def test_publish_writes_every_table_and_a_manifest(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    snapshot = store.publish(snapshot_tables(), manifest={"status": "complete"})

    assert snapshot.path.name == f"snapshot={snapshot.snapshot_id}"
    assert sorted(p.name for p in snapshot.path.iterdir()) == sorted(
        [f"{name}.parquet" for name in TABLE_NAMES] + ["manifest.json"]
    )
    manifest = json.loads((snapshot.path / "manifest.json").read_text())
    assert manifest["tables"]["scores"]["rows"] == 8
    assert manifest["tables"]["revisions"]["rows"] == 1
    assert manifest["tables"]["catalog"]["rows"] == 1
    # Each table's shape is recorded, so a later version can tell an old one.
    assert manifest["schema_versions"] == {
        "catalog": 5,
        "models": 1,
        "scores": 2,
        "revisions": 1,
        "changes": 2,
        "leaderboards": 2,
        "eval_results": 2,
        "benchmarks": 1,
    }
    assert schema_versions(manifest) == manifest["schema_versions"]
    assert store.verify(snapshot) == []
    scores = pq.read_table(snapshot.table_path("scores")).to_pandas()
    dolly = scores[(scores.model_name == "databricks/dolly-v2-12b") & (scores.benchmark == "arc")]
    assert dolly.value.tolist() == [42.41]
    assert dolly.valid_to.isna().tolist() == [True]
    # Nothing is left aside once published.
    assert not any(store.staging.iterdir())


def test_a_manifest_without_versions_holds_version_1_of_each_table() -> None:
    # As an llmsync before schema versions wrote them: four tables, no versions.
    old_tables = ("catalog", "models", "scores", "changes")
    manifest = {"tables": {name: {"rows": 1} for name in old_tables}}
    assert schema_versions(manifest) == {"catalog": 1, "models": 1, "scores": 1, "changes": 1}


def test_ids_stay_increasing_within_one_second(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    moment = dt.datetime(2025, 3, 21, 3, 0, 0, tzinfo=dt.UTC)
    first = store.publish(snapshot_tables(), manifest={}, now=moment)
    second = store.publish(snapshot_tables(), manifest={}, now=moment)
    assert first.snapshot_id < second.snapshot_id
    assert [s.snapshot_id for s in store.snapshots()] == [first.snapshot_id, second.snapshot_id]


def test_publishing_never_touches_earlier_snapshots(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    store.publish(snapshot_tables(revision="a"), manifest={})
    before = _tree_bytes(tmp_path / "processed")
    store.publish(snapshot_tables(revision="b"), manifest={})
    after = _tree_bytes(tmp_path / "processed")
    assert {k: v for k, v in after.items() if k in before} == before


def test_publish_refuses_a_missing_table(tmp_path: Path) -> None:
    tables = snapshot_tables()
    del tables["changes"]
    with pytest.raises(StoreError, match="changes"):
        SnapshotStore(tmp_path).publish(tables, manifest={})
    assert SnapshotStore(tmp_path).snapshots() == []


def test_a_folder_without_manifest_is_not_a_snapshot(tmp_path: Path) -> None:
    (tmp_path / "processed" / "snapshot=20250101T000000Z").mkdir(parents=True)
    assert SnapshotStore(tmp_path).latest() is None


def test_run_log_records_each_run(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    with store.lock():
        record = store.start_run(flow_run_id="abc")
        store.finish_run(record, status="unchanged", snapshot="20250321T030000Z")
    runs = store.runs()
    assert [(r["status"], r["snapshot"], r["flow_run_id"]) for r in runs] == [
        ("unchanged", "20250321T030000Z", "abc")
    ]


def test_recover_clears_staging_and_closes_interrupted_runs(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    published = store.publish(snapshot_tables(), manifest={})
    before = _tree_bytes(published.path)
    half = store.staging / "20990101T000000Z"
    half.mkdir(parents=True)
    (half / "scores.parquet").write_bytes(b"PAR1 torn")
    record = store.start_run()
    with store.lock():
        assert not half.exists()
    runs = {r["run_id"]: r for r in store.runs()}
    assert runs[record.run_id]["status"] == "failed"
    assert "interrupted" in runs[record.run_id]["reason"]
    assert _tree_bytes(published.path) == before


def test_second_sync_is_refused_while_the_lock_is_held(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    with store.lock():
        # Another process, as a second `llmsync sync` would be.
        code = (
            "import sys; from pathlib import Path; from llmsync.store.snapshots import *\n"
            "try:\n"
            f"    with SnapshotStore(Path({str(tmp_path)!r})).lock(): print('got it')\n"
            "except StoreLockedError as exc: print(exc)\n"
        )
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert "another sync is running" in out.stdout
        # flock is per open file: a second open in one process is refused too.
        with pytest.raises(StoreLockedError), SnapshotStore(tmp_path).lock():
            pass
    with store.lock():
        pass  # released on exit


def test_latest_complete_skips_partial_snapshots(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = SnapshotStore(tmp_path)
    moment = dt.datetime(2025, 3, 21, 3, 0, 0, tzinfo=dt.UTC)
    partial = store.publish(snapshot_tables(), manifest={"status": "partial"}, now=moment)
    assert store.latest_complete() is None
    assert main(["snapshots", "--data-dir", str(tmp_path), "--latest"]) == 1
    assert "no complete snapshot" in capsys.readouterr().err
    complete = store.publish(snapshot_tables(), manifest={"status": "complete"}, now=moment)
    store.publish(snapshot_tables(), manifest={"status": "partial"}, now=moment)
    assert [s.manifest["status"] for s in store.snapshots()] == ["partial", "complete", "partial"]
    latest = store.latest_complete()
    assert latest is not None and latest.snapshot_id == complete.snapshot_id
    assert partial.snapshot_id < complete.snapshot_id
    assert main(["snapshots", "--data-dir", str(tmp_path), "--latest"]) == 0
    assert capsys.readouterr().out == "20250321T030001Z\n"


def test_statuses_and_the_latest_read_only_what_they_need(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    moment = dt.datetime(2025, 3, 21, 3, 0, 0, tzinfo=dt.UTC)
    # Nested statuses (a run's, a source's) are not the snapshot's.
    nested = {"status": "partial", "sources": {"models": {"status": "complete"}}}
    first = store.publish(snapshot_tables(), manifest=nested, now=moment)
    second = store.publish(snapshot_tables(), manifest={"status": "complete"}, now=moment)
    # A manifest in another layout (compact, as a hand edit may leave it) is
    # parsed whole; a folder without a readable manifest is no snapshot.
    compact = store.publish(snapshot_tables(), manifest={"status": "partial"}, now=moment)
    text = (compact.path / "manifest.json").read_text()
    (compact.path / "manifest.json").write_text(json.dumps(json.loads(text)))
    unsaid = store.publish(snapshot_tables(), manifest={}, now=moment)
    (tmp_path / "processed" / "snapshot=20990101T000000Z").mkdir()
    assert store.statuses() == [
        (first.snapshot_id, "partial"),
        (second.snapshot_id, "complete"),
        (compact.snapshot_id, "partial"),
        (unsaid.snapshot_id, "?"),
    ]
    assert store.statuses() == [
        (s.snapshot_id, s.manifest.get("status", "?")) for s in store.snapshots()
    ]
    latest = store.latest()
    assert latest is not None and latest.snapshot_id == unsaid.snapshot_id
    assert store.snapshot_ids()[-1] == "20990101T000000Z"


def test_a_folder_with_only_failed_runs_has_no_snapshot_to_verify(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # (A missing, empty or non-folder data folder: tests/test_cli_messages.py.)
    (tmp_path / "runs").mkdir()
    failed = {"run_id": "20250101T000000Z-000000", "status": "failed", "snapshot": None}
    (tmp_path / "runs" / "20250101T000000Z-000000.json").write_text(json.dumps(failed))
    assert main(["snapshots", "--data-dir", str(tmp_path)]) == 0
    assert "failed" in capsys.readouterr().out
    assert main(["verify", "--data-dir", str(tmp_path)]) == 2
    assert (
        capsys.readouterr().err == f"llmsync: no published snapshot in {tmp_path / 'processed'}\n"
    )
    assert main(["verify", "--data-dir", str(tmp_path), "--snapshot", "20990101T000000Z"]) == 2
    err = capsys.readouterr().err
    assert err == f"llmsync: no snapshot 20990101T000000Z in {tmp_path / 'processed'}\n"


def test_a_table_whose_bytes_are_unchanged_is_linked_not_written(tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path)
    first = store.publish(snapshot_tables(revision="a"), manifest={})
    tables = snapshot_tables(revision="a")
    tables["catalog"] = tables["catalog"].slice(0, 0)
    second = store.publish(tables, manifest={})
    # Every snapshot holds every table; the unchanged ones share the earlier file.
    assert sorted(p.name for p in second.path.glob("*.parquet")) == sorted(
        f"{name}.parquet" for name in TABLE_NAMES
    )
    for name in TABLE_NAMES:
        same = first.table_path(name).samefile(second.table_path(name))
        assert same == (name != "catalog"), name
    assert second.manifest["tables"]["scores"] == first.manifest["tables"]["scores"]
    assert second.manifest["tables"]["catalog"]["rows"] == 0
    assert store.verify(second) == []
    # Removing the earlier snapshot leaves the later one whole.
    shutil.rmtree(first.path)
    assert store.verify(second) == []
    assert second.read_table("scores").num_rows == second.manifest["tables"]["scores"]["rows"]


def test_a_linked_file_that_no_longer_matches_its_manifest_is_written_afresh(
    tmp_path: Path,
) -> None:
    store = SnapshotStore(tmp_path)
    first = store.publish(snapshot_tables(revision="a"), manifest={})
    first.table_path("models").write_bytes(b"tampered")
    second = store.publish(snapshot_tables(revision="a"), manifest={})
    assert not first.table_path("models").samefile(second.table_path("models"))
    assert first.table_path("scores").samefile(second.table_path("scores"))
    assert store.verify(second) == []
    assert store.verify(first) == [f"{first.snapshot_id}: models.parquet does not match its hash"]
