"""TableSpec: a table's schema, key and shape version (the tables are in schemas.py)."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa


@dataclass(frozen=True)
class TableSpec:
    """A table's Arrow schema and the columns that identify one row."""

    name: str
    schema: pa.Schema
    key: tuple[str, ...]
    # Raised whenever the table's shape changes; each manifest records the
    # versions it was written with, so readers and the row-loss guard can tell
    # an old shape from a shrunken table.
    version: int = 1

    @property
    def columns(self) -> list[str]:
        return list(self.schema.names)

    def empty(self) -> pa.Table:
        """The table with no rows. (`Schema.empty_table()` would import pandas,
        over a second of a nightly sync's start on a small machine.)"""
        return pa.Table.from_batches([], schema=self.schema)
