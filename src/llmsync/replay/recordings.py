"""The replay hub's recorded data: repos, their commits and files, redirects.

Reads `recordings/manifest.json` (package data, or a given folder) and the
content-addressed blobs beside it. `--as-of` views the Hub as it stood on a
date: every repo at its newest commit on or before that day, and a repo with
no commit by then does not exist.

Format 2 adds files that are built rather than stored: the leaderboard exports,
rebuilt from a row store (`rowstore.py`) the first time they are asked for and
kept in memory. The manifest gives their sha256 and size, so listings never
build anything; the bytes are checked against that sha256 when built.

A repo may also hold `partial_captures`: real upstream revisions that are bad
data (a leaderboard export holding a fraction of the table). They are not
commits unless `serve_partial_captures` is set, so a test or a fault plan can
make the hub serve one as an ordinary commit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.resources
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from llmsync.hub.hashing import git_blob_oid
from llmsync.replay import rowstore

REPO_TYPES = ("model", "dataset")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_SHA1 = re.compile(r"^[0-9a-f]{40}$")

# The Hub stores these in LFS (and so answers a resolve with a redirect to its
# CDN and `X-Linked-*` headers); small text files are served from git directly.
_LFS_SUFFIXES = frozenset(
    {".parquet", ".arrow", ".bin", ".safetensors", ".pt", ".pth", ".h5", ".gguf", ".onnx", ".zip"}
)
_LFS_MIN_SIZE = 10 * 1024 * 1024
FORMATS = (1, 2)


def stored_in_lfs(path: str, size: int) -> bool:
    """Whether the replay keeps a file of this name and size in LFS (as the Hub
    would by a repo's usual `.gitattributes`), not in git."""
    return Path(path).suffix.lower() in _LFS_SUFFIXES or size >= _LFS_MIN_SIZE


class RecordingError(ValueError):
    """The recordings folder is malformed."""


def lfs_pointer(sha256: str, size: int) -> bytes:
    """The LFS pointer file git stores in place of an LFS-tracked file."""
    return (
        f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {size}\n"
    ).encode()


@dataclass(frozen=True)
class FileEntry:
    """One file of one commit."""

    path: str
    sha256: str
    size: int
    is_lfs: bool
    # git id of what git stores: the file itself, or its LFS pointer.
    oid: str
    # The stored blob; None for a built file (`RecordingStore.file_bytes`).
    blob: Path | None


@dataclass(frozen=True)
class Commit:
    sha: str
    date: dt.datetime
    title: str
    files: Mapping[str, FileEntry]
    api_info: str | None
    source: str
    # The `sha` inside the recorded /api/models body, when it differs from
    # `sha`: the Hub's own id for this state, accepted as a revision too.
    api_sha: str | None = None
    # Files the Hub has at this commit whose bytes were never recorded: path ->
    # what is known of them. Answered as a gap in the recordings, not as missing.
    not_recorded: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Repo:
    repo_type: str
    repo_id: str
    commits: tuple[Commit, ...]  # oldest first, never empty
    # Tag name -> commit sha: only repos made through the upload API have tags.
    tags: Mapping[str, str] = field(default_factory=dict, hash=False, compare=False)
    private: bool = False

    @property
    def head(self) -> Commit:
        return self.commits[-1]

    @property
    def key(self) -> str:
        return f"{self.repo_type}/{self.repo_id}"

    def resolve(self, revision: str) -> Commit | None:
        """`main` (the newest commit) or a recorded full commit sha (or the
        Hub's own sha recorded in a model's API body)."""
        if revision == "main":
            return self.head
        if revision in self.tags:
            revision = self.tags[revision]
        if not _SHA1.match(revision):
            return None
        for commit in reversed(self.commits):
            if revision in (commit.sha, commit.api_sha):
                return commit
        return None

    def last_change(self, commit: Commit, path: str) -> Commit:
        """The oldest commit up to `commit` from which `path` has had its
        current content: the Hub's `lastCommit` of a tree entry."""
        target = commit.files[path].sha256
        found = commit
        for earlier in reversed(self.commits[: self.commits.index(commit) + 1]):
            entry = earlier.files.get(path)
            if entry is None or entry.sha256 != target:
                break
            found = earlier
        return found


@dataclass(frozen=True)
class BuiltFile:
    """A file the store builds: one leaderboard export from its row store."""

    sha256: str
    size: int
    row_store: str  # the row store's name (its repo id)
    export: str  # the export's key in the row index
    columns: tuple[str, ...]


@dataclass(frozen=True)
class RowStoreBlobs:
    rows: str  # sha256 of the row store's blob
    index: str  # sha256 of the row index's blob


@dataclass
class RecordingStore:
    root: Path
    repos: dict[str, Repo]
    redirects: dict[str, str]
    # Revisions kept apart from the commits (see the module docstring), by repo key.
    partial_captures: dict[str, tuple[Commit, ...]] = field(default_factory=dict)
    built: dict[str, BuiltFile] = field(default_factory=dict, repr=False)
    row_stores: dict[str, RowStoreBlobs] = field(default_factory=dict, repr=False)
    # Recorded sha256 -> the sha256 of the bytes this pyarrow builds, when they differ.
    _rebuilt: dict[str, str] = field(default_factory=dict, repr=False)
    _sizes: dict[str, int] = field(default_factory=dict, repr=False)

    @classmethod
    def load(
        cls, folder: Path | None = None, *, serve_partial_captures: bool = False
    ) -> RecordingStore:
        """From `folder`, else the package's bundled `recordings/`.

        `serve_partial_captures`: every repo's partial captures become ordinary
        commits, in date order among the others.
        """
        root = folder if folder is not None else default_recordings_dir()
        manifest_path = root / "manifest.json"
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise RecordingError(f"no recordings at {manifest_path}") from exc
        if manifest.get("format") not in FORMATS:
            raise RecordingError(f"unknown recordings format {manifest.get('format')!r}")
        store = cls(root=root, repos={}, redirects={})
        store._load_built(manifest)
        for raw_repo in manifest.get("repos", []):
            key = f"{raw_repo['repo_type']}/{raw_repo['repo_id']}"
            partial = tuple(store._commit(raw) for raw in raw_repo.get("partial_captures", []))
            repo = store._load_repo(raw_repo, extra=partial if serve_partial_captures else ())
            if repo.key in store.repos:
                raise RecordingError(f"repo recorded twice: {repo.key}")
            store.repos[repo.key] = repo
            if partial:
                store.partial_captures[key] = partial
        for old, new in (manifest.get("redirects") or {}).items():
            repo_type, _, old_id = old.partition("/")
            if repo_type not in REPO_TYPES or not old_id:
                raise RecordingError(f"bad redirect key {old!r}: expected '<type>/<repo_id>'")
            store.redirects[old] = new
        return store

    def _load_built(self, manifest: Mapping[str, Any]) -> None:
        for name, raw in (manifest.get("row_stores") or {}).items():
            self.row_stores[name] = RowStoreBlobs(rows=raw["rows"], index=raw["index"])
            self._blob(raw["rows"])  # fail at load on a missing blob, not at a request
            self._blob(raw["index"])
        layouts = {
            (name, layout): tuple(columns)
            for name, raw in (manifest.get("row_stores") or {}).items()
            for layout, columns in raw.get("layouts", {}).items()
        }
        for sha256, raw in (manifest.get("built_files") or {}).items():
            if not _SHA256.match(sha256):
                raise RecordingError(f"not a sha256: {sha256!r}")
            if raw["row_store"] not in self.row_stores:
                raise RecordingError(f"built file {sha256} names no row store")
            self.built[sha256] = BuiltFile(
                sha256=sha256,
                size=int(raw["size"]),
                row_store=raw["row_store"],
                export=raw["export"],
                columns=layouts[(raw["row_store"], raw["layout"])],
            )
        built_with = (manifest.get("built_with") or {}).get("pyarrow")
        if self.built and built_with != pa.__version__:
            # Another pyarrow may write other bytes: announce what this one builds.
            for sha256 in list(self.built):
                self._rebuild(sha256)

    def _rebuild(self, recorded: str) -> None:
        spec = self.built.pop(recorded)
        data = self._build(spec)
        actual = hashlib.sha256(data).hexdigest()
        self.built[actual] = BuiltFile(actual, len(data), spec.row_store, spec.export, spec.columns)
        self._rebuilt[recorded] = actual
        rowstore.BUILT_FILES.put(actual, data)

    def _build(self, spec: BuiltFile) -> bytes:
        blobs = self.row_stores[spec.row_store]

        def decode() -> rowstore.RowStore:
            return rowstore.RowStore.from_bytes(
                self.blob_bytes(blobs.rows), self.blob_bytes(blobs.index)
            )

        store = rowstore.cached_row_store((blobs.rows, blobs.index), decode)
        return store.export_file(spec.export, spec.columns)

    def _blob(self, sha256: str) -> tuple[Path, int]:
        if not _SHA256.match(sha256):
            raise RecordingError(f"not a sha256: {sha256!r}")
        path = self.root / "blobs" / sha256
        size = self._sizes.get(sha256)
        if size is None:
            try:
                size = path.stat().st_size
            except FileNotFoundError as exc:
                raise RecordingError(f"missing blob {sha256}") from exc
            self._sizes[sha256] = size
        return path, size

    def _load_repo(self, raw: Mapping[str, Any], *, extra: tuple[Commit, ...] = ()) -> Repo:
        repo_type, repo_id = raw["repo_type"], raw["repo_id"]
        if repo_type not in REPO_TYPES:
            raise RecordingError(f"unknown repo type {repo_type!r}")
        commits = [self._commit(raw_commit) for raw_commit in raw["commits"]]
        commits += extra
        if not commits:
            raise RecordingError(f"{repo_type}/{repo_id} has no commits")
        commits.sort(key=lambda commit: commit.date)
        return Repo(repo_type=repo_type, repo_id=repo_id, commits=tuple(commits))

    def _commit(self, raw_commit: Mapping[str, Any]) -> Commit:
        files = {path: self._file(path, sha) for path, sha in raw_commit["files"].items()}
        api_info = raw_commit.get("api_info")
        api_sha = None
        if api_info:
            body = json.loads(self._blob(api_info)[0].read_bytes())
            if isinstance(body, dict) and isinstance(body.get("sha"), str):
                api_sha = body["sha"] if body["sha"] != raw_commit["sha"] else None
        return Commit(
            sha=raw_commit["sha"],
            date=_parse_date(raw_commit["date"]),
            title=raw_commit.get("title", ""),
            files=files,
            api_info=api_info,
            source=raw_commit.get("source", ""),
            api_sha=api_sha,
            not_recorded=dict(raw_commit.get("not_recorded", {})),
        )

    def _file(self, path: str, sha256: str) -> FileEntry:
        sha256 = self._rebuilt.get(sha256, sha256)
        built = self.built.get(sha256)
        blob: Path | None
        if built is not None:
            blob, size = None, built.size
        else:
            blob, size = self._blob(sha256)
        is_lfs = stored_in_lfs(path, size)
        stored = lfs_pointer(sha256, size) if is_lfs else self.blob_bytes(sha256)
        return FileEntry(
            path=path, sha256=sha256, size=size, is_lfs=is_lfs, oid=git_blob_oid(stored), blob=blob
        )

    def repo(self, repo_type: str, repo_id: str, *, as_of: dt.date | None = None) -> Repo | None:
        """The repo as of `as_of` (None: today), or None if it did not exist."""
        repo = self.repos.get(f"{repo_type}/{repo_id}")
        if repo is None or as_of is None:
            return repo
        commits = tuple(c for c in repo.commits if c.date.date() <= as_of)
        if not commits:
            return None
        return Repo(repo_type=repo.repo_type, repo_id=repo.repo_id, commits=commits)

    def redirect(self, repo_type: str, repo_id: str) -> str | None:
        """The new name of a renamed repo, if it was renamed."""
        return self.redirects.get(f"{repo_type}/{repo_id}")

    def blob_bytes(self, sha256: str) -> bytes:
        """The bytes named `sha256`: a stored blob, or a built file (built once)."""
        spec = self.built.get(sha256)
        if spec is None:
            return self._blob(sha256)[0].read_bytes()
        return rowstore.cached_file(sha256, lambda: self._checked_build(spec))

    def file_bytes(self, entry: FileEntry) -> bytes:
        return self.blob_bytes(entry.sha256)

    def _checked_build(self, spec: BuiltFile) -> bytes:
        data = self._build(spec)
        if hashlib.sha256(data).hexdigest() != spec.sha256 or len(data) != spec.size:
            raise RecordingError(
                f"built file {spec.sha256} ({spec.row_store}, export {spec.export}) does not "
                "match the recordings: rebuild them with scripts/build_recordings.py"
            )
        return data


def default_recordings_dir() -> Path:
    return Path(str(importlib.resources.files("llmsync.replay") / "recordings"))


def _parse_date(value: str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)
