"""The replay hub's upload room: repos created, committed to and tagged through
huggingface_hub's upload API, then read back like any recorded repo.

What huggingface_hub 2.x sends, read from its code (`hf_api.py`, `_commit_api.py`,
`lfs.py`), and what this room answers:

    POST /api/repos/create                          {"url": ...}; 409 if it exists
    POST /api/validate-yaml                         {"errors": [], "warnings": []}
    POST /api/{type}s/{id}/preupload/{rev}          each file's uploadMode and remote oid
    POST /{type}s/{id}.git/info/lfs/objects/batch   basic transfer: one upload href per
                                                    object not stored yet
    PUT  <href> (on the CDN listener)               the object; its sha256 must be its oid
    POST /api/{type}s/{id}/commit/{rev}             NDJSON: header, file, lfsFile, deletedFile
    POST /api/{type}s/{id}/tag/{rev}                {"tag": ..., "message": ...}
    GET  /api/{type}s/{id}/refs                     branches, tags, converts, pullRequests

Reads (repo info by revision or tag, tree, paths-info, resolve with the LFS
redirect to the CDN) are the replay's own, once `HubView.add` indexes the repo.

ASSUMED, not recorded from the Hub (no upload was ever recorded): the bodies of
the create, validate-yaml and tag answers beyond the fields huggingface_hub
reads; the preupload rule (LFS for the suffixes the recordings store in LFS, a
NUL byte in the sample, or 10 MB and more); the new repo's first commit and its
`.gitattributes`; commit ids (sha1 of the parent, the message and the files,
not git's); the error bodies (the shape of the replay's other errors). A
private repo is recorded as such but its reads are not refused; upload
requests are neither rate-limited nor faulted nor counted in the stats. Uploads
live in this process's temporary folder and are gone when the hub stops.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import re
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import yaml

from llmsync.hub.hashing import git_blob_oid
from llmsync.replay.recordings import (
    Commit,
    FileEntry,
    Repo,
    lfs_pointer,
    stored_in_lfs,
)
from llmsync.replay.replies import JSON_TYPE, Reply, dump_json, error_reply
from llmsync.replay.view import HubView

UPLOAD_PREFIX = "/replay-lfs-upload/"
_TYPES = {"models": "model", "datasets": "dataset"}
_REPO_API = re.compile(r"^/api/(models|datasets)/([^/]+/[^/]+)/(preupload|commit|tag)/(.+)$")
_REFS = re.compile(r"^/api/(models|datasets)/([^/]+/[^/]+)/refs$")
_LFS_BATCH = re.compile(r"^/(?:(datasets)/)?([^/]+/[^/]+)\.git/info/lfs/objects/batch$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
# The replay's own first commit of a new repo (the Hub's holds a longer .gitattributes).
_GITATTRIBUTES = b"*.parquet filter=lfs diff=lfs merge=lfs -text\n"
_LFS_TYPE = "application/vnd.git-lfs+json"


def _json(status: int, payload: Any, content_type: str = JSON_TYPE) -> Reply:
    return Reply(status, [("Content-Type", content_type)], dump_json(payload))


@dataclass
class _Uploaded:
    """A repo made through the upload API: its commits, oldest first, and tags."""

    repo_type: str
    repo_id: str
    private: bool
    commits: list[Commit] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)

    def as_repo(self) -> Repo:
        return Repo(
            self.repo_type,
            self.repo_id,
            tuple(self.commits),
            tags=dict(self.tags),
            private=self.private,
        )


class Uploads:
    """The repos uploaded to one replay hub, their objects in a temporary folder."""

    def __init__(self, view: HubView) -> None:
        self.view = view
        self.folder = Path(tempfile.mkdtemp(prefix="llmsync-replay-uploads-"))
        self._objects = self.folder / "objects"
        self._repos: dict[str, _Uploaded] = {}
        self._lock = threading.Lock()
        self.hub_url = self.cdn_url = ""

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def serve_at(self, hub_url: str, cdn_url: str) -> None:
        """Where the hub and its CDN listen (known once they started)."""
        self.hub_url, self.cdn_url = hub_url, cdn_url
        self._objects.mkdir(parents=True, exist_ok=True)  # again after a stop

    def respond(
        self, listener: str, method: str, raw_path: str, *, body: bytes, authorized: bool
    ) -> Reply | None:
        """The answer to an upload request, or None when the path is not one.
        A malformed body (not JSON, wrong types, missing fields) is a 400."""
        try:
            return self._respond(listener, method, raw_path, body, authorized=authorized)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            return error_reply(400, None, f"Bad request: {type(exc).__name__}")

    def _respond(
        self, listener: str, method: str, raw_path: str, body: bytes, *, authorized: bool
    ) -> Reply | None:
        if listener == "cdn":
            if method == "PUT" and raw_path.startswith(UPLOAD_PREFIX):
                return self._store_object(raw_path[len(UPLOAD_PREFIX) :], body)
            return None
        if method == "GET" and (match := _REFS.match(raw_path)):
            return self._refs(_TYPES[match[1]], unquote(match[2]))
        if method != "POST":
            return None
        if raw_path == "/api/validate-yaml":
            return self._validate_yaml(body)
        lfs = _LFS_BATCH.match(raw_path)
        api = _REPO_API.match(raw_path)
        if raw_path != "/api/repos/create" and lfs is None and api is None:
            return None
        if not authorized:
            return error_reply(401, None, "Invalid credentials in Authorization header")
        with self._lock:
            if raw_path == "/api/repos/create":
                return self._create(body)
            if lfs is not None:
                repo_type = "dataset" if lfs[1] else "model"
                return self._lfs_batch(repo_type, unquote(lfs[2]), body)
            assert api is not None
            repo = self._repos.get(f"{_TYPES[api[1]]}/{unquote(api[2])}")
            if repo is None:
                return error_reply(404, "RepoNotFound", "Repository not found")
            action, revision = api[3], unquote(api[4])
            if action == "preupload":
                return self._preupload(repo, revision, body)
            if action == "commit":
                return self._commit(repo, revision, body)
            return self._tag(repo, revision, body)

    # -- repos and refs --------------------------------------------------

    def _create(self, body: bytes) -> Reply:
        request = json.loads(body or b"{}")
        repo_type = str(request.get("type") or "model")
        name, owner = str(request.get("name") or ""), request.get("organization")
        if repo_type not in _TYPES.values() or not name or not owner:
            return error_reply(
                400, None, "a repo needs a type (model, dataset), a name and an owner"
            )
        repo_id = f"{owner}/{name}"
        prefix = "datasets/" if repo_type == "dataset" else ""
        url = f"{self.hub_url}/{prefix}{repo_id}"
        key = f"{repo_type}/{repo_id}"
        if key in self._repos or self.view.repo(repo_type, repo_id) is not None:
            return _json(409, {"error": "You already created this repo", "url": url})
        private = request.get("visibility", "private" if request.get("private") else "public")
        repo = _Uploaded(repo_type, repo_id, private=private == "private")
        entry = self._regular(".gitattributes", _GITATTRIBUTES)
        repo.commits.append(self._new_commit(None, "initial commit", {entry.path: entry}))
        self._repos[key] = repo
        self.view.add(repo.as_repo())
        return _json(200, {"url": url, "name": repo_id, "id": repo_id})

    def _refs(self, repo_type: str, repo_id: str) -> Reply | None:
        with self._lock:
            repo = self._repos.get(f"{repo_type}/{repo_id}")
            if repo is None:
                return None  # a recorded repo: the replay's own answer
            head = repo.commits[-1].sha
            tags = [
                {"name": name, "ref": f"refs/tags/{name}", "targetCommit": sha}
                for name, sha in sorted(repo.tags.items())
            ]
        branch = {"name": "main", "ref": "refs/heads/main", "targetCommit": head}
        return _json(200, {"branches": [branch], "converts": [], "tags": tags, "pullRequests": []})

    def _tag(self, repo: _Uploaded, revision: str, body: bytes) -> Reply:
        tag = str(json.loads(body or b"{}").get("tag") or "")
        if not tag or "/" in tag or tag in repo.tags:
            message = f"Tag {tag!r} already exists" if tag in repo.tags else "a tag needs a name"
            return error_reply(409 if tag in repo.tags else 400, None, message)
        commit = repo.as_repo().resolve(revision)
        if commit is None:
            return error_reply(404, "RevisionNotFound", f"Invalid rev id: {revision}")
        repo.tags[tag] = commit.sha
        self.view.add(repo.as_repo())
        return _json(200, {})

    # -- uploads -----------------------------------------------------------

    def _preupload(self, repo: _Uploaded, revision: str, body: bytes) -> Reply:
        head = repo.as_repo().resolve(revision)
        if head is None:
            return error_reply(404, "RevisionNotFound", f"Invalid rev id: {revision}")
        files = []
        for item in json.loads(body or b"{}").get("files", []):
            path, size = str(item["path"]), int(item["size"])
            sample = base64.b64decode(item.get("sample") or "")
            lfs = stored_in_lfs(path, size) or b"\0" in sample
            existing = head.files.get(path)
            # huggingface_hub compares this with its own: sha256 for LFS, git sha1 else.
            oid = None if existing is None else existing.sha256 if lfs else existing.oid
            mode = "lfs" if lfs else "regular"
            files.append({"path": path, "uploadMode": mode, "shouldIgnore": False, "oid": oid})
        return _json(200, {"files": files, "commitOid": head.sha})

    def _lfs_batch(self, repo_type: str, repo_id: str, body: bytes) -> Reply:
        if f"{repo_type}/{repo_id}" not in self._repos:
            return error_reply(404, "RepoNotFound", "Repository not found")
        objects = []
        for item in json.loads(body or b"{}").get("objects", []):
            oid, size = str(item.get("oid")), int(item.get("size", -1))
            answer: dict[str, Any] = {"oid": oid, "size": size}
            if not _SHA256.match(oid) or size < 0:
                answer["error"] = {"code": 422, "message": "oid must be a sha256, size >= 0"}
            elif not (self._objects / oid).is_file():
                href = f"{self.cdn_url}{UPLOAD_PREFIX}{oid}?size={size}"
                answer["authenticated"] = True
                answer["actions"] = {"upload": {"href": href, "expires_in": 3600}}
            objects.append(answer)
        return _json(200, {"transfer": "basic", "objects": objects}, _LFS_TYPE)

    def _store_object(self, name: str, body: bytes) -> Reply:
        oid = name.partition("?")[0]
        if not _SHA256.match(oid) or hashlib.sha256(body).hexdigest() != oid:
            return Reply(400, [("Content-Type", "text/plain")], b"BadDigest")
        aside = self._objects / f".{oid}.{threading.get_ident()}.tmp"
        aside.write_bytes(body)
        aside.replace(self._objects / oid)
        return Reply(200, [("Content-Type", "text/plain"), ("ETag", f'"{oid}"')])

    # -- commits -------------------------------------------------------------

    def _commit(self, repo: _Uploaded, revision: str, body: bytes) -> Reply:
        if revision != "main":
            return error_reply(400, None, "the replay hub commits to main only")
        head = repo.commits[-1]
        files = dict(head.files)
        header: dict[str, Any] = {}
        for line in body.splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            key, value = item.get("key"), item.get("value") or {}
            if key == "header":
                header = value
            elif key == "file":
                content = base64.b64decode(value["content"])
                files[value["path"]] = self._regular(value["path"], content)
            elif key == "lfsFile":
                found = self._lfs_entry(value)
                if isinstance(found, Reply):
                    return found
                files[found.path] = found
            elif key == "deletedFile":
                files.pop(value["path"], None)
            else:
                return error_reply(400, None, f"unknown commit operation {key!r}")
        parent = header.get("parentCommit")
        if parent is not None and parent != head.sha:
            return error_reply(
                412, None, "A commit has happened since. Please refresh and try again."
            )
        commit = self._new_commit(head, str(header.get("summary") or ""), files)
        repo.commits.append(commit)
        self.view.add(repo.as_repo())
        prefix = "datasets/" if repo.repo_type == "dataset" else ""
        return _json(
            200,
            {
                "success": True,
                "commitOid": commit.sha,
                "commitUrl": f"{self.hub_url}/{prefix}{quote(repo.repo_id)}/commit/{commit.sha}",
                "hookOutput": "",
                "pullRequestUrl": None,
            },
        )

    def _lfs_entry(self, value: dict[str, Any]) -> FileEntry | Reply:
        oid, path = str(value.get("oid")), str(value.get("path"))
        stored = self._objects / oid
        if not _SHA256.match(oid) or not stored.is_file():
            return error_reply(400, None, f"LFS object {oid} of {path} was not uploaded")
        size = stored.stat().st_size
        if value.get("size") is not None and int(value["size"]) != size:
            return error_reply(
                400, None, f"LFS object {oid} of {path} is not {value['size']} bytes"
            )
        pointer_oid = git_blob_oid(lfs_pointer(oid, size))
        return FileEntry(path, oid, size, is_lfs=True, oid=pointer_oid, blob=stored)

    def _regular(self, path: str, content: bytes) -> FileEntry:
        digest = hashlib.sha256(content).hexdigest()
        stored = self._objects / digest
        if not stored.is_file():
            stored.write_bytes(content)
        return FileEntry(path, digest, len(content), False, git_blob_oid(content), stored)

    @staticmethod
    def _new_commit(parent: Commit | None, title: str, files: dict[str, FileEntry]) -> Commit:
        """A commit id made by the replay: sha1 of the parent, the title and the
        files (git's would hash a tree and an author; no client can tell)."""
        digest = hashlib.sha1(usedforsecurity=False)
        digest.update((parent.sha if parent else "").encode())
        digest.update(title.encode())
        for path in sorted(files):
            digest.update(f"\n{path} {files[path].oid}".encode())
        now = dt.datetime.now(dt.UTC)
        digest.update(now.isoformat().encode())
        return Commit(digest.hexdigest(), now, title, files, None, "uploaded to the replay hub")

    def _validate_yaml(self, body: bytes) -> Reply:
        content = str(json.loads(body or b"{}").get("content") or "")
        front = content.split("---", 2)[1] if content.startswith("---") else ""
        try:
            metadata = yaml.safe_load(front) if front else {}
        except yaml.YAMLError as exc:
            return _json(400, {"errors": [{"message": f"invalid YAML: {exc}"}], "warnings": []})
        if metadata is not None and not isinstance(metadata, dict):
            return _json(400, {"errors": [{"message": "metadata must be a mapping"}]})
        return _json(200, {"errors": [], "warnings": []})
