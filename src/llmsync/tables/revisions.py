"""The `revisions` table: every leaderboard revision a sync has seen, and
whether its rows were applied to `scores`.

An export that loses a large share of the previous ok export's rows is far
likelier a partial capture (the v1 scrapes of October 2023 hold 79, 77 and 109
rows after 1,240) than a leaderboard that dropped most of its models: it is
`suspect`, kept here with the reason, and ends no interval.

A partial capture is a bad day upstream; a drop that lasts is the leaderboard.
So a suspect drop is accepted once it is confirmed for `CONFIRM_DAYS`: an export
that has lost as much, dated at least that many days after the first of an
unbroken run of suspect exports before it, is `ok` (its reason says which drop
it confirms), and from it on exports are compared with it. The October 2023
captures span 27 days and stay suspect; a leaderboard never freezes for longer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import pyarrow as pa

from llmsync.tables.schemas import REVISIONS

DEFAULT_SUSPECT_ROW_LOSS = 0.5
# How long a drop must last, by export dates, to be taken for the leaderboard's.
CONFIRM_DAYS = 30


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


def classify_in_history(
    rows: int,
    *,
    date: dt.date,
    records: Sequence[RevisionRecord],
    leaderboard: str,
    max_loss: float,
) -> tuple[str, str | None]:
    """(status, reason) of a readable export given the leaderboard's earlier
    records: suspect against the last ok export, unless it confirms a drop that
    has lasted CONFIRM_DAYS (see the module's note)."""
    previous_ok = last_ok(records, leaderboard)
    status, why = classify(
        rows, previous_ok_rows=previous_ok.rows if previous_ok else None, max_loss=max_loss
    )
    if status == "ok":
        return status, why
    run = _suspect_run(records, leaderboard)
    if run and (date - run[0].date).days >= CONFIRM_DAYS:
        return "ok", (
            f"confirms the drop first seen on {run[0].date} ({len(run)} suspect export(s) "
            f"over {(date - run[0].date).days} days): accepted"
        )
    return status, why


def _suspect_run(records: Sequence[RevisionRecord], leaderboard: str) -> list[RevisionRecord]:
    """The unbroken run of suspect records that ends the leaderboard's history."""
    run: list[RevisionRecord] = []
    for record in records:
        if record.leaderboard != leaderboard:
            continue
        run = [*run, record] if record.status == "suspect" else []
    return run


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


def suspect_newest(records: Sequence[RevisionRecord]) -> list[dict[str, str | None]]:
    """Each leaderboard whose newest export was not applied: the snapshot serves
    an older table as current. Its newest export, and the export in force."""
    found = []
    for leaderboard in dict.fromkeys(record.leaderboard for record in records):
        mine = [record for record in records if record.leaderboard == leaderboard]
        newest, in_force = mine[-1], last_ok(mine, leaderboard)
        if newest.status == "ok":
            continue
        found.append(
            {
                "leaderboard": leaderboard,
                "newest_revision": newest.revision,
                "newest_date": newest.date.isoformat(),
                "newest_status": newest.status,
                "in_force_revision": in_force.revision if in_force else None,
                "in_force_date": in_force.date.isoformat() if in_force else None,
            }
        )
    return found


def describe_suspect_newest(entry: Mapping[str, object]) -> str:
    """One line for the run summary, the artifact and `llmsync snapshots`."""
    newest = f"{entry['newest_date']} ({str(entry['newest_revision'])[:10]})"
    in_force = entry["in_force_date"]
    serving = f"{in_force} ({str(entry['in_force_revision'])[:10]})" if in_force else "no export"
    return (
        f"{entry['leaderboard']}: newest export {newest} is {entry['newest_status']}; "
        f"in force: {serving}"
    )
