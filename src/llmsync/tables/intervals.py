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
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from llmsync.tables.schemas import EXPORT_SCORES, SCORES

_SORT_KEYS = [
    *(
        (name, "ascending")
        for name in ("leaderboard", "model_name", "precision", "model_sha", "occurrence")
    ),
    ("benchmark", "ascending"),
    ("valid_from", "ascending"),
    ("valid_from_revision", "ascending"),
]
# The columns that, with the leaderboard, name a score's group: its key without `occurrence`.
_GROUP = ("model_name", "precision", "model_sha", "benchmark")
# Exports are applied in batches of about this many rows: a pass holds one
# batch's rows at once (peak memory), and a batch is large enough to spread the
# pass's fixed cost over many exports (the full history, 3.2 million rows, is
# 16 batches; a night's one export is one).
BATCH_ROWS = 200_000
_EPOCH = dt.date(1970, 1, 1)
# (source item, start export, end export, occurrence): one interval as `_Pass` makes it.
_Made = tuple[int, int, int, int]
# An item's value as compared: exact bits of value and raw value, and their nulls.
_ValueKey = tuple[int, int, bool, bool]
# An item as `_apply_group` reads it: (occurrence, value, item).
_Item = tuple[int, _ValueKey, int]
# An open interval there: (occurrence, value, item, start export or -1 for its own).
_Open = tuple[int, _ValueKey, int, int]


@dataclass(frozen=True)
class Export:
    """One export to apply: its leaderboard's `EXPORT_SCORES` rows at a revision."""

    leaderboard: str
    revision: str
    date: dt.date
    rows: pa.Table


def empty_scores() -> pa.Table:
    return SCORES.empty()


def extend(scores: pa.Table, exports: Iterable[Export]) -> pa.Table:
    """`scores` with each export applied in turn, oldest first; sorted by key.

    The exports are applied in one columnar pass per batch (`_Pass`), not one
    after another; as a group's intervals depend on its own rows alone, the
    table is the one that applying them one at a time gives.
    """
    is_open = pc.is_null(scores.column("valid_to"))
    closed = [scores.filter(pc.invert(is_open))]
    still_open = scores.filter(is_open)
    batch: list[Export] = []
    size = 0
    for export in exports:
        batch.append(export)
        size += export.rows.num_rows
        if size >= BATCH_ROWS:
            still_open = _Pass(still_open, batch).run(closed)
            batch, size = [], 0
            # Hand the batch's memory back now: the allocator would keep it (RSS).
            pa.default_memory_pool().release_unused()
    if batch:
        still_open = _Pass(still_open, batch).run(closed)
    return sort_scores(pa.concat_tables([*closed, still_open]))


class _Pass:
    """A batch of exports applied to the open intervals in one columnar pass.

    Each open interval and each export row is an item of its group (leaderboard
    and key without `occurrence`) at a position: its export's place among its
    leaderboard's exports in the batch (-1 for an open interval). Sorted by group
    and position, a group that never has two items at one position (almost every
    group) is a sequence of runs: an item continues the one before when it is at
    the next position and holds the same value. Each run is one interval, from
    its first item (an open interval keeps its start and occurrence) to the
    export after its last (open if none). The few groups with duplicates are
    applied export by export (`_apply_group`), as the module's rules say.
    """

    def __init__(self, open_intervals: pa.Table, exports: list[Export]) -> None:
        names = list(dict.fromkeys(export.leaderboard for export in exports))
        self.index = {name: i for i, name in enumerate(names)}
        taking_part = pc.is_in(open_intervals.column("leaderboard"), value_set=pa.array(names))
        self.passing = open_intervals.filter(pc.invert(taking_part))
        self.open = open_intervals.filter(taking_part)
        self.exports = exports
        self.export_board = np.array([self.index[e.leaderboard] for e in exports], dtype=np.int64)
        # The exports of each leaderboard in this batch, by position.
        self.numbers = [np.flatnonzero(self.export_board == b) for b in range(len(names))]
        self.count = np.array([len(numbers) for numbers in self.numbers], dtype=np.int64)
        self.export_position = np.empty(len(exports), dtype=np.int64)
        for numbers in self.numbers:
            self.export_position[numbers] = np.arange(len(numbers))
        self.dates = np.array([(e.date - _EPOCH).days for e in exports], dtype=np.int64)
        self.revisions = pa.array([e.revision for e in exports], pa.string())

    def run(self, closed: list[pa.Table]) -> pa.Table:
        """Appends the intervals this batch closed to `closed`; returns the open ones."""
        rows = [
            export.rows.select(EXPORT_SCORES.columns).cast(EXPORT_SCORES.schema)
            for export in self.exports
        ]
        items = pa.concat_tables(
            [self.open.select(EXPORT_SCORES.columns).cast(EXPORT_SCORES.schema), *rows]
        )
        n_open = self.open.num_rows
        sizes = np.array([table.num_rows for table in rows], dtype=np.int64)
        export_of = np.repeat(np.arange(len(rows), dtype=np.int64), sizes)
        open_board = pc.index_in(
            self.open.column("leaderboard"), value_set=pa.array(list(self.index))
        )
        board = np.concatenate(
            [np.asarray(open_board.to_numpy(), dtype=np.int64), self.export_board[export_of]]
        )
        position = np.concatenate(
            [np.full(n_open, -1, dtype=np.int64), self.export_position[export_of]]
        )
        self.board = board
        group = _group_codes(items, board)
        occurrence = np.asarray(items.column("occurrence").to_numpy(), dtype=np.int64)
        values = _Values(items)

        order = np.lexsort((occurrence, position, group))
        g, p = group[order], position[order]
        new_group = np.ones(len(order), dtype=bool)
        new_group[1:] = g[1:] != g[:-1]
        doubled = ~new_group
        doubled[1:] &= p[1:] == p[:-1]
        group_number = np.cumsum(new_group) - 1
        has_duplicates = np.zeros(len(order), dtype=bool)
        has_duplicates[group_number[doubled]] = True
        duplicated = has_duplicates[group_number]

        made = [
            self._runs(order[~duplicated], group, position, values),
            self._duplicated(order[duplicated], group, board, position, occurrence, values),
        ]
        intervals = self._intervals(
            items, *(np.concatenate(parts) for parts in zip(*made, strict=True))
        )
        ended = pc.is_valid(intervals.column("valid_to"))
        closed.append(intervals.filter(ended))
        return pa.concat_tables([self.passing, intervals.filter(pc.invert(ended))])

    def _runs(
        self, items: np.ndarray, group: np.ndarray, position: np.ndarray, values: _Values
    ) -> tuple[np.ndarray, ...]:
        """The intervals of groups without duplicates: one per run of items of
        one group at consecutive positions holding one value."""
        g, p = group[items], position[items]
        continues = np.zeros(len(items), dtype=bool)
        continues[1:] = (g[1:] == g[:-1]) & (p[1:] == p[:-1] + 1)
        continues[1:] &= values.equal(items[1:], items[:-1])
        starts = np.flatnonzero(~continues)
        ends = np.append(starts[1:] - 1, len(items) - 1)[: len(starts)]
        first, last = items[starts], items[ends]
        return (
            first,
            self._export_at(first, position[first]),
            self._export_at(last, position[last] + 1),
            np.full(len(first), -1, dtype=np.int64),
        )

    def _export_at(self, items: np.ndarray, position: np.ndarray) -> np.ndarray:
        """The export at `position` among the items' leaderboards' exports; -1
        before the first (an open interval's own start) and past the last (still open)."""
        board = self.board[items]
        found = np.full(len(items), -1, dtype=np.int64)
        inside = (position >= 0) & (position < self.count[board])
        for b in np.unique(board[inside]):
            at = inside & (board == b)
            found[at] = self.numbers[b][position[at]]
        return found

    def _duplicated(
        self,
        items: np.ndarray,
        group: np.ndarray,
        board: np.ndarray,
        position: np.ndarray,
        occurrence: np.ndarray,
        values: _Values,
    ) -> tuple[np.ndarray, ...]:
        """The intervals of groups with duplicates, each applied export by export."""
        made: list[_Made] = []
        keys = values.keys(items)
        g, b, p = group[items].tolist(), board[items].tolist(), position[items].tolist()
        o, numbers = occurrence[items].tolist(), items.tolist()
        start = 0
        while start < len(numbers):
            stop = start
            steps: dict[int, list[_Item]] = {}
            while stop < len(numbers) and g[stop] == g[start]:
                steps.setdefault(p[stop], []).append((o[stop], keys[stop], numbers[stop]))
                stop += 1
            exports = self.numbers[b[start]].tolist()
            made += _apply_group(steps, exports)
            start = stop
        table = np.array(made, dtype=np.int64).reshape(-1, 4)
        return tuple(table[:, column] for column in range(4))

    def _intervals(
        self,
        items: pa.Table,
        source: np.ndarray,
        start: np.ndarray,
        end: np.ndarray,
        number: np.ndarray,
    ) -> pa.Table:
        """`SCORES` rows: each `source` item's columns, valid from export `start`
        (-1: the open interval's own start) to export `end` (-1: still open), with
        occurrence `number` (-1: the item's own); the ones that hold no day dropped."""
        taken = items.take(pa.array(source))
        own = start < 0
        at = np.where(own, source, 0)
        open_days = _days(self.open.column("valid_from"))
        from_days = np.where(own, open_days[at] if len(open_days) else 0, self.dates[start])
        from_revision = pa.concat_arrays(
            [self.revisions, self.open.column("valid_from_revision").combine_chunks()]
        ).take(pa.array(np.where(own, len(self.exports) + at, start)))
        is_open = end < 0
        to_days = self.dates[end]
        keep = is_open | (from_days < to_days)
        own_number = np.asarray(taken.column("occurrence").to_numpy(), dtype=np.int64)
        columns = {
            "occurrence": pa.array(np.where(number < 0, own_number, number), pa.int32()),
            "valid_from": pa.array(from_days.astype(np.int32)).cast(pa.date32()),
            "valid_from_revision": from_revision,
            "valid_to": pa.array(to_days.astype(np.int32), mask=is_open).cast(pa.date32()),
            "valid_to_revision": self.revisions.take(pa.array(end, mask=is_open)),
        }
        table = pa.table(
            [columns[name] if name in columns else taken.column(name) for name in SCORES.columns],
            schema=SCORES.schema,
        )
        return table.filter(pa.array(keep))


def _apply_group(steps: dict[int, list[_Item]], exports: list[int]) -> list[_Made]:
    """One group's intervals, its items applied export by export: `steps` maps a
    position (-1: the open intervals) to its items (occurrence, value, item) in
    occurrence order; `exports` are the leaderboard's exports in the batch."""
    made: list[_Made] = []
    # Open intervals: (occurrence, value, item, start export or -1 for its own).
    state = [(o, key, item, -1) for o, key, item in steps.pop(-1, [])]
    previous = -1
    for position in sorted(steps):
        if state and position > previous + 1:
            # The export after the last one held none of the group's values.
            made += [(item, start, exports[previous + 1], o) for o, _, item, start in state]
            state = []
        state = _step(state, steps[position], exports[position], made)
        previous = position
    if state and previous + 1 < len(exports):
        made += [(item, start, exports[previous + 1], o) for o, _, item, start in state]
        state = []
    return made + [(item, start, -1, o) for o, _, item, start in state]


def _step(state: list[_Open], rows: list[_Item], export: int, made: list[_Made]) -> list[_Open]:
    """One group's open intervals after one export's rows of it (appending the
    intervals it closes to `made`): the n-th copy of a value in the export, in
    occurrence order, continues the n-th open interval of that value."""
    copies: dict[_ValueKey, int] = {}
    by_copy: dict[tuple[_ValueKey, int], _Open] = {}
    for entry in sorted(state):
        n = copies[entry[1]] = copies.get(entry[1], -1) + 1
        by_copy[entry[1], n] = entry
    copies.clear()
    continuing: list[_Open] = []
    new: list[_Item] = []
    for o, key, item in rows:
        n = copies[key] = copies.get(key, -1) + 1
        if (key, n) in by_copy:
            continuing.append(by_copy.pop((key, n)))
        else:
            new.append((o, key, item))
    made += [(item, start, export, o) for o, _, item, start in by_copy.values()]
    numbers = [o for o, _, _ in new]
    if continuing:
        # A new value keeps its own occurrence where no continuing interval
        # holds it, else takes the lowest free one, in occurrence order.
        taken = {entry[0] for entry in continuing}
        moved = []
        for i, number in enumerate(numbers):
            if number in taken:
                moved.append(i)
            else:
                taken.add(number)
        for i in moved:
            numbers[i] = next(n for n in range(len(taken) + 1) if n not in taken)
            taken.add(numbers[i])
    opened = [(n, key, item, export) for n, (_, key, item) in zip(numbers, new, strict=True)]
    return continuing + opened


class _Values:
    """The items' values as compared: exact bits (0.0 and -0.0 alike) and nulls."""

    def __init__(self, items: pa.Table) -> None:
        self.value, self.value_null = _bits(items.column("value"))
        self.raw, self.raw_null = _bits(items.column("raw_value"))

    def equal(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        same: np.ndarray = (
            (self.value[a] == self.value[b])
            & (self.raw[a] == self.raw[b])
            & (self.value_null[a] == self.value_null[b])
            & (self.raw_null[a] == self.raw_null[b])
        )
        return same

    def keys(self, items: np.ndarray) -> list[_ValueKey]:
        return list(
            zip(
                self.value[items].tolist(),
                self.raw[items].tolist(),
                self.value_null[items].tolist(),
                self.raw_null[items].tolist(),
                strict=True,
            )
        )


def _bits(column: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    array = column.combine_chunks()
    numbers = np.asarray(array.fill_null(0.0).to_numpy(zero_copy_only=False), dtype=np.float64)
    nulls = np.asarray(array.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    return (numbers + 0.0).view(np.uint64), nulls


def _group_codes(items: pa.Table, board: np.ndarray) -> np.ndarray:
    """One integer per item naming its group: equal iff leaderboard and key
    without occurrence are equal (a null equal to a null only)."""
    code = board.copy()
    span = int(board.max()) + 1 if len(board) else 1
    for name in _GROUP:
        # One dictionary across the chunks (Arrow unifies it), so no copy of the strings.
        chunks = pc.dictionary_encode(items.column(name), null_encoding="encode").chunks
        size = max(len(chunks[0].dictionary), 1) if chunks else 1
        indices = [np.asarray(chunk.indices.to_numpy(), dtype=np.int64) for chunk in chunks]
        if span * size >= 2**62:
            # Renumber densely before the product could overflow.
            _, code = np.unique(code, return_inverse=True)
            span = int(code.max()) + 1
        code = code * size + (np.concatenate(indices) if indices else 0)
        span *= size
    return code


def _days(column: pa.ChunkedArray) -> np.ndarray:
    days: np.ndarray = np.asarray(
        column.combine_chunks().cast(pa.int32()).to_numpy(zero_copy_only=False), dtype=np.int64
    )
    return days


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
