"""The raw landing area: exact bytes from the Hub, one file per repo, revision and path.

Layout: `<root>/<repo_type>s/<repo_id>/<revision>/<path>`; a model's API info
lands as `<revision>/api-info.json`. Every id and path is validated before it
becomes a path, so upstream data can never make us write outside `root`.
Writes go to a temporary file in the destination folder, then `os.replace`:
a reader sees the old file or the new one, never half of one.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from llmsync.hub.ids import (
    InvalidIdError,
    is_commit_sha,
    require_repo_id,
    require_repo_path,
    require_revision,
)

API_INFO = "api-info.json"
REPO_TYPES = ("model", "dataset")


def _require_repo_type(repo_type: str) -> str:
    if repo_type not in REPO_TYPES:
        raise InvalidIdError(f"not a repo type: {repo_type[:40]!r}")
    return repo_type


def write_atomically(target: Path, data: bytes) -> None:
    """Write to a temporary file beside `target`, then rename: a reader sees
    the old file or the new one, never half of one."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


class RawStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path_for(self, repo_id: str, path: str, *, repo_type: str, revision: str) -> Path:
        """Where a file lands; raises InvalidIdError for anything unsafe."""
        parts = (
            f"{_require_repo_type(repo_type)}s",
            *require_repo_id(repo_id).split("/"),
            require_revision(revision),
            *require_repo_path(path).split("/"),
        )
        target = self.root.joinpath(*parts)
        # Belt and braces: the checks above already exclude every escape.
        root = self.root.resolve()
        if not target.resolve().is_relative_to(root):
            raise InvalidIdError(f"path escapes the raw store: {path[:120]!r}")
        return target

    def put(self, repo_id: str, path: str, data: bytes, *, repo_type: str, revision: str) -> Path:
        """Land `data` atomically; returns the landed path."""
        target = self.path_for(repo_id, path, repo_type=repo_type, revision=revision)
        write_atomically(target, data)
        return target

    def put_file(
        self, repo_id: str, path: str, source: Path, *, repo_type: str, revision: str
    ) -> Path:
        """Land the file at `source` (moved when on the same filesystem, else copied)."""
        target = self.path_for(repo_id, path, repo_type=repo_type, revision=revision)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(source, target)
        except OSError:
            return self.put(
                repo_id, path, source.read_bytes(), repo_type=repo_type, revision=revision
            )
        return target

    def get(self, repo_id: str, path: str, *, repo_type: str, revision: str) -> Path | None:
        """The landed file, only for an immutable commit sha (a branch such as
        `main` moves, so its landing is never reused)."""
        if not is_commit_sha(revision):
            return None
        target = self.path_for(repo_id, path, repo_type=repo_type, revision=revision)
        return target if target.is_file() else None

    def put_api_info(self, repo_id: str, data: bytes, *, revision: str) -> Path:
        return self.put(repo_id, API_INFO, data, repo_type="model", revision=revision)

    def get_api_info(self, repo_id: str, *, revision: str) -> Path | None:
        return self.get(repo_id, API_INFO, repo_type="model", revision=revision)

    def put_curated(self, data: bytes) -> Path:
        """Keep the curated file a snapshot was built from, named by its sha256,
        so `verify` rebuilds with it offline even after the user edits theirs."""
        target = self.curated_path(hashlib.sha256(data).hexdigest())
        if not target.is_file():
            write_atomically(target, data)
        return target

    def curated_path(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise InvalidIdError(f"not a sha256: {sha256[:80]!r}")
        return self.root / "curated" / f"{sha256}.yaml"

    def scratch_dir(self) -> Path:
        """A fresh folder inside the store for downloads in progress, on the
        same filesystem as the landing so a finished file is moved, not copied."""
        base = self.root / ".incoming"
        base.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(dir=base))
