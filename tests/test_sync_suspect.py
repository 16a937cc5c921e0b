"""Suspect exports: the real October 2023 captures stay suspect, a drop that lasts
is accepted so that no leaderboard freezes, and a suspect newest export is named
in the manifest, the run summary, the Prefect artifact and `llmsync snapshots`."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from llmsync.cli import _print_summary, main
from llmsync.pipeline import SyncConfig, run_sync
from llmsync.pipeline.rebuild import compare_with_snapshot, rebuild_from_raw
from llmsync.replay.server import ReplayHub
from llmsync.store.snapshots import TABLE_NAMES, SnapshotStore
from llmsync.tables.leaderboards import LEADERBOARD_FILE
from llmsync.tables.revisions import (
    CONFIRM_DAYS,
    RevisionRecord,
    classify_in_history,
    suspect_newest,
)
from tests.conftest import V2, V2_DATES
from tests.recording_edits import parquet_bytes, recorded_file
from tests.tables import latest_manifest, published_tables
from tests.test_pipeline import V1_EXPORTS

# v1's exports as the history bundle counts them, with the three partial captures
# of October 2023 (served with --serve-partial-captures) in date order.
V1_WITH_CAPTURES = sorted(
    [*V1_EXPORTS, ("2023-10-04", 79), ("2023-10-13", 77), ("2023-10-31", 109)]
)


def _classified(history: list[tuple[str, int]]) -> list[RevisionRecord]:
    records: list[RevisionRecord] = []
    for date, rows in history:
        day = dt.date.fromisoformat(date)
        status, why = classify_in_history(
            rows, date=day, records=records, leaderboard="open_llm_v1", max_loss=0.5
        )
        records.append(RevisionRecord("open_llm_v1", f"v1-{date}", day, rows, status, why))
    return records


def test_the_october_2023_captures_stay_suspect() -> None:
    # Their 27 days (2023-10-04 .. 2023-10-31) are under the 30 a drop must last.
    assert CONFIRM_DAYS == 30
    records = _classified(V1_WITH_CAPTURES)
    assert [(str(r.date), r.status) for r in records if r.status != "ok"] == [
        ("2023-10-04", "suspect"),
        ("2023-10-13", "suspect"),
        ("2023-10-31", "suspect"),
    ]
    # Had v1 stopped on 2023-10-31, its newest export would be suspect and the
    # 2023-09-15 table in force: the snapshot says so.
    assert suspect_newest(records[:18]) == [
        {
            "leaderboard": "open_llm_v1",
            "newest_revision": "v1-2023-10-31",
            "newest_date": "2023-10-31",
            "newest_status": "suspect",
            "in_force_revision": "v1-2023-09-15",
            "in_force_date": "2023-09-15",
        }
    ]
    assert suspect_newest(records) == []


# v2's exports of 2024-07-20 .. 2024-08-22 cut to their first 40 rows: a drop that
# lasts (after 2024-07-19's 238 rows). 2024-08-19 is the first export 30 days after
# 2024-07-20; from 2024-08-23 the tables are whole again.
SHRUNK = [d for d in V2_DATES if "2024-07-20" <= d <= "2024-08-22"]


def _shrunken_recordings(source: Path, target: Path) -> Path:
    shutil.copytree(source, target)
    manifest_path = target / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    repo = next(r for r in manifest["repos"] if r["repo_id"] == V2)
    for commit in repo["commits"]:
        day = commit["date"][:10]
        if day not in SHRUNK:
            continue
        whole = recorded_file(source, repo_id=V2, path=LEADERBOARD_FILE, date=day)
        data = parquet_bytes(pq.read_table(pa.BufferReader(whole)).slice(0, 40))
        digest = hashlib.sha256(data).hexdigest()
        (target / "blobs" / digest).write_bytes(data)
        commit["files"][LEADERBOARD_FILE] = digest
        commit["sha"] = hashlib.sha1(f"{commit['sha']} shrunk {digest}".encode()).hexdigest()
    manifest_path.write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return target


def test_a_lasting_drop_is_accepted_and_a_suspect_newest_export_is_named(
    tmp_path: Path,
    recordings_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    recordings = _shrunken_recordings(recordings_dir, tmp_path / "recordings")
    data_dir = tmp_path / "data"
    assert len(SHRUNK) == 16

    # As of 2024-08-17: v2's newest export is the twelfth shrunken one in a row.
    with ReplayHub(recordings=recordings, as_of=dt.date(2024, 8, 17)) as hub:
        first = run_sync(SyncConfig(data_dir=data_dir, endpoint=hub.url))
    stale = latest_manifest(data_dir)["suspect_newest"]
    [entry] = stale
    assert (entry["leaderboard"], entry["newest_date"], entry["newest_status"]) == (
        "open_llm_v2",
        "2024-08-17",
        "suspect",
    )
    assert entry["in_force_date"] == "2024-07-19"
    line = (
        f"open_llm_v2: newest export 2024-08-17 ({entry['newest_revision'][:10]}) is suspect; "
        f"in force: 2024-07-19 ({entry['in_force_revision'][:10]})"
    )
    assert first.suspect_newest == [line]
    assert f"- **newest export not applied**: {line}" in first.to_markdown()
    _print_summary(first.as_dict(), seconds=1.0)
    assert f"newest export not applied: {line}\n" in capsys.readouterr().out
    assert main(["snapshots", "--data-dir", str(data_dir)]) == 0
    assert f"newest export not applied: {line}" in capsys.readouterr().out
    leaderboards = published_tables(data_dir)["leaderboards"].to_pylist()
    v2 = next(row for row in leaderboards if row["leaderboard"] == "open_llm_v2")
    assert (str(v2["newest_export_date"]), v2["newest_export_status"]) == (
        "2024-08-17",
        "suspect",
    )
    assert str(v2["last_export_date"]) == "2024-07-19"

    # As of 2024-08-31 the drop has lasted 30 days: 2024-08-19 confirms it.
    with ReplayHub(recordings=recordings, as_of=dt.date(2024, 8, 31)) as hub:
        second = run_sync(SyncConfig(data_dir=data_dir, endpoint=hub.url))
    assert second.incremental and second.suspect_newest == []
    revisions = published_tables(data_dir)["revisions"].to_pylist()
    statuses = {str(r["date"]): (r["rows"], r["status"], r["reason"]) for r in revisions}
    assert [d for d in SHRUNK if statuses[d][1] == "suspect"] == SHRUNK[:12]
    assert statuses["2024-08-19"] == (
        40,
        "ok",
        "confirms the drop first seen on 2024-07-20 (12 suspect export(s) over 30 days): accepted",
    )
    assert [statuses[d][1] for d in SHRUNK[13:]] == ["ok"] * 3
    assert statuses["2024-08-23"][1:] == ("ok", None)
    assert latest_manifest(data_dir)["suspect_newest"] == []
    # The chain of two syncs gives what a rebuild from raw gives.
    store = SnapshotStore(data_dir)
    latest = store.latest()
    assert latest is not None
    rebuilt = rebuild_from_raw(store, latest)
    assert compare_with_snapshot(latest, rebuilt) == dict.fromkeys(TABLE_NAMES, True)


def test_the_partial_capture_run_names_no_suspect_newest(
    tmp_path: Path, replay_hub_factory: Callable[..., ReplayHub]
) -> None:
    # With the October 2023 captures served, v1's newest export (2024-07-07) is ok.
    hub = replay_hub_factory(as_of=dt.date(2024, 7, 13), serve_partial_captures=True)
    report = run_sync(SyncConfig(data_dir=tmp_path / "data", endpoint=hub.url))
    assert report.suspect_newest == []
    assert latest_manifest(tmp_path / "data")["suspect_newest"] == []
