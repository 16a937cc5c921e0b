"""Checks a snapshot's tables must pass before anything is published."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence, Set
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from llmsync.tables.schemas import (
    BENCHMARKS,
    EXPORT_SCORES,
    LEADERBOARD_STATUSES,
    LEADERBOARDS,
    MODEL_STATUSES,
    REVISION_STATUSES,
    TABLES,
    TableSpec,
)


class ValidationError(ValueError):
    """A table is not fit to publish; the message says which and why."""


class RowLossError(ValidationError):
    """A table lost more rows against the previous snapshot than allowed."""


@dataclass(frozen=True)
class RowLossGuard:
    """Refuses a snapshot whose tables shrink by more than `max_loss` (a share).

    Scrapers that publish whatever came back publish empty tables on a bad
    night; a sudden loss of rows is far likelier a fault than the truth.
    """

    max_loss: float = 0.10
    allow: bool = False

    def check(self, *, previous_rows: Mapping[str, int], current_rows: Mapping[str, int]) -> None:
        if self.allow:
            return
        for name, before in previous_rows.items():
            # `changes` is a diff: its size says nothing about data loss.
            if name == "changes" or before <= 0 or name not in current_rows:
                continue
            after = current_rows[name]
            lost = (before - after) / before
            if lost > self.max_loss:
                raise RowLossError(
                    f"{name} would lose {lost:.0%} of its rows ({before} -> {after}), "
                    f"over the {self.max_loss:.0%} allowed; rerun with --allow-row-loss "
                    "to publish anyway"
                )


def _check_schema(spec: TableSpec, table: pa.Table) -> pa.Table:
    missing = [name for name in spec.schema.names if name not in table.column_names]
    if missing:
        raise ValidationError(f"{spec.name}: missing column(s) {', '.join(missing)}")
    extra = [name for name in table.column_names if name not in spec.schema.names]
    if extra:
        raise ValidationError(f"{spec.name}: unexpected column(s) {', '.join(extra)}")
    table = table.select(spec.schema.names)
    # Nulls first: a cast to a non-nullable field fails with a vaguer message.
    _check_not_null(spec, table)
    try:
        return table.cast(spec.schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError, ValueError) as exc:
        raise ValidationError(f"{spec.name}: column types do not match the schema: {exc}") from exc


def _check_not_null(spec: TableSpec, table: pa.Table) -> None:
    for schema_field in spec.schema:
        if schema_field.nullable:
            continue
        nulls = table.column(schema_field.name).null_count
        if nulls:
            raise ValidationError(
                f"{spec.name}: column {schema_field.name} has {nulls} null value(s)"
            )


# Row codes stay below this bound, far from int64's end (see `_key_codes`).
_CODE_BOUND = 1 << 62


def _key_codes(table: pa.Table, key: Sequence[str]) -> np.ndarray:
    """One int64 per row, equal for two rows exactly when their keys are equal
    (null equal to null): each key column's dictionary codes, combined.

    Sorting these replaces a `group_by`, which would import pyarrow.acero
    (pyarrow.dataset and pandas with it) and hash the key's strings again."""
    codes, bound = np.zeros(table.num_rows, dtype=np.int64), 1
    for name in key:
        encoded = pc.dictionary_encode(table.column(name).combine_chunks(), null_encoding="encode")
        size = max(len(encoded.dictionary), 1)
        if bound * size >= _CODE_BOUND:
            # Renumber the codes so far 0..n-1 (n distinct keys so far, at
            # most one per row) before the next column multiplies them.
            distinct, codes = np.unique(codes, return_inverse=True)
            bound = len(distinct)
        codes = codes * size + encoded.indices.to_numpy(zero_copy_only=False)
        bound *= size
    return codes


def _check_unique_key(spec: TableSpec, table: pa.Table) -> None:
    if not spec.key or table.num_rows == 0:
        return
    codes = _key_codes(table, spec.key)
    ordered = np.sort(codes)
    repeated = np.unique(ordered[1:][ordered[1:] == ordered[:-1]])
    if len(repeated):
        # The first row holding a duplicated key, as an example.
        first = int(np.flatnonzero(np.isin(codes, repeated))[0])
        example = {name: table.column(name)[first].as_py() for name in spec.key}
        raise ValidationError(
            f"{spec.name}: {len(repeated)} duplicate key(s) on "
            f"({', '.join(spec.key)}), e.g. {example}"
        )


def _check_allowed(table_name: str, column: pa.ChunkedArray, allowed: set[str], label: str) -> None:
    values = {value for value in pc.unique(column).to_pylist() if value is not None}
    unknown = sorted(values - allowed)
    if unknown:
        raise ValidationError(f"{table_name}: unknown {label} {', '.join(map(str, unknown[:5]))}")


def _check_score_range(table: pa.Table, column_name: str, table_name: str) -> None:
    column = table.column(column_name)
    if column.null_count == len(column):
        return
    low, high = pc.min(column).as_py(), pc.max(column).as_py()
    if low is not None and (low < 0 or high > 100):
        raise ValidationError(
            f"{table_name}: column {column_name} holds values outside 0-100 (min {low}, max {high})"
        )


def _check_intervals(scores: pa.Table) -> None:
    """Each interval ends after it starts, names the revision that ends it, and
    no key has two open intervals."""
    valid_to = scores.column("valid_to")
    # An interval ending on the day it starts holds for no day: never written.
    backwards = pc.sum(pc.less_equal(valid_to, scores.column("valid_from"))).as_py() or 0
    if backwards:
        raise ValidationError(f"scores: {backwards} interval(s) end on or before their start")
    unnamed = pc.sum(pc.xor(pc.is_null(valid_to), pc.is_null(scores["valid_to_revision"]))).as_py()
    if unnamed:
        raise ValidationError(
            f"scores: {unnamed} interval(s) with only one of valid_to and valid_to_revision"
        )
    open_spec = TableSpec("scores (open intervals)", scores.schema, EXPORT_SCORES.key)
    _check_unique_key(open_spec, scores.filter(pc.is_null(valid_to)))


def _check_scores(scores: pa.Table) -> None:
    _check_score_range(scores, "value", "scores")
    _check_intervals(scores)
    _check_allowed("scores", scores.column("leaderboard"), set(LEADERBOARDS), "leaderboard(s)")
    all_benchmarks = {b for names in BENCHMARKS.values() for b in names}
    _check_allowed("scores", scores.column("benchmark"), all_benchmarks, "benchmark(s)")


def _check_catalog(catalog: pa.Table) -> None:
    for leaderboard in LEADERBOARDS:
        for benchmark in BENCHMARKS[leaderboard]:
            _check_score_range(catalog, f"{leaderboard}_{benchmark}", "catalog")


# The checks of one table beyond its schema and key.
_TABLE_CHECKS: dict[str, Callable[[pa.Table], None]] = {
    "scores": _check_scores,
    "models": lambda t: _check_allowed("models", t["status"], set(MODEL_STATUSES), "status"),
    "revisions": lambda t: _check_allowed(
        "revisions", t["status"], set(REVISION_STATUSES), "status"
    ),
    "leaderboards": lambda t: _check_allowed(
        "leaderboards", t["status"], set(LEADERBOARD_STATUSES), "status"
    ),
    "catalog": _check_catalog,
}


def validate_tables(
    tables: Mapping[str, pa.Table], *, proven: Set[str] = frozenset()
) -> dict[str, pa.Table]:
    """Check every table against its schema; return them cast to it.

    `proven`: tables whose published bytes are those of a table that passed
    every check before (the caller compared their sha256 with the previous
    snapshot's, written by this llmsync): only their schema is checked again."""
    checked: dict[str, pa.Table] = {}
    for name, spec in TABLES.items():
        if name not in tables:
            raise ValidationError(f"table {name} is missing")
        table = _check_schema(spec, tables[name])
        if name not in proven:
            _check_unique_key(spec, table)
            _TABLE_CHECKS.get(name, lambda _: None)(table)
        checked[name] = table
    return checked
