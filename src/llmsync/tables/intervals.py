"""`scores` as intervals: pure functions of Arrow tables.

An export's rows (`EXPORT_SCORES`) are applied to its leaderboard's open
intervals: a row whose key is open with the same value and raw value extends
that interval (nothing is written); an open interval whose key the export
lacks, or holds with another value, closes at the export (`valid_to` = its
date); every other row opens a new interval. Closed intervals are never touched
again, so applying exports one sync at a time gives the very table that
applying them all at once gives.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from llmsync.tables.schemas import EXPORT_SCORES, SCORES

# A working column: the key (within one leaderboard) as one string.
_KEY = "_key"
_SORT_KEYS = [
    *(
        (name, "ascending")
        for name in ("leaderboard", "model_name", "precision", "model_sha", "occurrence")
    ),
    ("benchmark", "ascending"),
    ("valid_from", "ascending"),
    ("valid_from_revision", "ascending"),
]


@dataclass(frozen=True)
class Export:
    """One export to apply: its leaderboard's `EXPORT_SCORES` rows at a revision."""

    leaderboard: str
    revision: str
    date: dt.date
    rows: pa.Table


def empty_scores() -> pa.Table:
    return SCORES.schema.empty_table()


def extend(scores: pa.Table, exports: Iterable[Export]) -> pa.Table:
    """`scores` with each export applied in turn, oldest first; sorted by key."""
    is_open = pc.is_null(scores.column("valid_to"))
    closed = [scores.filter(pc.invert(is_open))]
    still_open = scores.filter(is_open)
    open_by_leaderboard = {
        name: _with_key(still_open.filter(pc.equal(still_open.column("leaderboard"), name)))
        for name in pc.unique(still_open.column("leaderboard")).to_pylist()
    }
    for export in exports:
        current = open_by_leaderboard.get(export.leaderboard)
        if current is None:
            current = _with_key(empty_scores())
        after, ended = _apply(current, export)
        open_by_leaderboard[export.leaderboard] = after
        closed.append(ended.drop_columns([_KEY]))
    still = [table.drop_columns([_KEY]) for table in open_by_leaderboard.values()]
    return sort_scores(pa.concat_tables([*closed, *still]))


def _apply(open_intervals: pa.Table, export: Export) -> tuple[pa.Table, pa.Table]:
    """(the leaderboard's open intervals after `export`, the intervals it closed);
    both carry the `_KEY` column."""
    rows = _with_key(export.rows)
    # Keys are unique among open intervals (they are one export's rows) and in an
    # export: each row finds at most one open interval; null where none.
    found = pc.index_in(rows.column(_KEY), value_set=open_intervals.column(_KEY))
    same = pc.and_(
        _same(open_intervals.column("value").take(found), rows.column("value")),
        _same(open_intervals.column("raw_value").take(found), rows.column("raw_value")),
    )
    kept = found.filter(same)
    ending = np.ones(open_intervals.num_rows, dtype=bool)
    ending[kept.to_numpy(zero_copy_only=False)] = False
    closed = _close(open_intervals.filter(pa.array(ending)), export)
    opened = _open(rows.filter(pc.invert(same)), export)
    return pa.concat_tables([open_intervals.take(kept), opened]), closed


def as_of(scores: pa.Table, date: dt.date) -> pa.Table:
    """Every leaderboard's rows as of `date` (`EXPORT_SCORES`)."""
    day = pa.scalar(date, pa.date32())
    started = pc.less_equal(scores.column("valid_from"), day)
    not_ended = pc.or_kleene(
        pc.is_null(scores.column("valid_to")), pc.greater(scores.column("valid_to"), day)
    )
    return scores.filter(pc.and_(started, not_ended)).select(EXPORT_SCORES.columns)


def sort_scores(scores: pa.Table) -> pa.Table:
    """The one order `scores` is published in (the key makes it total)."""
    return scores.take(pc.sort_indices(scores, _SORT_KEYS)).cast(SCORES.schema)


def key_column(table: pa.Table) -> pa.Array:
    """A score's key within its leaderboard as one string, each part written as
    `<byte length>:<text>` and a null as `!`: no two keys share a spelling."""
    parts = []
    for name in ("model_name", "precision", "model_sha", "occurrence", "benchmark"):
        text = table.column(name).cast(pa.string())
        length = pc.binary_length(text).cast(pa.string())
        parts.append(pc.fill_null(pc.binary_join_element_wise(length, text, ":"), "!"))
    key: pa.Array = pc.binary_join_element_wise(*parts, "")
    return key


def _with_key(table: pa.Table) -> pa.Table:
    return table.append_column(_KEY, key_column(table))


def _same(old: pa.ChunkedArray, new: pa.ChunkedArray) -> pa.ChunkedArray:
    """Exact, null-aware equality: null equals null, and nothing else."""
    both_null = pc.and_(pc.is_null(old), pc.is_null(new))
    return pc.or_(pc.fill_null(pc.equal(old, new), False), both_null)


def _close(intervals: pa.Table, export: Export) -> pa.Table:
    n = intervals.num_rows
    intervals = intervals.set_column(
        intervals.schema.get_field_index("valid_to"),
        SCORES.schema.field("valid_to"),
        pa.repeat(pa.scalar(export.date, pa.date32()), n),
    )
    return intervals.set_column(
        intervals.schema.get_field_index("valid_to_revision"),
        SCORES.schema.field("valid_to_revision"),
        pa.repeat(pa.scalar(export.revision, pa.string()), n),
    )


def _open(rows: pa.Table, export: Export) -> pa.Table:
    n = rows.num_rows
    validity = {
        "valid_from": pa.repeat(pa.scalar(export.date, pa.date32()), n),
        "valid_from_revision": pa.repeat(pa.scalar(export.revision, pa.string()), n),
        "valid_to": pa.nulls(n, pa.date32()),
        "valid_to_revision": pa.nulls(n, pa.string()),
    }
    columns = [validity[name] if name in validity else rows.column(name) for name in SCORES.columns]
    return pa.table(columns, schema=SCORES.schema).append_column(_KEY, rows.column(_KEY))
