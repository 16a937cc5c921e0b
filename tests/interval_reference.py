"""The sequential interval builder llmsync used before the columnar pass: each
export applied in turn to its leaderboard's open intervals, exactly as the
rules in `llmsync.tables.intervals` state them. Kept here as the oracle the
columnar pass is checked against (tests/test_intervals.py), never shipped."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from llmsync.tables.intervals import Export, empty_scores, key_column, sort_scores
from llmsync.tables.schemas import SCORES

_KEY = "_key"


def extend_sequentially(scores: pa.Table, exports: Iterable[Export]) -> pa.Table:
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
    rows = export.rows
    if not isinstance(rows, pa.Table):
        rows = rows.long(export.leaderboard)  # the parse's columns, spread into rows
    # The n-th copy of a (key without occurrence, value, raw value) in the export
    # continues the n-th open interval of it, copies counted in occurrence order:
    # the multisets' intersection continues, and nothing else.
    found = pc.index_in(_copy_key(rows), value_set=_copy_key(open_intervals))
    matched = pc.is_valid(found)
    kept = found.filter(matched)
    ending = np.ones(open_intervals.num_rows, dtype=bool)
    ending[kept.to_numpy(zero_copy_only=False)] = False
    closed = _close(open_intervals.filter(pa.array(ending)), export)
    continuing = open_intervals.take(kept)
    new_rows = _renumbered(rows.filter(pc.invert(matched)), continuing)
    opened = _open(_with_key(new_rows), export)
    return pa.concat_tables([continuing, opened]), closed


def _copy_key(table: pa.Table) -> pa.Array:
    """Each row's (key without occurrence, exact value, exact raw value, copy
    number): the copy number counts equal rows in occurrence order."""
    values = [
        _exact(table.column("value")),
        _exact(table.column("raw_value")),
    ]
    same_value: pa.Array = pc.binary_join_element_wise(
        key_column(table, with_occurrence=False), *values, "|"
    )
    order = pc.sort_indices(
        pa.table({"k": same_value, "o": table.column("occurrence")}),
        [("k", "ascending"), ("o", "ascending")],
    ).to_numpy()
    copy = np.empty(len(order), dtype=np.int64)
    copy[order] = _rank_in_runs(same_value.take(pa.array(order)))
    joined: pa.Array = pc.binary_join_element_wise(
        same_value, pa.array(copy).cast(pa.string()), "#"
    )
    return joined


def _exact(column: pa.ChunkedArray) -> pa.Array:
    """A float column's exact bits as text (null as `!`); 0.0 and -0.0 alike."""
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    numbers = np.asarray(array.fill_null(0.0).to_numpy(zero_copy_only=False), dtype=np.float64)
    bits = pa.array((numbers + 0.0).view(np.uint64)).cast(pa.string())
    text: pa.Array = pc.if_else(pc.is_null(array), pa.scalar("!"), bits)
    return text


def _rank_in_runs(sorted_keys: pa.Array) -> np.ndarray:
    """For keys in sorted order, each one's position within its run of equal keys."""
    n = len(sorted_keys)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.ones(n, dtype=bool)
    same = pc.equal(sorted_keys[1:], sorted_keys[:-1]).to_numpy(zero_copy_only=False)
    starts[1:] = ~same
    positions = np.arange(n)
    rank: np.ndarray = positions - np.maximum.accumulate(np.where(starts, positions, 0))
    return rank


def _renumbered(rows: pa.Table, continuing: pa.Table) -> pa.Table:
    """`rows` (the new values) with occurrences that no continuing interval of
    their (key without occurrence) holds: their own where free, else the lowest free."""
    if rows.num_rows == 0 or continuing.num_rows == 0:
        return rows
    base = key_column(rows, with_occurrence=False)
    held = key_column(continuing, with_occurrence=False)
    clash = pc.is_in(base, value_set=held).to_numpy(zero_copy_only=False)
    if not clash.any():
        return rows
    used: dict[str, set[int]] = {}
    mask = pc.is_in(held, value_set=pc.unique(base.filter(pa.array(clash))))
    for key, number in zip(
        held.filter(mask).to_pylist(),
        continuing.column("occurrence").filter(mask).to_pylist(),
        strict=True,
    ):
        used.setdefault(key, set()).add(number)
    occurrence = rows.column("occurrence").to_numpy().copy()
    keys = base.to_pylist()
    # Rows of a clashing key, in their own occurrence order: first those whose
    # number is free keep it, then the others take the lowest free numbers.
    pending = sorted(np.flatnonzero(clash), key=lambda i: (keys[i], occurrence[i]))
    moved = []
    for i in pending:
        taken = used[keys[i]]
        if occurrence[i] in taken:
            moved.append(i)
        else:
            taken.add(int(occurrence[i]))
    for i in moved:
        taken = used[keys[i]]
        free = next(n for n in range(len(taken) + 1) if n not in taken)
        taken.add(free)
        occurrence[i] = free
    index = rows.schema.get_field_index("occurrence")
    return rows.set_column(index, rows.schema.field("occurrence"), pa.array(occurrence, pa.int32()))


def _with_key(table: pa.Table) -> pa.Table:
    return table.append_column(_KEY, key_column(table))


def _close(intervals: pa.Table, export: Export) -> pa.Table:
    # Opened on this export's date: it would hold for no day (see the module's note).
    day = pa.scalar(export.date, pa.date32())
    intervals = intervals.filter(pc.less(intervals.column("valid_from"), day))
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
