"""The one order `scores` is published in, and how a night keeps it without
sorting the whole table again.

A night's pass changes few rows of a table already in that order (the
previous snapshot's): it closes some open intervals and opens some. Those
rows, with every other row of their (leaderboard, model name), are sorted
alone and merged back between the rows that did not move. A table that is
not in order by (leaderboard, model name) is sorted whole instead.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from llmsync.tables.schemas import SCORES

_SORT_KEYS = [
    *(
        (name, "ascending")
        for name in ("leaderboard", "model_name", "precision", "model_sha", "occurrence")
    ),
    ("benchmark", "ascending"),
    ("valid_from", "ascending"),
    ("valid_from_revision", "ascending"),
]


def sort_scores(scores: pa.Table) -> pa.Table:
    """The one order `scores` is published in (the key makes it total)."""
    order = np.asarray(pc.sort_indices(scores, _SORT_KEYS).to_numpy(), dtype=np.int64)
    return _taken(scores, order)


def merged(ordered: pa.Table, new: pa.Table, *, dropped: np.ndarray) -> pa.Table:
    """The rows of `ordered` (in the published order) and of `new` but the
    `dropped` ones (a mask over both, `ordered` first), in the published
    order, in one copy."""
    n = ordered.num_rows
    both = pa.concat_tables([ordered.cast(SCORES.schema), new.cast(SCORES.schema)])
    if dropped[:n].all() or not _in_name_order(ordered):
        order = np.asarray(pc.sort_indices(both, _SORT_KEYS).to_numpy(), dtype=np.int64)
        return _taken(both, order[~dropped[order]])
    arriving = np.flatnonzero(~dropped[n:])
    # Where each new row's (leaderboard, model name) begins in `ordered`; the
    # rows of `ordered` that share one with a new row move, the others stay.
    starts, ends = _runs_of(ordered, new.take(pa.array(arriving)))
    in_run = np.zeros(n + 1, dtype=np.int64)
    np.add.at(in_run, starts, 1)
    np.add.at(in_run, ends, -1)
    moves = np.cumsum(in_run[:-1]) > 0
    staying = np.flatnonzero(~moves & ~dropped[:n])
    movers = np.flatnonzero(moves & ~dropped[:n])
    # The moving rows and the new ones, sorted alone (a few thousand a night).
    alone = np.concatenate([movers, n + arriving])
    order = np.asarray(
        pc.sort_indices(both.take(pa.array(alone)), _SORT_KEYS).to_numpy(), dtype=np.int64
    )
    # Each sorted row goes before the staying rows from where its (leaderboard,
    # model name) begins on; that place never falls along the sort.
    mover_starts, _ = _runs_of(ordered, ordered.take(pa.array(movers)))
    begins = np.concatenate([mover_starts, starts])[order]
    final = np.empty(len(staying) + len(alone), dtype=np.int64)
    final[np.arange(len(alone)) + np.searchsorted(staying, begins, side="left")] = alone[order]
    final[np.arange(len(staying)) + np.searchsorted(begins, staying, side="right")] = staying
    return _taken(both, final)


def _runs_of(ordered: pa.Table, rows: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    """Where each row's (leaderboard, model name) begins and ends in `ordered`
    (an empty run where `ordered` has none: where it would go)."""
    starts = np.zeros(rows.num_rows, dtype=np.int64)
    ends = np.zeros(rows.num_rows, dtype=np.int64)
    boards = ordered.column("leaderboard")
    row_boards = rows.column("leaderboard")
    for board in pc.unique(row_boards).to_pylist():
        low = int(pc.search_sorted(boards, pa.scalar(board), side="left").as_py())
        high = int(pc.search_sorted(boards, pa.scalar(board), side="right").as_py())
        names = ordered.column("model_name").slice(low, high - low)
        mine = np.asarray(pc.equal(row_boards, board).to_numpy(), dtype=bool)
        wanted = rows.column("model_name").filter(pa.array(mine))
        starts[mine] = low + np.asarray(pc.search_sorted(names, wanted, side="left").to_numpy())
        ends[mine] = low + np.asarray(pc.search_sorted(names, wanted, side="right").to_numpy())
    return starts, ends


def _in_name_order(table: pa.Table) -> bool:
    """Whether `table` is in order by (leaderboard, model name): what the
    merge relies on (a table written by this code always is)."""
    if table.num_rows < 2:
        return True
    board = table.column("leaderboard")
    name = table.column("model_name")
    first, then = board.slice(0, len(board) - 1), board.slice(1)
    same_board = pc.equal(first, then)
    rising = pc.or_(
        pc.less(first, then),
        pc.and_(same_board, pc.less_equal(name.slice(0, len(name) - 1), name.slice(1))),
    )
    return bool(pc.all(rising).as_py())


def _taken(table: pa.Table, order: np.ndarray) -> pa.Table:
    return table.take(pa.array(order, pa.int64())).cast(SCORES.schema)
