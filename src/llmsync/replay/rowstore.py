"""Leaderboard exports kept as distinct rows, rebuilt into Parquet on demand.

A leaderboard's history is hundreds of daily exports that repeat most of their
rows. The recordings keep each distinct row once (the *row store*, a Parquet
table over the union of every export's columns) and, per export, the ids of
its rows in upstream order (the *row index*). An export's file is

    rows.take(row_ids).select(columns)  ->  Parquet with pinned writer options

which gives the same bytes on every call, in every process, for one pyarrow
version. The recordings name the pyarrow version they were built with; the
store checks it (see `RecordingStore`), because another version may write
other bytes (the file names its writer, and encoders change).
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

# Columns of the row index: one row per export.
INDEX_EXPORT = "export"
INDEX_ROWS = "row_ids"


def parquet_bytes(table: pa.Table, *, compression_level: int = 9) -> bytes:
    """Parquet with every writer option pinned, so equal tables give equal bytes.

    No timestamps are written; chunk layout is normalised first because page
    boundaries may follow it.
    """
    table = table.replace_schema_metadata(None).combine_chunks()
    sink = io.BytesIO()
    pq.write_table(
        table,
        sink,
        version="2.6",
        data_page_version="1.0",
        compression="zstd",
        compression_level=compression_level,
        use_dictionary=True,
        write_statistics=True,
        row_group_size=1 << 20,
        store_schema=True,
    )
    return sink.getvalue()


def index_bytes(exports: Mapping[str, Sequence[int]]) -> bytes:
    """The row index of `exports` (export key -> row ids in upstream order)."""
    keys = sorted(exports)
    table = pa.table(
        {
            INDEX_EXPORT: pa.array(keys, pa.string()),
            INDEX_ROWS: pa.array([list(exports[key]) for key in keys], pa.list_(pa.uint32())),
        }
    )
    return parquet_bytes(table, compression_level=19)


@dataclass(frozen=True)
class RowStore:
    """One leaderboard's distinct rows and each export's row ids."""

    rows: pa.Table
    index: Mapping[str, pa.Array]

    @classmethod
    def from_bytes(cls, rows: bytes, index: bytes) -> RowStore:
        row_table = pq.read_table(pa.BufferReader(rows)).combine_chunks()
        index_table = pq.read_table(pa.BufferReader(index))
        keys = index_table.column(INDEX_EXPORT).to_pylist()
        lists = index_table.column(INDEX_ROWS).combine_chunks()
        ids = {key: lists[i].values for i, key in enumerate(keys)}
        return cls(rows=row_table.replace_schema_metadata(None), index=ids)

    def export_table(self, export: str, columns: Sequence[str]) -> pa.Table:
        """The export's table: its rows in upstream order, its columns in its order."""
        try:
            ids = self.index[export]
        except KeyError:
            raise KeyError(f"export {export!r} is not in the row index") from None
        return self.rows.select(list(columns)).take(ids)

    def export_file(self, export: str, columns: Sequence[str]) -> bytes:
        return parquet_bytes(self.export_table(export, columns))


class _BytesCache:
    """Built files by sha256, least recently used dropped beyond `limit` bytes.

    Shared by every store of the process: a sha256 names the bytes, so a file
    built for one replay hub is the same file for another.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            data = self._items.get(key)
            if data is not None:
                self._items.move_to_end(key)
            return data

    def put(self, key: str, data: bytes) -> None:
        with self._lock:
            if key in self._items:
                return
            self._items[key] = data
            self._size += len(data)
            while self._size > self.limit and len(self._items) > 1:
                _, dropped = self._items.popitem(last=False)
                self._size -= len(dropped)


class _DiskCache:
    """Built files kept on disk by sha256, shared by every replay process.

    Building an export from its row store costs about 18 ms (the history
    bench builds all 210 in 3.6 to 4.2 s), paid again by every fresh replay
    hub without it; the Hub itself serves stored bytes. A file is read back
    only when its bytes hash to its name, and written whole (a temporary file
    renamed), so a torn or altered file is rebuilt, never served. A folder
    that cannot be written only costs the cache.
    """

    def __init__(self, root: Path | None) -> None:
        self.root = root

    def get(self, sha256: str) -> bytes | None:
        if self.root is None:
            return None
        try:
            data = (self.root / sha256).read_bytes()
        except OSError:
            return None
        return data if hashlib.sha256(data).hexdigest() == sha256 else None

    def put(self, sha256: str, data: bytes) -> None:
        if self.root is None:
            return
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.root, prefix=".part-", delete=False) as out:
                out.write(data)
            os.replace(out.name, self.root / sha256)
        except OSError:
            return


# Where built files are kept between processes: `LLMSYNC_REPLAY_CACHE`, or
# the user's cache folder; `LLMSYNC_REPLAY_CACHE=off` keeps none.
CACHE_ENV = "LLMSYNC_REPLAY_CACHE"


def cache_folder() -> Path | None:
    chosen = os.environ.get(CACHE_ENV)
    if chosen is not None:
        return None if chosen.strip().lower() in ("", "off") else Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "llmsync" / "replay-files"


BUILT_FILES = _BytesCache(limit=256 * 1024 * 1024)
BUILT_ON_DISK = _DiskCache(cache_folder())
_STORES: dict[tuple[str, str], RowStore] = {}
_STORES_LOCK = threading.Lock()
# One lock per file being built: concurrent requests for one file build it once.
_BUILDING: dict[str, threading.Lock] = {}
_BUILDING_LOCK = threading.Lock()


def cached_row_store(key: tuple[str, str], load: Callable[[], RowStore]) -> RowStore:
    """The row store named by (rows sha256, index sha256), decoded once per process."""
    with _STORES_LOCK:
        store = _STORES.get(key)
        if store is None:
            store = load()
            _STORES[key] = store
        return store


def cached_file(sha256: str, build: Callable[[], bytes]) -> bytes:
    """The built file named `sha256`: from memory, else from the disk cache,
    else built (once per process while cached, and kept on disk)."""
    data = BUILT_FILES.get(sha256)
    if data is not None:
        return data
    with _BUILDING_LOCK:
        lock = _BUILDING.setdefault(sha256, threading.Lock())
    with lock:
        data = BUILT_FILES.get(sha256) or BUILT_ON_DISK.get(sha256)
        if data is None:
            data = build()
            BUILT_ON_DISK.put(sha256, data)
        BUILT_FILES.put(sha256, data)
    return data
