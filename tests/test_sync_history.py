"""Whole syncs over a leaderboard's history: a partial capture upstream, a
backfill cut short, and a data directory written by an older llmsync."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from llmsync.cli import _print_summary, main
from llmsync.hub.hashing import sha256_of
from llmsync.pipeline import SyncConfig, SyncFailed, fingerprint, run_sync
from llmsync.replay.faults import FaultPlan, FaultRule
from llmsync.replay.server import ReplayHub
from llmsync.store.jsonfile import write_json_atomic
from llmsync.store.raw import RawStore
from llmsync.store.snapshots import SnapshotStore
from llmsync.tables.intervals import as_of
from llmsync.tables.leaderboards import LEADERBOARD_FILE
from llmsync.tables.revisions import classify
from tests.conftest import FAST_RETRIES, V1, V2, CleanSync
from tests.recorded import recorded, recorded_exports, revision_of
from tests.recording_edits import (
    edited_recordings,
    parquet_bytes,
    recorded_file,
)
from tests.tables import published_tables


def _canonical(table: pa.Table) -> pa.Table:
    return table.sort_by([(name, "ascending") for name in table.column_names])


# -- a partial capture upstream -------------------------------------------------------


def test_suspect_is_a_share_of_the_previous_ok_rows() -> None:
    assert classify(79, previous_ok_rows=1291, max_loss=0.5) == (
        "suspect",
        "holds 79 rows, 94% fewer than the 1,291 of the previous ok revision "
        "(over the 50% allowed); not applied",
    )
    # 2023-09-15 held 1,240 rows after 2023-09-04's 1,291: an ordinary day.
    assert classify(1240, previous_ok_rows=1291, max_loss=0.5) == ("ok", None)
    assert classify(79, previous_ok_rows=1291, max_loss=0.95) == ("ok", None)
    assert classify(79, previous_ok_rows=None, max_loss=0.5) == ("ok", None)


def test_a_partial_capture_is_suspect_and_ends_no_interval(
    tmp_path: Path,
    replay_hub_factory: Callable[..., ReplayHub],
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The real top-of-page scrapes of October 2023 (79, 77 and 109 rows), served as
    # v1 commits between the 2023-09-15 export (1,240 rows) and the 2024 tables.
    # As of v2's first export (2024-07-13): all of v1 and one v2 export.
    day = dt.date(2024, 7, 13)
    partial = replay_hub_factory(as_of=day, serve_partial_captures=True)
    report = run_sync(SyncConfig(data_dir=tmp_path / "data", endpoint=partial.url))
    clean = run_sync(
        SyncConfig(data_dir=tmp_path / "clean", endpoint=replay_hub_factory(as_of=day).url)
    )
    assert (report.status, clean.status) == ("published", "published")
    assert (report.parsed_revisions, clean.parsed_revisions) == (17 + 3 + 1, 17 + 1)

    tables = published_tables(tmp_path / "data")
    v1 = [r for r in tables["revisions"].to_pylist() if r["leaderboard"] == "open_llm_v1"]
    suspects = [r for r in v1 if r["status"] != "ok"]
    reasons = {
        rows: f"holds {rows} rows, {share}% fewer than the 1,240 of the previous ok revision "
        "(over the 50% allowed); not applied"
        for rows, share in ((79, 94), (77, 94), (109, 91))
    }
    assert [(str(r["date"]), r["rows"], r["status"], r["reason"]) for r in suspects] == [
        ("2023-10-04", 79, "suspect", reasons[79]),
        ("2023-10-13", 77, "suspect", reasons[77]),
        ("2023-10-31", 109, "suspect", reasons[109]),
    ]
    shas = {str(r["date"]): r["revision"] for r in suspects}
    sha = shas["2023-10-04"]
    assert report.not_applied == [
        f"open_llm_v1 {date} ({shas[date][:10]}): suspect, {reasons[rows]}"
        for date, rows in (("2023-10-04", 79), ("2023-10-13", 77), ("2023-10-31", 109))
    ]
    # They opened and ended nothing: the intervals are those of a history without them.
    scores = tables["scores"]
    for suspect in shas.values():
        assert suspect not in scores.column("valid_from_revision").to_pylist()
        assert suspect not in scores.column("valid_to_revision").to_pylist()
    assert scores.equals(published_tables(tmp_path / "clean")["scores"])
    # As of that day, v1 still reads as its 2023-09-15 export.
    v1_scores = scores.filter(pc.equal(scores.column("leaderboard"), "open_llm_v1"))
    state = as_of(v1_scores, dt.date(2023, 10, 4))
    september = recorded("v1-2023-09-15").parsed.rows
    assert _canonical(state.drop_columns(["occurrence"])).equals(
        _canonical(september.drop_columns(["occurrence"]))
    )

    # The run summary says so, in the Prefect artifact and on the command line.
    markdown = report.to_markdown()
    assert "## Leaderboard revisions not applied" in markdown
    assert f"- open_llm_v1 2023-10-04 ({sha[:10]}): suspect, holds 79 rows" in markdown
    _print_summary(report.as_dict(), seconds=1.0)
    out = capsys.readouterr().out
    assert "leaderboard revisions parsed: 21 (building anew)" in out
    assert "leaderboard revisions not applied:" in out
    assert f"  open_llm_v1 2023-10-04 ({sha[:10]}): suspect, holds 79 rows" in out


def test_an_older_malformed_export_is_recorded_and_skipped(
    tmp_path: Path, recordings_dir: Path
) -> None:
    # v2's first export (2024-07-13) with its MATH column renamed: history, not the
    # current table (a malformed newest export fails the run: test_sync_bad_input).
    # As of 2024-07-16, v2 has three exports: 2024-07-13, -15 and -16.
    table = pq.read_table(
        pa.BufferReader(
            recorded_file(recordings_dir, repo_id=V2, path=LEADERBOARD_FILE, date="2024-07-13")
        )
    )
    renamed = table.rename_columns(["MATH" if c == "MATH Lvl 5" else c for c in table.column_names])
    recordings = edited_recordings(
        recordings_dir,
        tmp_path / "recordings",
        repo_id=V2,
        path=LEADERBOARD_FILE,
        data=parquet_bytes(renamed),
        date="2024-07-13",
    )
    with ReplayHub(recordings=recordings, as_of=dt.date(2024, 7, 16)) as hub:
        report = run_sync(SyncConfig(data_dir=tmp_path / "data", endpoint=hub.url))
    assert report.status == "published"
    reason = "open_llm_v2 table (v2 display names) has no column 'MATH Lvl 5'"
    [line] = report.not_applied
    assert line.startswith("open_llm_v2 2024-07-13 (") and line.endswith(f"malformed, {reason}")
    tables = published_tables(tmp_path / "data")
    v2 = [r for r in tables["revisions"].to_pylist() if r["leaderboard"] == "open_llm_v2"]
    # Row counts as the history bundle's commits name them.
    assert [(str(r["date"]), r["rows"], r["status"], r["reason"]) for r in v2] == [
        ("2024-07-13", None, "malformed", reason),
        ("2024-07-15", 238, "ok", None),
        ("2024-07-16", 238, "ok", None),
    ]
    # v2's history starts at its first readable export.
    scores = tables["scores"]
    v2_scores = scores.filter(pc.equal(scores.column("leaderboard"), "open_llm_v2"))
    assert pc.min(v2_scores.column("valid_from")).as_py() == dt.date(2024, 7, 15)
    assert as_of(v2_scores, dt.date(2024, 7, 13)).num_rows == 0


# -- a backfill cut short --------------------------------------------------------------


def test_a_backfill_cut_short_keeps_what_landed(
    tmp_path: Path, replay_hub_factory: Callable[..., ReplayHub]
) -> None:
    data_dir = tmp_path / "data"
    # As of 2024-07-16: v1's 17 exports and v2's first three; one of v2's fails.
    day = dt.date(2024, 7, 16)
    stuck = revision_of("v2-2024-07-15")
    plan = FaultPlan(
        [
            FaultRule(
                path=f"^/datasets/{V2}/resolve/{stuck}/", action="status", status=503, times=None
            )
        ]
    )
    config = SyncConfig(data_dir=data_dir, retry_policy=FAST_RETRIES)
    failing = replay_hub_factory(faults=plan, as_of=day)
    with pytest.raises(SyncFailed, match=f"leaderboard open_llm_v2 at {stuck[:10]} unavailable"):
        run_sync(dataclasses.replace(config, endpoint=failing.url))
    assert SnapshotStore(data_dir).snapshots() == []
    # The other 19 exports landed, each whole, and stay landed.
    raw = RawStore(data_dir / "raw")
    served = [item.label for item in recorded_exports() if item.date <= day]
    assert len(served) == 20
    landed = {
        label
        for label in served
        if raw.get(
            V1 if label.startswith("v1") else V2,
            LEADERBOARD_FILE,
            repo_type="dataset",
            revision=revision_of(label),
        )
    }
    assert "v2-2024-07-15" not in landed and len(landed) == 19

    # The next run downloads the missing one only.
    healthy = replay_hub_factory(as_of=day)
    before = len(healthy.requests)
    report = run_sync(dataclasses.replace(config, endpoint=healthy.url))
    assert report.status == "published"
    downloads = {
        r.path.split("/resolve/")[1].split("/")[0]
        for r in healthy.requests[before:]
        if r.path.startswith("/datasets/") and "/resolve/" in r.path
    }
    assert downloads == {stuck}
    assert report.parsed_revisions == 20


# -- a data directory written by an older llmsync -----------------------------------------

# `scores` as llmsync wrote it before schema versions: one row per (export row,
# benchmark) of every export read.
OLD_SCORES = pa.schema(
    [
        pa.field("leaderboard", pa.string(), nullable=False),
        pa.field("source_revision", pa.string(), nullable=False),
        pa.field("source_date", pa.date32(), nullable=False),
        pa.field("row_index", pa.int32(), nullable=False),
        pa.field("model_name", pa.string(), nullable=False),
        pa.field("repo_id", pa.string()),
        pa.field("benchmark", pa.string(), nullable=False),
        pa.field("score", pa.float64(), nullable=False),
        pa.field("raw_score", pa.float64()),
        pa.field("precision", pa.string()),
        pa.field("model_sha", pa.string()),
        pa.field("chat_template", pa.bool_()),
        pa.field("submitted_on", pa.date32()),
    ]
)


def _old_scores(scores: pa.Table, manifest: dict[str, Any]) -> pa.Table:
    """The old shape of the same data: each export's rows, from the intervals."""
    parts = []
    for leaderboard, entry in manifest["sources"]["leaderboards"].items():
        mine = scores.filter(pc.equal(scores.column("leaderboard"), leaderboard))
        for item in entry["revisions"]:
            rows = as_of(mine, dt.date.fromisoformat(item["date"]))
            n = rows.num_rows
            parts.append(
                pa.table(
                    {
                        "leaderboard": rows.column("leaderboard"),
                        "source_revision": pa.repeat(pa.scalar(item["revision"]), n),
                        "source_date": pa.repeat(pa.scalar(dt.date.fromisoformat(item["date"])), n),
                        "row_index": pa.array(range(n), pa.int32()),
                        "model_name": rows.column("model_name"),
                        "repo_id": rows.column("repo_id"),
                        "benchmark": rows.column("benchmark"),
                        "score": rows.column("value"),
                        "raw_score": rows.column("raw_value"),
                        "precision": rows.column("precision"),
                        "model_sha": rows.column("model_sha"),
                        "chat_template": pa.nulls(n, pa.bool_()),
                        "submitted_on": pa.nulls(n, pa.date32()),
                    },
                    schema=OLD_SCORES,
                )
            )
    return pa.concat_tables(parts)


def _make_old(data_dir: Path) -> str:
    """Rewrite the latest snapshot as an older llmsync left it: old-shaped
    scores, catalog and changes, no revisions table, no schema versions."""
    snapshot = SnapshotStore(data_dir).latest()
    assert snapshot is not None
    manifest = dict(snapshot.manifest)
    tables = published_tables(data_dir)
    old = {
        "scores": _old_scores(tables["scores"], manifest),
        "catalog": tables["catalog"].drop_columns(
            ["open_llm_v1_first_seen", "open_llm_v2_first_seen"]
        ),
        "changes": tables["changes"].drop_columns(["revision", "date"]),
    }
    for name, table in old.items():
        pq.write_table(table, snapshot.table_path(name), compression="zstd")
        path = snapshot.table_path(name)
        manifest["tables"][name].update(
            rows=table.num_rows, bytes=path.stat().st_size, sha256=sha256_of(path)
        )
    snapshot.table_path("revisions").unlink()
    del manifest["tables"]["revisions"]
    del manifest["schema_versions"]
    # Its fingerprint covered the sources alone.
    manifest["sources_fingerprint"] = fingerprint(manifest["sources"])
    write_json_atomic(snapshot.path / "manifest.json", manifest)
    return snapshot.snapshot_id


def test_the_first_sync_after_the_upgrade_rebuilds_old_shaped_scores(
    tmp_path: Path,
    replay_hub: ReplayHub,
    clean_sync: CleanSync,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data_dir = tmp_path / "data"
    shutil.copytree(clean_sync.data_dir, data_dir)
    old_id = _make_old(data_dir)
    old_manifest = json.loads(
        (data_dir / "processed" / f"snapshot={old_id}" / "manifest.json").read_text()
    )
    # Every served export's rows: 3,165,429 (row, benchmark) values of the Open
    # LLM Leaderboard's 207 exports, and OpenEvals' 300 (93 aggregates, 207 scores).
    assert old_manifest["tables"]["scores"]["rows"] == 3_165_429 + 300

    # Upstream is as it was, but the tables' shapes are not: the run publishes.
    # Compared with the old scores' 3,165,429 rows the new 116,884 intervals look
    # like a loss of 96%, over this run's 5%; the guard knows the shapes differ.
    report = run_sync(SyncConfig(data_dir=data_dir, endpoint=replay_hub.url, max_row_loss=0.05))
    assert report.status == "published"
    assert (report.parsed_revisions, report.incremental) == (207 + 1, False)  # and OpenEvals
    tables = published_tables(data_dir)
    assert tables["scores"].equals(clean_sync.tables["scores"])
    assert tables["revisions"].equals(clean_sync.tables["revisions"])
    assert tables["catalog"].equals(clean_sync.tables["catalog"])
    # No revision is new to it, and no model changed: nothing to report.
    assert tables["changes"].num_rows == 0
    latest = SnapshotStore(data_dir).latest()
    assert latest is not None
    assert latest.manifest["schema_versions"]["scores"] == 2

    # The next run extends the new snapshot as usual.
    again = run_sync(SyncConfig(data_dir=data_dir, endpoint=replay_hub.url))
    assert (again.status, again.parsed_revisions) == ("unchanged", 0)

    # An old snapshot is still read across with the documented recipe, and
    # `verify` says plainly that it cannot rebuild it.
    import duckdb

    pattern = str(data_dir / "processed" / "snapshot=*" / "catalog.parquet")
    rows = duckdb.sql(
        f"SELECT snapshot, open_llm_v1_average, open_llm_v1_first_seen FROM read_parquet("
        f"'{pattern}', hive_partitioning = true, union_by_name = true) "
        "WHERE repo_id = 'databricks/dolly-v2-12b' AND role = 'primary' ORDER BY snapshot"
    ).fetchall()
    assert [(value, seen) for _, value, seen in rows] == [
        (39.46, None),
        (39.46, dt.date(2023, 5, 23)),
    ]
    import polars as pl

    frame = pl.concat(
        [
            pl.scan_parquet(path, hive_partitioning=True, hive_schema={"snapshot": pl.String})
            for path in sorted((data_dir / "processed").glob("snapshot=*/catalog.parquet"))
        ],
        how="diagonal_relaxed",
    ).collect()
    assert frame.get_column("snapshot").n_unique() == 2
    old_rows = frame.filter(pl.col("snapshot") == old_id)
    assert old_rows.height == 18
    assert old_rows.get_column("open_llm_v1_first_seen").null_count() == 18
    assert main(["verify", "--data-dir", str(data_dir), "--snapshot", old_id]) == 1
    err = capsys.readouterr().err
    old_shapes = "(catalog v1, changes v1, eval_results v1, leaderboards v1, scores v1)"
    assert f"was written in older table shapes {old_shapes}" in err
