"""The columnar pass: a batch of exports applied to open intervals at once,
by the rules `tables.intervals` states (multisets, occurrence, no empty interval).

Every open interval and every upstream row of the batch's exports is an
*entry*: its leaderboard and identity (model name, precision, model sha),
encoded once as one integer, its position (its export's place among its
leaderboard's exports in the batch; -1 for an open interval) and occurrence.
The entries are sorted once by (identity, position, occurrence); each
benchmark's *items* (the entries holding a value of it) are then that order
filtered, so a group (identity and benchmark) is a contiguous run of items
sorted by position without a sort per benchmark. Only numbers move until the
end, when the items that start an interval are taken with their strings.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from llmsync.tables.export_rows import IDENTITY, ExportRows, identity_codes
from llmsync.tables.interval_duplicates import Item, Made, ValueKey, apply_group
from llmsync.tables.repo_ids import namespaced_repo_ids
from llmsync.tables.schemas import EXPORT_SCORES, SCORES

_EPOCH = dt.date(1970, 1, 1)


@dataclass(frozen=True)
class Export:
    """One export to apply: its leaderboard's rows at a revision, as
    `EXPORT_SCORES` rows or as the parse gives them (`ExportRows`)."""

    leaderboard: str
    revision: str
    date: dt.date
    rows: pa.Table | ExportRows

    @property
    def num_values(self) -> int:
        """Its (row, benchmark) values: what a batch is measured in."""
        if isinstance(self.rows, ExportRows):
            return self.rows.num_values
        return int(self.rows.num_rows)


class _Column(NamedTuple):
    """One benchmark's values in one block: the values (0 where null) and
    their nulls, the raw values and theirs, and which entries hold it."""

    value: np.ndarray
    value_null: np.ndarray
    raw: np.ndarray
    raw_null: np.ndarray
    present: np.ndarray


@dataclass(frozen=True)
class _Block:
    """The entries of one source (the open intervals, or one export): their
    identity, their repo ids (None: derived from the name, as the parse
    would), and each benchmark's values."""

    identity: pa.Table
    repo_ids: pa.Array | None
    columns: dict[str, _Column]


def _block(rows: pa.Table | ExportRows) -> _Block:
    if isinstance(rows, ExportRows):
        # A row holds a benchmark where it has a value; a held value is never
        # null. (The NaN of an empty cell is never read: only held items are.)
        present = ~np.isnan(rows.values)
        never = np.zeros(rows.identity.num_rows, dtype=bool)
        columns = {
            name: _Column(rows.values[j], never, rows.raws[j], rows.raw_nulls[j], present[j])
            for j, name in enumerate(rows.benchmarks)
        }
        return _Block(rows.identity.cast(IDENTITY), None, columns)
    # `EXPORT_SCORES` rows (or open intervals): each row holds one benchmark,
    # whatever its value.
    table = rows.select(EXPORT_SCORES.columns).cast(EXPORT_SCORES.schema)
    benchmark = pc.dictionary_encode(table.column("benchmark").combine_chunks())
    codes = np.asarray(benchmark.indices.to_numpy(zero_copy_only=False))
    value, value_null = _numbers(table.column("value"))
    raw, raw_null = _numbers(table.column("raw_value"))
    return _Block(
        table.select(IDENTITY.names),
        table.column("repo_id").combine_chunks(),
        {
            name: _Column(value, value_null, raw, raw_null, codes == i)
            for i, name in enumerate(benchmark.dictionary.to_pylist())
        },
    )


class Pass:
    """A batch of exports applied to the open intervals in one columnar pass.

    Sorted by group and position, a group that never has two items at one
    position (almost every group) is a sequence of runs: an item continues the
    one before when it is at the next position and holds the same value. Each
    run is one interval, from its first item (an open interval keeps its start
    and occurrence) to the export after its last (open if none). The few groups
    with duplicates are applied export by export (`interval_duplicates`), as the rules say.
    """

    def __init__(self, scores: pa.Table, dropped: np.ndarray, exports: list[Export]) -> None:
        """`scores` but its `dropped` rows: the intervals so far."""
        names = list(dict.fromkeys(export.leaderboard for export in exports))
        self.names = pa.array(names, pa.string())
        # The open intervals of the batch's leaderboards take part (a copy of
        # them alone); every other row stays where it is, untouched.
        taking_part = pc.and_(
            pc.is_null(scores.column("valid_to")),
            pc.is_in(scores.column("leaderboard"), value_set=self.names),
        )
        taking = np.asarray(taking_part.to_numpy(), dtype=bool) & ~dropped
        self.open = scores.filter(pa.array(taking))
        self.open_rows = np.flatnonzero(taking)
        # The rows of `scores` the pass's intervals replace (set by `run`).
        self.replaced = taking
        self.exports = exports
        index = {name: i for i, name in enumerate(names)}
        self.export_board = np.array([index[e.leaderboard] for e in exports], dtype=np.int64)
        # The exports of each leaderboard in this batch, by position.
        self.numbers = [np.flatnonzero(self.export_board == b) for b in range(len(names))]
        self.count = np.array([len(numbers) for numbers in self.numbers], dtype=np.int64)
        self.export_position = np.empty(len(exports), dtype=np.int64)
        for numbers in self.numbers:
            self.export_position[numbers] = np.arange(len(numbers))
        self.dates = np.array([(e.date - _EPOCH).days for e in exports], dtype=np.int64)
        self.revisions = pa.array([e.revision for e in exports], pa.string())

    def run(self) -> pa.Table:
        """The intervals of the open ones taking part and the batch's exports,
        closed and open (unsorted): they replace the rows `replaced`. An open
        interval that goes on as it was is no new row: its row stays."""
        blocks = [_block(self.open), *(_block(export.rows) for export in self.exports)]
        sizes = np.array([block.identity.num_rows for block in blocks], dtype=np.int64)
        n_open = int(sizes[0])
        open_board = pc.index_in(self.open.column("leaderboard"), value_set=self.names)
        self.board = np.concatenate(
            [
                np.asarray(open_board.to_numpy(), dtype=np.int64),
                np.repeat(self.export_board, sizes[1:]),
            ]
        )
        self.position = np.concatenate(
            [np.full(n_open, -1, dtype=np.int64), np.repeat(self.export_position, sizes[1:])]
        )
        identity = pa.concat_tables([block.identity for block in blocks])
        self.group, name_codes, dictionary = identity_codes(identity, start=self.board)
        names = _Names(name_codes, dictionary)
        self.occurrence = np.asarray(identity.column("occurrence").to_numpy(), dtype=np.int64)
        order = np.lexsort((self.occurrence, self.position, self.group))

        benchmarks = list(dict.fromkeys(name for block in blocks for name in block.columns))
        made: list[tuple[np.ndarray, ...]] = []
        for which, benchmark in enumerate(benchmarks):
            values = _Values.of(benchmark, blocks, sizes)
            items = order[values.present[order]]
            intervals = self._apply(items, values)
            made.append((*intervals, np.full(len(intervals[0]), which), *values.at(intervals[0])))
        columns = [np.concatenate(parts) for parts in zip(*made, strict=True)] if made else []
        if columns:
            source, start, end, occurrence = columns[:4]
            as_it_was = (source < n_open) & (start < 0) & (end < 0)
            as_it_was &= (occurrence < 0) | (occurrence == self.occurrence[source])
            self.replaced = self.replaced.copy()
            self.replaced[self.open_rows[source[as_it_was]]] = False
            columns = [column[~as_it_was] for column in columns]
        return self._intervals(identity, blocks, sizes, names, benchmarks, columns)

    def _apply(self, items: np.ndarray, values: _Values) -> tuple[np.ndarray, ...]:
        """One benchmark's intervals: (source entry, start, end, occurrence)."""
        g, p = self.group[items], self.position[items]
        new_group = np.ones(len(items), dtype=bool)
        new_group[1:] = g[1:] != g[:-1]
        doubled = ~new_group
        doubled[1:] &= p[1:] == p[:-1]
        group_number = np.cumsum(new_group) - 1
        has_duplicates = np.zeros(len(items), dtype=bool)
        has_duplicates[group_number[doubled]] = True
        duplicated = has_duplicates[group_number]
        # An item continues the one before it: same group, next position, same
        # value. A group is wholly on one side of `duplicated`, so among the
        # groups without duplicates this reads the same as among all items.
        continues = np.zeros(len(items), dtype=bool)
        continues[1:] = ~new_group[1:] & (p[1:] == p[:-1] + 1)
        continues[1:] &= values.same_as_previous(items)
        single = ~duplicated
        made = [
            self._runs(items[single], p[single], continues[single]),
            self._duplicated(items[duplicated], values),
        ]
        return tuple(np.concatenate(parts) for parts in zip(*made, strict=True))

    def _runs(
        self, items: np.ndarray, position: np.ndarray, continues: np.ndarray
    ) -> tuple[np.ndarray, ...]:
        """The intervals of groups without duplicates: one per run of items of
        one group at consecutive positions holding one value."""
        starts = np.flatnonzero(~continues)
        ends = np.append(starts[1:] - 1, len(items) - 1)[: len(starts)]
        first, last = items[starts], items[ends]
        return (
            first,
            self._export_at(first, position[starts]),
            self._export_at(last, position[ends] + 1),
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

    def _duplicated(self, items: np.ndarray, values: _Values) -> tuple[np.ndarray, ...]:
        """The intervals of groups with duplicates, each applied export by export."""
        made: list[Made] = []
        keys = values.keys(items)
        g, b = self.group[items].tolist(), self.board[items].tolist()
        p, o = self.position[items].tolist(), self.occurrence[items].tolist()
        numbers = items.tolist()
        start = 0
        while start < len(numbers):
            stop = start
            steps: dict[int, list[Item]] = {}
            while stop < len(numbers) and g[stop] == g[start]:
                steps.setdefault(p[stop], []).append((o[stop], keys[stop], numbers[stop]))
                stop += 1
            made += apply_group(steps, self.numbers[b[start]].tolist())
            start = stop
        table = np.array(made, dtype=np.int64).reshape(-1, 4)
        return tuple(table[:, column] for column in range(4))

    def _intervals(
        self,
        identity: pa.Table,
        blocks: list[_Block],
        sizes: np.ndarray,
        names: _Names,
        benchmarks: list[str],
        columns: list[np.ndarray],
    ) -> pa.Table:
        """`SCORES` rows: each source entry's identity and values, valid from
        export `start` (-1: the open interval's own start) to export `end` (-1:
        still open), with occurrence `number` (-1: the entry's own); the ones
        that hold no day left out."""
        if not columns:
            return SCORES.empty()
        own = columns[1] < 0
        at = np.where(own, columns[0], 0)
        open_days = _days(self.open.column("valid_from"))
        from_days = np.where(own, open_days[at] if len(open_days) else 0, self.dates[columns[1]])
        to_days = self.dates[columns[2]]
        # Only the intervals that hold a day are made into rows.
        keep = (columns[2] < 0) | (from_days < to_days)
        source, start, end, number, benchmark, value, value_null, raw, raw_null = (
            column[keep] for column in columns
        )
        own, at, from_days, to_days = own[keep], at[keep], from_days[keep], to_days[keep]
        taken = identity.take(pa.array(source))
        from_revision = pa.concat_arrays(
            [self.revisions, self.open.column("valid_from_revision").combine_chunks()]
        ).take(pa.array(np.where(own, len(self.exports) + at, start)))
        is_open = end < 0
        own_number = np.asarray(taken.column("occurrence").to_numpy(), dtype=np.int64)
        columns_by_name = {
            "leaderboard": self.names.take(pa.array(self.board[source])),
            "repo_id": names.repo_ids(source, blocks, sizes),
            "benchmark": pa.array(benchmarks, pa.string()).take(pa.array(benchmark)),
            "value": pa.array(value, mask=value_null),
            "raw_value": pa.array(raw, mask=raw_null),
            "occurrence": pa.array(np.where(number < 0, own_number, number), pa.int32()),
            "valid_from": pa.array(from_days.astype(np.int32)).cast(pa.date32()),
            "valid_from_revision": from_revision,
            "valid_to": pa.array(to_days.astype(np.int32), mask=is_open).cast(pa.date32()),
            "valid_to_revision": self.revisions.take(pa.array(end, mask=is_open)),
        }
        table = pa.table(
            [
                columns_by_name[name] if name in columns_by_name else taken.column(name)
                for name in SCORES.columns
            ],
            schema=SCORES.schema,
        )
        return table


@dataclass(frozen=True)
class _Names:
    """The batch's model names as dictionary codes, and the repo ids of the
    distinct names (checked once each, for the entries that derive theirs)."""

    codes: np.ndarray
    dictionary: pa.Array

    def repo_ids(self, source: np.ndarray, blocks: list[_Block], sizes: np.ndarray) -> pa.Array:
        derived = namespaced_repo_ids(self.dictionary).take(pa.array(self.codes[source]))
        if all(block.repo_ids is None for block in blocks):
            return derived
        given = pa.chunked_array(
            [
                block.repo_ids if block.repo_ids is not None else pa.nulls(size, pa.string())
                for block, size in zip(blocks, sizes.tolist(), strict=True)
            ],
            pa.string(),
        ).take(pa.array(source))
        is_given = np.repeat([block.repo_ids is not None for block in blocks], sizes)[source]
        return pc.if_else(pa.array(is_given), given, derived)


@dataclass(frozen=True)
class _Values:
    """One benchmark's values over all entries: which entries hold it, the
    values and raw values as they are with their nulls (for the intervals'
    rows), and as compared (`bits`: exact bits, 0.0 and -0.0 alike; `nulls`:
    1 for a null value, 2 for a null raw value)."""

    present: np.ndarray
    value: np.ndarray
    value_null: np.ndarray
    raw: np.ndarray
    raw_null: np.ndarray
    bits: tuple[np.ndarray, np.ndarray]
    nulls: np.ndarray

    @classmethod
    def of(cls, benchmark: str, blocks: list[_Block], sizes: np.ndarray) -> _Values:
        parts = [block.columns.get(benchmark) for block in blocks]
        empty = {size: np.zeros(size, dtype=bool) for size in set(sizes.tolist())}

        def joined(field: int) -> np.ndarray:
            return np.concatenate(
                [
                    part[field] if part is not None else empty[size]
                    for part, size in zip(parts, sizes.tolist(), strict=True)
                ]
            )

        value, value_null, raw, raw_null, present = (joined(field) for field in range(5))
        value, raw = value.astype(np.float64, copy=False), raw.astype(np.float64, copy=False)
        nulls = value_null.astype(np.uint8) | (raw_null.astype(np.uint8) << 1)
        return cls(present, value, value_null, raw, raw_null, (_bits(value), _bits(raw)), nulls)

    def at(self, items: np.ndarray) -> tuple[np.ndarray, ...]:
        """The items' values and nulls, as they are (for the intervals' rows)."""
        return self.value[items], self.value_null[items], self.raw[items], self.raw_null[items]

    def same_as_previous(self, items: np.ndarray) -> np.ndarray:
        """Whether each item but the first holds the value the one before holds."""
        same = np.ones(max(len(items) - 1, 0), dtype=bool)
        for column in (*self.bits, self.nulls):
            taken = column[items]
            same &= taken[1:] == taken[:-1]
        return same

    def keys(self, items: np.ndarray) -> list[ValueKey]:
        nulls = self.nulls[items]
        return list(
            zip(
                self.bits[0][items].tolist(),
                self.bits[1][items].tolist(),
                (nulls & 1).astype(bool).tolist(),
                (nulls & 2).astype(bool).tolist(),
                strict=True,
            )
        )


def _numbers(column: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """A column's values (0 where null) and its nulls, as numpy."""
    nulls = np.asarray(column.is_null().to_numpy(), dtype=bool)
    numbers = np.asarray(column.fill_null(0.0).to_numpy(), dtype=np.float64)
    return numbers, nulls


def _bits(numbers: np.ndarray) -> np.ndarray:
    """Exact bits, with -0.0 as 0.0 (adding 0.0 turns -0.0 into 0.0)."""
    bits: np.ndarray = (numbers + 0.0).view(np.uint64)
    return bits


def _days(column: pa.ChunkedArray) -> np.ndarray:
    days: np.ndarray = np.asarray(
        column.combine_chunks().cast(pa.int32()).to_numpy(zero_copy_only=False), dtype=np.int64
    )
    return days
