"""What the Hub client needs from a place that keeps what it downloads.

The client lands exact bytes as it reads them, but the landing area itself
belongs to the store layer above (`llmsync.store.raw.RawStore` implements this
protocol); defining the need here keeps the Hub layer free of upward imports.

A landed object is never rewritten, and its sha256 is known from the moment it
lands: `get` hands back only an object that still has the bytes it landed with.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class StoredObject:
    """One landed object: where it is, and the sha256 and size it landed with."""

    path: Path
    sha256: str
    size: int


class Landing(Protocol):
    root: Path

    def get(
        self, repo_id: str, path: str, *, repo_type: str, revision: str
    ) -> StoredObject | None: ...

    def put_file(
        self,
        repo_id: str,
        path: str,
        source: Path,
        *,
        repo_type: str,
        revision: str,
        etag: str | None = None,
    ) -> StoredObject: ...

    def put(
        self,
        repo_id: str,
        path: str,
        data: bytes,
        *,
        repo_type: str,
        revision: str,
        etag: str | None = None,
    ) -> StoredObject: ...

    def put_listing(self, data: bytes) -> StoredObject: ...

    def put_api_info(self, repo_id: str, data: bytes, *, revision: str) -> StoredObject: ...

    def scratch_dir(self) -> Path: ...
