"""Modified copies of the replay hub's recordings, for tests of bad upstream data.

The bundled recordings are package data and must never change; a test that
needs a hostile card or a broken leaderboard export copies them to a temporary
folder and replaces one file of one commit there.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from llmsync.replay.recordings import RecordingStore
from tests.conftest import LEADERBOARD_FILE, V2


def _commit(manifest: dict[str, Any], repo_id: str, date_prefix: str | None) -> dict[str, Any]:
    repo = next(r for r in manifest["repos"] if r["repo_id"] == repo_id)
    commits: list[dict[str, Any]] = repo["commits"]
    if date_prefix is None:
        return commits[-1]
    return next(c for c in commits if c["date"].startswith(date_prefix))


def edited_recordings(
    source: Path,
    target: Path,
    *,
    repo_id: str,
    path: str,
    data: bytes,
    date: str | None = None,
) -> Path:
    """A copy of `source` at `target` in which `path` of `repo_id`'s commit of
    `date` (YYYY-MM-DD prefix; None: the newest) holds `data`.

    The edited commit gets a new sha, as a new upstream commit would: revisions
    are immutable, so a data directory that landed the original file must see a
    new revision to fetch the edited one. (A model's API body keeps naming the
    old sha, which the replay hub still resolves to this commit.)
    """
    shutil.copytree(source, target)
    digest = hashlib.sha256(data).hexdigest()
    (target / "blobs" / digest).write_bytes(data)
    manifest_path = target / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    commit = _commit(manifest, repo_id, date)
    commit["files"][path] = digest
    commit["sha"] = hashlib.sha1(f"{commit['sha']} edited {digest}".encode()).hexdigest()
    manifest_path.write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return target


def edited_api_info(source: Path, target: Path, *, repo_id: str, old: bytes, new: bytes) -> Path:
    """A copy of `source` at `target` in which `repo_id`'s newest /api/models
    body has `old` (found exactly once) replaced by `new`, at the same sha: as
    on the Hub, where likes and downloads change without a commit."""
    shutil.copytree(source, target)
    manifest_path = target / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    commit = _commit(manifest, repo_id, None)
    body = (target / "blobs" / commit["api_info"]).read_bytes()
    assert body.count(old) == 1, f"{old!r} is not in {repo_id}'s body exactly once"
    edited = body.replace(old, new)
    digest = hashlib.sha256(edited).hexdigest()
    (target / "blobs" / digest).write_bytes(edited)
    commit["api_info"] = digest
    manifest_path.write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return target


def added_commit(
    source: Path, target: Path, *, repo_id: str, date: str, files: dict[str, bytes]
) -> tuple[Path, str]:
    """A copy of `source` at `target` in which `repo_id` has one more commit, of
    `date` (YYYY-MM-DD) and holding `files`, in date order; and its sha."""
    shutil.copytree(source, target)
    manifest_path = target / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    repo = next(r for r in manifest["repos"] if r["repo_id"] == repo_id)
    digests = {}
    for path, data in sorted(files.items()):
        digests[path] = hashlib.sha256(data).hexdigest()
        (target / "blobs" / digests[path]).write_bytes(data)
    content = f"dataset/{repo_id}\n{date}\n" + "".join(f"{p} {d}\n" for p, d in digests.items())
    sha = hashlib.sha1(f"test commit {content}".encode()).hexdigest()
    repo["commits"].append(
        {
            "sha": sha,
            "date": f"{date}T00:00:00Z",
            "title": f"Leaderboard export of {date} (added by a test)",
            "files": digests,
            "api_info": None,
            "source": "added by a test",
        }
    )
    repo["commits"].sort(key=lambda commit: commit["date"])
    manifest_path.write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return target, sha


def csv_as_parquet(data: bytes) -> bytes:
    """A real CSV export as the Parquet table the recordings serve: headers as
    written, the UTF-8 BOM dropped, the model name read as text."""
    data = data.removeprefix(b"\xef\xbb\xbf")
    options = pcsv.ConvertOptions(column_types={"Model": pa.string()})
    return parquet_bytes(pcsv.read_csv(pa.BufferReader(data), convert_options=options))


def recorded_file(source: Path, *, repo_id: str, path: str, date: str | None = None) -> bytes:
    """The bytes of `path` in `repo_id`'s commit of `date` (None: the newest),
    as the replay hub serves them (a leaderboard export is built, not stored)."""
    manifest = json.loads((source / "manifest.json").read_text(encoding="utf-8"))
    digest: str = _commit(manifest, repo_id, date)["files"][path]
    return RecordingStore.load(source).blob_bytes(digest)


def parquet_bytes(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def v2_table(source: Path) -> pa.Table:
    """The newest v2 leaderboard export, as recorded."""
    data = recorded_file(source, repo_id=V2, path=LEADERBOARD_FILE)
    return pq.read_table(pa.BufferReader(data))


def without_repo(source: Path, target: Path, *, repo_id: str) -> Path:
    """A copy of `source` at `target` that has no recording of `repo_id`: the
    replay hub then answers for it as the Hub does for a repo that does not
    exist (a leaderboard gone missing upstream)."""
    shutil.copytree(source, target)
    manifest_path = target / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    kept = [r for r in manifest["repos"] if r["repo_id"] != repo_id]
    assert len(kept) == len(manifest["repos"]) - 1, f"{repo_id} is not recorded"
    manifest["repos"] = kept
    manifest_path.write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return target
