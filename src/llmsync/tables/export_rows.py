"""One export's scores as parsed, before they are spread into (row, benchmark) rows.

The parse gives each upstream row once (its identity) and each benchmark's
values as one column. The interval pass (`tables.intervals`) reads this form as
it is: the identity's strings are encoded once per row, not once per
(row, benchmark), and only the rows that start an interval are ever copied.
`long` gives the `EXPORT_SCORES` rows for any other reader.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from llmsync.tables.repo_ids import namespaced_repo_ids
from llmsync.tables.schemas import EXPORT_SCORES

# The identity's columns, one row per upstream row: `EXPORT_SCORES`' identity
# without what the export, the benchmark and the name give (`leaderboard`,
# `benchmark`, `repo_id`).
IDENTITY = pa.schema(
    [
        EXPORT_SCORES.schema.field(name)
        for name in ("model_name", "precision", "model_sha", "occurrence")
    ]
)


@dataclass(frozen=True)
class ExportRows:
    """An export's rows: `identity` (`IDENTITY`, upstream order) and, per
    benchmark in display order, one row of `values` (float64, NaN where the
    row holds no value of it: a score is never NaN, the parse refuses one),
    of `raws` (0 where null) and of `raw_nulls`. Numbers are held as numpy
    arrays: the parse makes them in its threads, the pass reads them as is."""

    identity: pa.Table
    benchmarks: tuple[str, ...]
    values: np.ndarray
    raws: np.ndarray
    raw_nulls: np.ndarray

    @property
    def num_values(self) -> int:
        """How many (row, benchmark) values the export may hold (its empty
        cells counted too: counting them costs more than it tells)."""
        return int(self.identity.num_rows) * len(self.benchmarks)

    def long(self, leaderboard: str) -> pa.Table:
        """`EXPORT_SCORES` rows: one per (upstream row, benchmark) that has a
        value, in upstream order, each row's benchmarks in display order."""
        n, width = self.identity.num_rows, len(self.benchmarks)
        # Row-major (row, benchmark) order: the transposed matrices, flattened.
        held = ~np.isnan(self.values.T.ravel())
        row = np.repeat(np.arange(n, dtype=np.int64), width)[held]
        which = np.tile(np.arange(width, dtype=np.int64), n)[held]
        names = self.identity.column("model_name").combine_chunks()
        per_row = self.identity.append_column("repo_id", namespaced_repo_ids(names))
        # One take for every identity column.
        identity = per_row.take(pa.array(row))
        columns = {
            "leaderboard": pa.repeat(pa.scalar(leaderboard, pa.string()), len(row)),
            "benchmark": pa.array(self.benchmarks, pa.string()).take(pa.array(which)),
            "value": pa.array(self.values.T.ravel()[held], pa.float64()),
            "raw_value": pa.array(
                self.raws.T.ravel()[held], pa.float64(), mask=self.raw_nulls.T.ravel()[held]
            ),
        }
        return pa.table(
            [
                columns[name] if name in columns else identity.column(name)
                for name in EXPORT_SCORES.columns
            ],
            schema=EXPORT_SCORES.schema,
        )


def identity_codes(
    identity: pa.Table,
    *,
    start: np.ndarray,
    columns: tuple[str, ...] = ("model_name", "precision", "model_sha"),
) -> tuple[np.ndarray, np.ndarray, pa.Array]:
    """One integer per row naming its identity within `start` (a number per
    row, such as its leaderboard's): equal iff `start`, model name, precision
    and model sha (or the `columns` named) are equal (a null equal to a null
    only). Also each row's model name code and the names' dictionary (each
    distinct name once)."""
    code = start.astype(np.int64)
    span = int(code.max()) + 1 if len(code) else 1
    name_codes, dictionary = np.zeros(0, dtype=np.int64), pa.array([], pa.string())
    for name in columns:
        # One dictionary across the chunks (Arrow shares it), so no copy of the strings.
        encoded = pc.dictionary_encode(identity.column(name), null_encoding="encode")
        chunks = encoded.chunks if isinstance(encoded, pa.ChunkedArray) else [encoded]
        size = max(len(chunks[0].dictionary), 1) if chunks else 1
        indices = [np.asarray(chunk.indices.to_numpy(), dtype=np.int64) for chunk in chunks]
        codes = np.concatenate(indices) if indices else np.zeros(0, dtype=np.int64)
        if name == "model_name" and chunks:
            name_codes, dictionary = codes, chunks[0].dictionary
        if span * size >= 2**62:
            # Renumber densely before the product could overflow.
            _, code = np.unique(code, return_inverse=True)
            span = int(code.max()) + 1
        code = code * size + codes
        span *= size
    return code, name_codes, dictionary
