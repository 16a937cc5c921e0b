"""The snapshot store: versioned Parquet snapshots, their manifests and the run log.

Layout under the data directory::

    processed/snapshot=<id>/catalog.parquet   one file per table (catalog, models,
                                              scores, revisions, changes)
    processed/snapshot=<id>/manifest.json     what the snapshot holds and came from
    processed/.staging/<id>/                  a snapshot being written (hidden from globs)
    runs/<run_id>.json                        one record per run, published or not
    .llmsync.lock                             held by the one sync allowed at a time

A snapshot is written under `.staging/` and published by one `os.rename`, so a
reader globbing `snapshot=*/…` sees all of it or none of it. Published folders
and files are never written again; so a table whose bytes equal the previous
snapshot's is not written but hard-linked from it (both folders name one file,
and deleting either leaves the other whole). Every snapshot still holds every
table, and its manifest the sha256 `verify` checks each file against.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import json
import os
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from llmsync.hub.hashing import sha256_of
from llmsync.store.encoding import Encoded, encode_table
from llmsync.store.jsonfile import fsync_dir, top_level_string, write_json_atomic
from llmsync.tables.schemas import TABLES

SNAPSHOT_PREFIX = "snapshot="
MANIFEST_NAME = "manifest.json"
TABLE_NAMES: tuple[str, ...] = (
    "catalog",
    "models",
    "scores",
    "revisions",
    "changes",
    "leaderboards",
    "eval_results",
    "benchmarks",
)
_ID_FORMAT = "%Y%m%dT%H%M%SZ"


class StoreError(RuntimeError):
    """The store cannot do what was asked (locked, corrupt, or a bad id)."""


class StoreLockedError(StoreError):
    pass


def schema_versions(manifest: Mapping[str, Any]) -> dict[str, int]:
    """The schema version of each table a manifest lists. Manifests written
    before versions were recorded hold version 1 of every table."""
    recorded = manifest.get("schema_versions") or {}
    return {name: int(recorded.get(name, 1)) for name in manifest.get("tables", {})}


def default_data_dir() -> Path:
    return Path(os.environ.get("LLMSYNC_DATA_DIR") or "data")


def new_snapshot_id(now: dt.datetime | None = None) -> str:
    """A UTC timestamp, fixed width so that names sort in time order, and free
    of `:` so that it is a valid folder name on every filesystem."""
    moment = now or dt.datetime.now(dt.UTC)
    return moment.astimezone(dt.UTC).strftime(_ID_FORMAT)


@dataclass(frozen=True)
class Snapshot:
    """A published snapshot: its folder and its manifest."""

    snapshot_id: str
    path: Path
    manifest: dict[str, Any]

    def table_path(self, name: str) -> Path:
        return self.path / f"{name}.parquet"

    def read_table(self, name: str) -> pa.Table:
        path, schema = self.table_path(name), TABLES[name].schema
        # The file itself where it holds today's columns (the usual case):
        # `pq.read_table` goes through pyarrow.dataset, whose first import
        # (pandas with it) costs a nightly sync more than its reads.
        file = pq.ParquetFile(path)
        if file.schema_arrow.names == schema.names:
            return file.read().cast(schema)
        return pq.read_table(path, schema=schema)

    def listed_table(self, name: str) -> pa.Table | None:
        """Table `name`, or None where this snapshot's manifest does not list it
        (written by an llmsync before that table)."""
        return self.read_table(name) if name in self.manifest.get("tables", {}) else None

    @property
    def sources_fingerprint(self) -> str | None:
        value = self.manifest.get("sources_fingerprint")
        return str(value) if value else None


@dataclass
class RunRecord:
    """One line of the run log: every run, including those that published nothing."""

    run_id: str
    started_at: str
    status: str = "running"
    snapshot: str | None = None
    finished_at: str | None = None
    reason: str | None = None
    flow_run_id: str | None = None
    partial: bool = False
    row_counts: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    # A population sync's fetch state (watermark, reconciled_at), kept also
    # when the run publishes nothing: the next fetch starts from it.
    population: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "snapshot": self.snapshot,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "reason": self.reason,
            "flow_run_id": self.flow_run_id,
            "partial": self.partial,
            "row_counts": self.row_counts,
            "failures": self.failures,
            **({"population": self.population} if self.population is not None else {}),
        }


def _link_unchanged(previous: Snapshot | None, name: str, digest: str, path: Path) -> bool:
    """Whether `path` now names the previous snapshot's file of table `name`,
    linked, because that file holds the very bytes (`digest`) this one would.

    A published file is never written again, so two snapshots may share one: a
    night that changes one table writes that table, and links the others. The
    previous file is hashed again first: one that no longer matches its
    manifest is not passed on. Where links are not possible, the bytes are
    written as usual."""
    if previous is None:
        return False
    entry = previous.manifest.get("tables", {}).get(name, {})
    if entry.get("sha256") != digest:
        return False
    source = previous.path / str(entry.get("file", f"{name}.parquet"))
    try:
        if sha256_of(source) != digest:
            return False
        os.link(source, path)
    except OSError:
        return False
    return True


class SnapshotStore:
    """Reads and writes the snapshot store of one data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.processed = data_dir / "processed"
        self.staging = self.processed / ".staging"
        self.runs_dir = data_dir / "runs"
        self.lock_path = data_dir / ".llmsync.lock"

    # -- reading ---------------------------------------------------------

    def snapshot_ids(self) -> list[str]:
        """The ids of the snapshot folders, oldest first, read from their names
        alone (no manifest is read; `snapshots()` keeps those whose manifest
        reads)."""
        if not self.processed.is_dir():
            return []
        return sorted(
            entry.name[len(SNAPSHOT_PREFIX) :]
            for entry in self.processed.iterdir()
            if entry.name.startswith(SNAPSHOT_PREFIX) and entry.is_dir()
        )

    def snapshot(self, snapshot_id: str) -> Snapshot | None:
        """The snapshot in folder `snapshot=<id>`, or None where its manifest
        does not read (it cannot have been published by us)."""
        path = self.processed / f"{SNAPSHOT_PREFIX}{snapshot_id}"
        try:
            manifest = json.loads((path / MANIFEST_NAME).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return Snapshot(snapshot_id, path, manifest)

    def snapshots(self) -> list[Snapshot]:
        """Published snapshots, oldest first. A folder without a readable
        manifest is not a snapshot (it cannot have been published by us)."""
        found = (self.snapshot(snapshot_id) for snapshot_id in self.snapshot_ids())
        return [snapshot for snapshot in found if snapshot is not None]

    def latest(self) -> Snapshot | None:
        # Newest first, reading manifests until one reads: a sync asks for the
        # latest every night, and a manifest lists every raw object (a hundred
        # kilobytes or more), so reading them all would grow with the history.
        for snapshot_id in reversed(self.snapshot_ids()):
            snapshot = self.snapshot(snapshot_id)
            if snapshot is not None:
                return snapshot
        return None

    def statuses(self) -> list[tuple[str, str]]:
        """Each published snapshot's id and status (`complete`, `partial`),
        oldest first, without parsing whole manifests: a manifest lists every
        raw object, and the report of every night names the partial ones."""
        found = []
        for snapshot_id in self.snapshot_ids():
            manifest = self.processed / f"{SNAPSHOT_PREFIX}{snapshot_id}" / MANIFEST_NAME
            status = top_level_string(manifest, "status", default="?")
            if status is not None:
                found.append((snapshot_id, status))
        return found

    def latest_complete(self) -> Snapshot | None:
        """The newest snapshot whose manifest says `complete`, the one a reader
        wants: a `partial` one lacks fields the Hub failed to give that night."""
        complete = [s for s in self.snapshots() if s.manifest.get("status") == "complete"]
        return complete[-1] if complete else None

    def runs(self) -> list[dict[str, Any]]:
        """The run log, oldest first."""
        if not self.runs_dir.is_dir():
            return []
        records: list[dict[str, Any]] = []
        for path in sorted(self.runs_dir.glob("*.json")):
            try:
                records.append(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError):
                # A record torn by a crash says nothing trustworthy; skip it.
                continue
        # Run ids share a second's resolution; the start time orders them.
        records.sort(key=lambda record: (str(record.get("started_at")), str(record["run_id"])))
        return records

    # -- the run log -----------------------------------------------------

    def start_run(self, *, flow_run_id: str | None = None) -> RunRecord:
        now = dt.datetime.now(dt.UTC)
        run_id = f"{new_snapshot_id(now)}-{os.urandom(3).hex()}"
        record = RunRecord(
            run_id=run_id,
            started_at=now.isoformat(timespec="microseconds"),
            flow_run_id=flow_run_id,
        )
        self.save_run(record)
        return record

    def save_run(self, record: RunRecord) -> None:
        write_json_atomic(self.runs_dir / f"{record.run_id}.json", record.as_dict())

    def finish_run(
        self, record: RunRecord, *, status: str, snapshot: str | None, reason: str | None = None
    ) -> RunRecord:
        record.status = status
        record.snapshot = snapshot
        record.reason = reason
        record.finished_at = dt.datetime.now(dt.UTC).isoformat()
        self.save_run(record)
        return record

    def interrupt_runs(self, *, reason: str) -> list[str]:
        """Record this process's unfinished runs as `interrupted` (Ctrl-C);
        their ids. Only while this process holds the lock: a run recorded
        `running` by another process is that process's to finish."""
        try:
            holder = self.lock_path.read_text(encoding="utf-8")
        except OSError:
            return []
        if not holder.startswith(f"pid {os.getpid()} "):
            return []
        return self._finish_running(status="interrupted", reason=reason)

    def _finish_running(self, *, status: str, reason: str) -> list[str]:
        """Record every run still `running` as ended with `status`; their ids."""
        ended = []
        for entry in self.runs():
            if entry.get("status") == "running":
                fields = {k: v for k, v in entry.items() if k in RunRecord.__dataclass_fields__}
                self.finish_run(RunRecord(**fields), status=status, snapshot=None, reason=reason)
                ended.append(str(entry["run_id"]))
        return ended

    # -- locking and recovery -------------------------------------------

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the data directory's lock for one sync.

        `flock` is released by the kernel when its holder dies, SIGKILL
        included, so a crashed sync never leaves a stale lock behind.
        """
        self.data_dir.mkdir(parents=True, exist_ok=True)
        handle = self.lock_path.open("a+", encoding="utf-8")
        try:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                handle.seek(0)
                holder = handle.read().strip() or "another process"
                raise StoreLockedError(
                    f"another sync is running on {self.data_dir} ({holder}); wait for it to finish"
                ) from None
            handle.seek(0)
            handle.truncate()
            handle.write(f"pid {os.getpid()} since {dt.datetime.now(dt.UTC).isoformat()}")
            handle.flush()
            self.recover()
            yield
        finally:
            handle.close()

    def recover(self) -> list[str]:
        """Remove what crashed runs left aside; called with the lock held.

        Only `.staging/` is touched: a published snapshot is never modified.
        Runs recorded as `running` whose process is gone are marked failed.
        """
        removed: list[str] = []
        if self.staging.is_dir():
            for entry in self.staging.iterdir():
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry.name)
        self._finish_running(status="failed", reason="the run was interrupted before it finished")
        return removed

    # -- publishing ------------------------------------------------------

    def publish(
        self,
        tables: Mapping[str, pa.Table],
        *,
        manifest: dict[str, Any],
        now: dt.datetime | None = None,
        encoded: Mapping[str, Encoded] | None = None,
    ) -> Snapshot:
        """Write a snapshot aside, then make it visible with one rename.
        `encoded`: tables already encoded (`encode_table`) from `tables`."""
        missing = [name for name in TABLE_NAMES if name not in tables]
        if missing:
            raise StoreError(f"cannot publish without tables: {', '.join(missing)}")
        previous = self.latest()
        snapshot_id = self._free_snapshot_id(now, latest=previous)
        aside = self.staging / snapshot_id
        if aside.exists():
            shutil.rmtree(aside)
        aside.mkdir(parents=True)

        table_entries: dict[str, dict[str, Any]] = {}
        for name in TABLE_NAMES:
            done = (encoded or {}).get(name) or encode_table(name, tables[name])
            path, digest = aside / f"{name}.parquet", done.sha256
            if not _link_unchanged(previous, name, digest, path):
                with path.open("wb") as handle:
                    handle.write(done.data)
                    handle.flush()
                    os.fsync(handle.fileno())
            table_entries[name] = {
                "file": path.name,
                "rows": done.table.num_rows,
                "bytes": len(done.data),
                "sha256": digest,
            }
        full_manifest = {
            **manifest,
            "snapshot_id": snapshot_id,
            "tables": table_entries,
            "schema_versions": {name: TABLES[name].version for name in TABLE_NAMES},
        }
        write_json_atomic(aside / MANIFEST_NAME, full_manifest)
        fsync_dir(aside)

        final = self.processed / f"{SNAPSHOT_PREFIX}{snapshot_id}"
        os.rename(aside, final)
        fsync_dir(self.processed)
        return Snapshot(snapshot_id, final, full_manifest)

    def _free_snapshot_id(self, now: dt.datetime | None, *, latest: Snapshot | None) -> str:
        """A new id later than every published one (`latest`), even within one second."""
        moment = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
        candidate = new_snapshot_id(moment)
        while (latest is not None and candidate <= latest.snapshot_id) or (
            self.processed / f"{SNAPSHOT_PREFIX}{candidate}"
        ).exists():
            moment += dt.timedelta(seconds=1)
            candidate = new_snapshot_id(moment)
        return candidate

    def verify(self, snapshot: Snapshot) -> list[str]:
        """Problems with a published snapshot's files against its manifest."""
        problems: list[str] = []
        for name, entry in snapshot.manifest.get("tables", {}).items():
            path = snapshot.path / str(entry.get("file", f"{name}.parquet"))
            if not path.is_file():
                problems.append(f"{snapshot.snapshot_id}: {path.name} is missing")
            elif sha256_of(path) != entry.get("sha256"):
                problems.append(f"{snapshot.snapshot_id}: {path.name} does not match its hash")
        return problems
