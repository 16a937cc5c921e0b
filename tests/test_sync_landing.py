"""Syncs over time against an immutable raw landing: a body that changes on
the Hub at the same sha lands beside the earlier one, a landed object changed
on disk is never published, and every earlier snapshot still verifies."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from llmsync.cli import main
from llmsync.pipeline import SyncConfig, SyncReport, run_sync
from llmsync.replay.server import ReplayHub
from llmsync.store.snapshots import SnapshotStore
from tests.conftest import CleanSync
from tests.recording_edits import edited_api_info
from tests.tables import published_tables

DOLLY = "databricks/dolly-v2-12b"
DOLLY_SHA = "19308160448536e378e3db21a73a751579ee7fdd"
CARD_PATH = f"models/{DOLLY}/{DOLLY_SHA}/README.md"


@pytest.fixture(scope="module")
def liked_recordings(tmp_path_factory: pytest.TempPathFactory, recordings_dir: Path) -> Path:
    """Today's Hub, but Dolly has 100 more likes, at the same sha."""
    return edited_api_info(
        recordings_dir,
        tmp_path_factory.mktemp("liked") / "recordings",
        repo_id=DOLLY,
        old=b'"likes":1955',
        new=b'"likes":2055',
    )


def _sync(data_dir: Path, hub: ReplayHub) -> SyncReport:
    return run_sync(SyncConfig(data_dir=data_dir, endpoint=hub.url))


def _changes(data_dir: Path) -> list[tuple[str, str, str | None, str | None]]:
    return [
        (c["change_kind"], c["repo_id"], c["old_value"], c["new_value"])
        for c in published_tables(data_dir)["changes"].to_pylist()
    ]


def _info_object(data_dir: Path, snapshot_id: str | None) -> dict[str, Any]:
    snapshot = next(s for s in SnapshotStore(data_dir).snapshots() if s.snapshot_id == snapshot_id)
    entry: dict[str, Any] = next(
        e
        for e in snapshot.manifest["raw_objects"]
        if e["kind"] == "model_info" and e["repo_id"] == DOLLY
    )
    return entry


def _verify(data_dir: Path, snapshot_id: str | None) -> int:
    return main(["verify", "--data-dir", str(data_dir), "--snapshot", str(snapshot_id)])


def test_likes_changed_at_the_same_sha_are_a_new_snapshot_and_both_verify(
    tmp_path: Path,
    clean_sync: CleanSync,
    liked_recordings: Path,
    capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
) -> None:
    # The first sync: today's Hub as it is (a copy of the clean run's data directory).
    data_dir = clean_sync.copy_to(tmp_path / "data")
    first = clean_sync.report
    info_dir = data_dir / "raw" / "api-info" / "models" / DOLLY / DOLLY_SHA
    landed_first = {p.name: p.read_bytes() for p in info_dir.iterdir()}
    assert len(landed_first) == 1

    liked_hub = ReplayHub(recordings=liked_recordings).start()
    request.addfinalizer(liked_hub.stop)
    second = _sync(data_dir, liked_hub)
    assert (first.status, second.status) == ("published", "published")
    assert first.sources["models"][DOLLY]["sha"] == second.sources["models"][DOLLY]["sha"]
    assert _changes(data_dir) == [("likes_changed", DOLLY, "1955", "2055")]
    tables = published_tables(data_dir)
    dolly = next(r for r in tables["models"].to_pylist() if r["repo_id"] == DOLLY)
    assert (dolly["likes"], dolly["sha"], dolly["license"]) == (2055, DOLLY_SHA, "mit")

    # The first body is still there, byte for byte, beside the new one, and
    # each snapshot names its own.
    landed = {p.name: p.read_bytes() for p in info_dir.iterdir()}
    assert len(landed) == 2
    assert {name: landed[name] for name in landed_first} == landed_first
    old_info = _info_object(data_dir, first.snapshot)
    new_info = _info_object(data_dir, second.snapshot)
    assert old_info["path"] == f"api-info/models/{DOLLY}/{DOLLY_SHA}/{next(iter(landed_first))}"
    assert new_info["path"] != old_info["path"]
    assert b'"likes":2055' in (data_dir / "raw" / new_info["path"]).read_bytes()

    capsys.readouterr()
    assert _verify(data_dir, first.snapshot) == 0
    assert _verify(data_dir, second.snapshot) == 0
    out = capsys.readouterr().out
    assert out.count("catalog: rebuilt from raw, identical") == 2
    # Each run says which snapshot it checked, and where.
    for snapshot in (first.snapshot, second.snapshot):
        assert f"checking snapshot {snapshot}: " in out
        assert str(data_dir / "processed" / f"snapshot={snapshot}") in out

    # Nothing new upstream: nothing new published.
    assert _sync(data_dir, liked_hub).status == "unchanged"


def test_a_card_changed_on_disk_is_fetched_again_never_published(
    tmp_path: Path,
    replay_hub: ReplayHub,
    clean_sync: CleanSync,
    liked_recordings: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The first sync of today's Hub: a copy of the clean run's data directory.
    data_dir = clean_sync.copy_to(tmp_path / "data")
    hub = replay_hub
    first = clean_sync.report
    card = data_dir / "raw" / CARD_PATH
    original = card.read_bytes()
    edited = original.replace(b"license: mit", b"license: apache-2.0", 1)
    assert edited != original
    card.write_bytes(edited)

    # Offline, verify cannot fetch it again: it names the object and fails.
    capsys.readouterr()
    assert _verify(data_dir, first.snapshot) == 1
    captured = capsys.readouterr()
    assert f"{first.snapshot}: raw object {CARD_PATH}: sha256 is" in captured.out
    assert "1 raw object(s) missing or changed on disk" in captured.err
    assert card.read_bytes() == edited  # verify only reads

    # The next sync sets it aside and fetches it again: nothing changed upstream.
    with caplog.at_level(logging.WARNING, logger="llmsync"):
        again = _sync(data_dir, hub)
    assert again.status == "unchanged"
    assert card.read_bytes() == original
    assert f"raw object {CARD_PATH} no longer has the bytes it landed with" in caplog.text
    (aside,) = (data_dir / "raw" / ".corrupt").glob(f"*/{CARD_PATH}")
    assert aside.read_bytes() == edited
    assert _verify(data_dir, first.snapshot) == 0

    # Changed on disk again, then a night when the Hub did change (likes): the
    # snapshot published holds the likes, and no licence or card change.
    card.write_bytes(edited)
    with ReplayHub(recordings=liked_recordings) as liked_hub:
        second = _sync(data_dir, liked_hub)
    assert second.status == "published"
    assert _changes(data_dir) == [("likes_changed", DOLLY, "1955", "2055")]
    models = published_tables(data_dir)["models"].to_pylist()
    assert next(r["license"] for r in models if r["repo_id"] == DOLLY) == "mit"
    assert card.read_bytes() == original
    assert _verify(data_dir, first.snapshot) == 0
    assert _verify(data_dir, second.snapshot) == 0
