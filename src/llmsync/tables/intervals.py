"""`scores` as intervals: pure functions of Arrow tables.

An export's rows (`EXPORT_SCORES`) are applied to its leaderboard's open
intervals. Within one (model_name, precision, model_sha, benchmark), the
export's values are matched to the open intervals' values as multisets: a value
(with its raw value) present in both extends its interval, whatever the
export's row order or duplicates (nothing is written); an open interval left
unmatched closes at the export (`valid_to` = its date); every unmatched row
opens a new interval. Closed intervals are never touched again, so applying
exports one sync at a time gives the very table that applying them all at once
gives.

`occurrence` tells apart the intervals open at once for one (model_name,
precision, model_sha, benchmark): a continuing value keeps its occurrence, so
a duplicate row that arrives or changes never re-ranks its unchanged siblings.
A new value keeps the occurrence the export's parse gave its row (the row's
rank among its duplicates) where no continuing interval holds that number,
else takes the lowest free one.

An interval opened and closed on one date (two exports of one day) held for no
day of the as-of view: it is dropped, never written as an empty interval.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from llmsync.tables.interval_pass import Export as Export
from llmsync.tables.interval_pass import Pass
from llmsync.tables.schemas import EXPORT_SCORES, SCORES
from llmsync.tables.score_order import merged
from llmsync.tables.score_order import sort_scores as sort_scores

# Exports are applied in batches of about this many (row, benchmark) values:
# a pass holds one batch's exports at once (peak memory), and a batch is large
# enough to spread the pass's fixed cost over many exports (the full history,
# 3.2 million values, is three batches; a night's one export is one).
BATCH_ROWS = 1_500_000


def empty_scores() -> pa.Table:
    return SCORES.empty()


def extend(scores: pa.Table, exports: Iterable[Export]) -> pa.Table:
    """`scores` with each export applied in turn, oldest first; sorted by key.

    The exports are applied in one columnar pass per batch
    (`tables.interval_pass`), not one after another; as a group's intervals
    depend on its own rows alone, the table is the one that applying them one
    at a time gives.
    """
    # The table so far: these tables' rows but the `dropped` ones (open
    # intervals a later pass replaced), put in order once at the end
    # (`score_order.merged`): no row is copied before then but the open
    # intervals that take part in a pass.
    tables = [scores.cast(SCORES.schema)]
    dropped = np.zeros(scores.num_rows, dtype=bool)
    batch: list[Export] = []
    size = 0
    for export in exports:
        batch.append(export)
        size += export.num_values
        if size >= BATCH_ROWS:
            dropped = _apply(tables, dropped, batch)
            batch, size = [], 0
            # Hand the batch's memory back now: the allocator would keep it (RSS).
            pa.default_memory_pool().release_unused()
    if batch:
        dropped = _apply(tables, dropped, batch)
    new = pa.concat_tables(tables[1:]) if len(tables) > 1 else empty_scores()
    return merged(tables[0], new, dropped=dropped)


def _apply(tables: list[pa.Table], dropped: np.ndarray, batch: list[Export]) -> np.ndarray:
    """Appends the batch's intervals to `tables`; returns the rows dropped since."""
    applied = Pass(pa.concat_tables(tables), dropped, batch)
    made = applied.run()
    tables.append(made)
    return np.concatenate([dropped | applied.replaced, np.zeros(made.num_rows, dtype=bool)])


def as_of(scores: pa.Table, date: dt.date) -> pa.Table:
    """Every leaderboard's rows as of `date` (`EXPORT_SCORES`)."""
    day = pa.scalar(date, pa.date32())
    started = pc.less_equal(scores.column("valid_from"), day)
    not_ended = pc.or_kleene(
        pc.is_null(scores.column("valid_to")), pc.greater(scores.column("valid_to"), day)
    )
    return scores.filter(pc.and_(started, not_ended)).select(EXPORT_SCORES.columns)


def key_column(table: pa.Table, *, with_occurrence: bool = True) -> pa.Array:
    """A score's key within its leaderboard as one string, each part written as
    `<byte length>:<text>` and a null as `!`: no two keys share a spelling."""
    parts = []
    names = ("model_name", "precision", "model_sha", "occurrence", "benchmark")
    for name in names if with_occurrence else [n for n in names if n != "occurrence"]:
        text = table.column(name).cast(pa.string())
        length = pc.binary_length(text).cast(pa.string())
        parts.append(pc.fill_null(pc.binary_join_element_wise(length, text, ":"), "!"))
    key: pa.Array = pc.binary_join_element_wise(*parts, "")
    return key
