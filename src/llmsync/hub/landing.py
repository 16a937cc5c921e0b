"""What the Hub client needs from a place that keeps what it downloads.

The client lands exact bytes as it reads them, but the landing area itself
belongs to the store layer above (`llmsync.store.raw.RawStore` implements this
protocol); defining the need here keeps the Hub layer free of upward imports.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol


class Landing(Protocol):
    root: Path

    def get(self, repo_id: str, path: str, *, repo_type: str, revision: str) -> Path | None: ...

    def put_file(
        self, repo_id: str, path: str, source: Path, *, repo_type: str, revision: str
    ) -> Path: ...

    def get_api_info(self, repo_id: str, *, revision: str) -> Path | None: ...

    def put_api_info(self, repo_id: str, data: bytes, *, revision: str) -> Path: ...

    def scratch_dir(self) -> Path: ...
