"""What a report reads: one published snapshot's tables, checked whole.

A report is drawn from the published tables only. A snapshot that lacks a table
(written before the table existed) still gives the views it can; one whose
files are missing or do not match their manifest gives no report at all.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from llmsync import __version__
from llmsync.store.snapshots import (
    MANIFEST_NAME,
    SNAPSHOT_PREFIX,
    Snapshot,
    SnapshotStore,
    schema_versions,
)

# Not yet one of the store's tables: drawn when a snapshot holds it.
EVAL_RESULTS = "eval_results"


class ReportError(RuntimeError):
    """No report can be written: the snapshot is missing, partial or unreadable."""


@dataclass(frozen=True)
class ReportData:
    """A snapshot's tables as the views need them."""

    snapshot_id: str
    manifest: dict[str, Any]
    tables: dict[str, pa.Table]
    versions: dict[str, int]
    # Other published snapshots' (id, status), and run records that were
    # partial or failed: for the data-health view.
    snapshot_statuses: list[tuple[str, str]] = field(default_factory=list)
    troubled_runs: list[dict[str, Any]] = field(default_factory=list)
    # What the page was drawn from, as one hash (`page_key`): written into the
    # page, so that a page of the same key need not be drawn again.
    key: str = ""

    def table(self, name: str) -> pa.Table | None:
        return self.tables.get(name)

    @property
    def created(self) -> str:
        """The snapshot's UTC date and time, for every figure's date line."""
        moment = dt.datetime.strptime(self.snapshot_id, "%Y%m%dT%H%M%SZ")
        return moment.strftime("%Y-%m-%d %H:%M UTC")


def _pick(store: SnapshotStore, snapshot_id: str | None) -> Snapshot:
    if snapshot_id is None:
        latest = store.latest()
        if latest is None:
            raise ReportError(f"no published snapshot in {store.data_dir}")
        return latest
    # This snapshot's manifest alone: a store's manifests grow with its history.
    found = store.snapshot(snapshot_id) if snapshot_id in store.snapshot_ids() else None
    if found is not None:
        return found
    folder = store.processed / f"{SNAPSHOT_PREFIX}{snapshot_id}"
    if folder.is_dir():
        raise ReportError(
            f"snapshot {snapshot_id} is partial: {folder.name}/{MANIFEST_NAME} is missing or "
            "unreadable"
        )
    if (store.staging / snapshot_id).exists():
        raise ReportError(f"snapshot {snapshot_id} is still being written (not published)")
    raise ReportError(f"no snapshot {snapshot_id} in {store.data_dir}")


def _read(snapshot: Snapshot, name: str) -> pa.Table:
    entry = snapshot.manifest.get("tables", {}).get(name, {})
    path = snapshot.path / str(entry.get("file", f"{name}.parquet"))
    # Read as written: an older snapshot's table has an older shape, which the
    # views check through the manifest's schema versions. `ParquetFile` rather
    # than `pq.read_table`: the latter imports pyarrow.dataset (and pandas),
    # which costs a sync's report more than its reads.
    return pq.ParquetFile(path).read()


def _troubled_runs(store: SnapshotStore) -> list[dict[str, Any]]:
    return [run for run in store.runs() if run.get("partial") or run.get("status") == "failed"]


def page_key(
    store: SnapshotStore, snapshot_id: str, *, troubled_runs: list[dict[str, Any]] | None = None
) -> str:
    """One hash of everything a snapshot's page is drawn from: the snapshot
    (its id: a published snapshot is never written again), the published
    snapshots beside it (their ids: their statuses never change either), the
    runs that were partial or failed, and the llmsync that draws it. Cheap: no
    table and no manifest is read."""
    inputs = {
        "llmsync": __version__,
        "snapshot": snapshot_id,
        "published": store.snapshot_ids(),
        "troubled_runs": _troubled_runs(store) if troubled_runs is None else troubled_runs,
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()


def load(data_dir: Path, snapshot_id: str | None = None) -> ReportData:
    """The tables of one snapshot (default: the newest published), after
    checking every file its manifest lists against the recorded hash."""
    store = SnapshotStore(data_dir)
    snapshot = _pick(store, snapshot_id)
    # Before anything is read: a run recorded meanwhile makes the key stale,
    # never the page.
    troubled = _troubled_runs(store)
    key = page_key(store, snapshot.snapshot_id, troubled_runs=troubled)
    problems = store.verify(snapshot)
    if problems:
        raise ReportError(
            f"snapshot {snapshot.snapshot_id} is partial or damaged: " + "; ".join(problems)
        )
    # Only the tables the manifest lists, whose hashes were just checked: a
    # file beside them that it does not name is not the snapshot's.
    tables = {name: _read(snapshot, name) for name in snapshot.manifest.get("tables", {})}
    return ReportData(
        snapshot_id=snapshot.snapshot_id,
        manifest=snapshot.manifest,
        tables=tables,
        versions=schema_versions(snapshot.manifest),
        snapshot_statuses=store.statuses(),
        troubled_runs=troubled,
        key=key,
    )
