"""The `revisions` table: every leaderboard revision a sync has seen, and
whether its rows were applied to `scores`.

An export that loses a large share of the previous ok export's rows is far
likelier a partial capture (the v1 scrapes of October 2023 hold 79, 77 and 109
rows after 1,240) than a leaderboard that dropped most of its models: it is
`suspect`, kept here with the reason, and ends no interval.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import pyarrow as pa

from llmsync.tables.schemas import REVISIONS

DEFAULT_SUSPECT_ROW_LOSS = 0.5


@dataclass(frozen=True)
class RevisionRecord:
    leaderboard: str
    revision: str
    date: dt.date
    rows: int | None
    status: str
    reason: str | None = None

    def describe(self) -> str:
        return (
            f"{self.leaderboard} {self.date} ({self.revision[:10]}): {self.status}, {self.reason}"
        )


def classify(rows: int, *, previous_ok_rows: int | None, max_loss: float) -> tuple[str, str | None]:
    """(status, reason) of a readable export of `rows` rows."""
    if previous_ok_rows is None or previous_ok_rows <= 0:
        return "ok", None
    lost = (previous_ok_rows - rows) / previous_ok_rows
    if lost > max_loss:
        return "suspect", (
            f"holds {rows:,} rows, {lost:.0%} fewer than the {previous_ok_rows:,} of the "
            f"previous ok revision (over the {max_loss:.0%} allowed); not applied"
        )
    return "ok", None


def last_ok(records: Iterable[RevisionRecord], leaderboard: str) -> RevisionRecord | None:
    found = None
    for record in records:
        if record.leaderboard == leaderboard and record.status == "ok":
            found = record
    return found


def revisions_table(records: Iterable[RevisionRecord]) -> pa.Table:
    return pa.Table.from_pylist(
        [
            {
                "leaderboard": r.leaderboard,
                "revision": r.revision,
                "date": r.date,
                "rows": r.rows,
                "status": r.status,
                "reason": r.reason,
            }
            for r in records
        ],
        schema=REVISIONS.schema,
    )


def revision_records(table: pa.Table) -> list[RevisionRecord]:
    return [RevisionRecord(**row) for row in table.select(REVISIONS.columns).to_pylist()]
