"""What an exporter reads: the tables it names from one published snapshot,
after every file the manifest lists is checked against its recorded hash."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from llmsync.store.snapshots import SnapshotStore


class ExportError(RuntimeError):
    """No export can be written: the snapshot is missing, damaged, or lacks a table."""


@dataclass(frozen=True)
class ExportInput:
    snapshot_id: str
    # Only the tables the snapshot holds: an older snapshot may lack `eval_results`.
    tables: dict[str, pa.Table]


def load(data_dir: Path, names: Sequence[str], *, snapshot_id: str | None = None) -> ExportInput:
    """The named tables of one snapshot (default: the newest published)."""
    store = SnapshotStore(data_dir)
    published = store.snapshots()
    if not published:
        raise ExportError(f"no published snapshot in {data_dir}")
    if snapshot_id is None:
        snapshot = published[-1]
    else:
        found = [s for s in published if s.snapshot_id == snapshot_id]
        if not found:
            raise ExportError(f"no published snapshot {snapshot_id} in {data_dir}")
        snapshot = found[0]
    problems = store.verify(snapshot)
    if problems:
        raise ExportError(
            f"snapshot {snapshot.snapshot_id} is partial or damaged: " + "; ".join(problems)
        )
    listed = snapshot.manifest.get("tables", {})
    tables = {
        name: pq.read_table(snapshot.path / str(listed[name].get("file", f"{name}.parquet")))
        for name in names
        if name in listed
    }
    return ExportInput(snapshot.snapshot_id, tables)
