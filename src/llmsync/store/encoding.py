"""A table as a snapshot publishes it: cast to its schema, written as Parquet
(zstd), and the sha256 of those bytes, which the manifest records. Encoded
once a night: validation compares the hash with the previous snapshot's, and
publishing writes (or links) the same bytes."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.parquet as pq

from llmsync.tables.schemas import TABLES


@dataclass(frozen=True)
class Encoded:
    table: pa.Table
    data: pa.Buffer
    sha256: str


def encode_table(name: str, table: pa.Table) -> Encoded:
    """Table `name` as published (ValueError or an Arrow error where it does
    not fit its schema: validation says why, in its own words)."""
    table = table.cast(TABLES[name].schema)
    buffer = pa.BufferOutputStream()
    pq.write_table(table, buffer, compression="zstd")
    data = buffer.getvalue()
    return Encoded(table, data, hashlib.sha256(data).hexdigest())
