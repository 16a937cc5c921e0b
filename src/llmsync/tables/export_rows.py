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
    benchmark in display order, its values and raw values (float64, null where
    the row holds no value of it)."""

    identity: pa.Table
    benchmarks: tuple[str, ...]
    values: tuple[pa.Array, ...]
    raws: tuple[pa.Array, ...]

    @property
    def num_values(self) -> int:
        """How many (row, benchmark) values the export may hold (its empty
        cells counted too: counting them costs more than it tells)."""
        return int(self.identity.num_rows) * len(self.benchmarks)

    def long(self, leaderboard: str) -> pa.Table:
        """`EXPORT_SCORES` rows: one per (upstream row, benchmark) that has a
        value, in upstream order, each row's benchmarks in display order."""
        n, width = self.identity.num_rows, len(self.benchmarks)
        row = np.repeat(np.arange(n, dtype=np.int64), width)
        which = np.tile(np.arange(width, dtype=np.int64), n)
        # The benchmark-major value columns, taken in that order at once.
        scores = pa.concat_arrays(list(self.values)) if width else pa.array([], pa.float64())
        raws = pa.concat_arrays(list(self.raws)) if width else pa.array([], pa.float64())
        at = which * n + row
        held = np.asarray(scores.is_valid().to_numpy(zero_copy_only=False), dtype=bool)[at]
        row, which, taken = row[held], which[held], pa.array(at[held])
        names = self.identity.column("model_name").combine_chunks()
        per_row = self.identity.append_column("repo_id", namespaced_repo_ids(names))
        # One take for every identity column.
        identity = per_row.take(pa.array(row))
        columns = {
            "leaderboard": pa.repeat(pa.scalar(leaderboard, pa.string()), len(row)),
            "benchmark": pa.array(self.benchmarks, pa.string()).take(pa.array(which)),
            "value": scores.take(taken),
            "raw_value": raws.take(taken),
        }
        return pa.table(
            [
                columns[name] if name in columns else identity.column(name)
                for name in EXPORT_SCORES.columns
            ],
            schema=EXPORT_SCORES.schema,
        )
