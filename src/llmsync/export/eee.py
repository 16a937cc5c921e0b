"""`llmsync export eee`: a published snapshot -> Every Eval Ever (EEE) v0.3.0
aggregate records, laid out as EEE's datastore wants them:
`<out>/data/<collection>/<developer>/<model>/<uuid>.json`.

History as records: a model's results from one source, as they stood at one
time, are one record. A record starts wherever one of its values' intervals
starts (or one ends while others hold), so the records of a model, oldest first,
replay its history. Every id is a hash of the record's content key, never of the
clock, so an export of the same snapshot writes the same bytes. docs/eee.md maps
each column to its field.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from llmsync.export.eee_evals import eval_result_records
from llmsync.export.eee_fields import moment
from llmsync.export.eee_identity import Identities
from llmsync.export.eee_leaderboards import leaderboard_records
from llmsync.export.eee_record import encode, rows_of
from llmsync.export.snapshot import ExportError, load

TABLES = ("scores", "revisions", "eval_results", "models", "benchmarks")


@dataclass
class ExportSummary:
    snapshot_id: str
    out: Path
    since: dt.date | None
    records: Counter[str] = field(default_factory=Counter)
    results: Counter[str] = field(default_factory=Counter)
    bytes_written: int = 0
    # What was not exported, and why (counts of rows, or of models for `no_path`).
    skipped: Counter[str] = field(default_factory=Counter)

    @property
    def files(self) -> int:
        return sum(self.records.values())

    def lines(self) -> list[str]:
        since = f" (records starting on or after {self.since})" if self.since else ""
        lines = [f"snapshot {self.snapshot_id} -> {self.out}{since}"]
        for collection in sorted(self.records):
            lines.append(
                f"  {collection}: {self.records[collection]:,} records, "
                f"{self.results[collection]:,} results"
            )
        lines.append(f"files: {self.files:,}, bytes: {self.bytes_written:,}")
        for reason in sorted(self.skipped):
            lines.append(f"not exported: {reason}: {self.skipped[reason]:,}")
        return lines


def export_eee(
    data_dir: Path, out: Path, *, snapshot_id: str | None = None, since: dt.date | None = None
) -> ExportSummary:
    """Write the snapshot's EEE records under `out/data/` (only those starting
    on or after `since`, if given). Files of the same record are rewritten with
    the same bytes; nothing else in `out` is touched."""
    loaded = load(data_dir, TABLES, snapshot_id=snapshot_id)
    if "scores" not in loaded.tables:
        raise ExportError(f"snapshot {loaded.snapshot_id} has no scores table")
    scores = rows_of(loaded.tables["scores"])
    eval_results = rows_of(loaded.tables.get("eval_results"))
    identities = Identities(
        loaded.tables.get("models"),
        [r["repo_id"] for r in scores if r["repo_id"]] + [r["repo_id"] for r in eval_results],
    )
    summary = ExportSummary(loaded.snapshot_id, out, since)
    records = [
        leaderboard_records(
            scores, rows_of(loaded.tables.get("revisions")), identities, summary.skipped
        ),
        eval_result_records(
            eval_results, rows_of(loaded.tables.get("benchmarks")), identities, summary.skipped
        ),
    ]
    threshold = moment(since) if since else None
    made: set[Path] = set()
    for source in records:
        for record in source:
            if threshold is not None and record.start < threshold:
                continue
            target = out / record.relative_path
            if target.parent not in made:
                target.parent.mkdir(parents=True, exist_ok=True)
                made.add(target.parent)
            payload = encode(record)
            target.write_bytes(payload)
            summary.records[record.collection] += 1
            summary.results[record.collection] += len(record.body["evaluation_results"])
            summary.bytes_written += len(payload)
    return summary


def export_published(
    data_dir: Path, snapshot_id: str, out: Path, *, since: dt.date | None = None
) -> tuple[ExportSummary | None, str]:
    """The nightly's export of the snapshot it just published, and the run
    summary's line about it. The snapshot is published already: an export that
    cannot be written is named in that line and fails nothing. Every record is
    written each night (the same bytes for the ones already there), so a night
    that missed its export is caught up by the next."""
    try:
        summary = export_eee(data_dir, out, snapshot_id=snapshot_id, since=since)
    except (ExportError, OSError) as exc:
        return None, f"- Every Eval Ever export not written: {exc}"
    return summary, f"- Every Eval Ever export: {summary.files:,} records in `{out}`"
