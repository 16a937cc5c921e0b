"""The recorded Hub as of one date: every recorded repo with its JSON bodies,
trees and commit lists computed once at start."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from typing import Any

from llmsync.replay.recordings import Commit, FileEntry, RecordingStore, Repo
from llmsync.replay.replies import dump_json, iso

RECORDER = "llmsync-recorder"


def _tree_entry(repo: Repo, commit: Commit, entry: FileEntry, *, expand: bool) -> dict[str, Any]:
    item: dict[str, Any] = {"type": "file", "oid": entry.oid, "size": entry.size}
    if entry.is_lfs:
        pointer_size = len(
            f"version https://git-lfs.github.com/spec/v1\noid sha256:{entry.sha256}\n"
            f"size {entry.size}\n"
        )
        item["lfs"] = {"oid": entry.sha256, "size": entry.size, "pointerSize": pointer_size}
    item["path"] = entry.path
    if expand:
        last = repo.last_change(commit, entry.path)
        item["lastCommit"] = {"id": last.sha, "title": last.title, "date": iso(last.date)}
    return item


def _dir_entry(path: str, children: Iterable[str]) -> dict[str, Any]:
    oid = hashlib.sha1("\n".join(sorted(children)).encode(), usedforsecurity=False).hexdigest()
    return {"type": "directory", "oid": oid, "size": 0, "path": path}


class HubView:
    """Every repo as of one date, with its JSON bodies computed once."""

    def __init__(self, store: RecordingStore, *, as_of: dt.date | None) -> None:
        self.store = store
        self.repos: dict[str, Repo] = {}
        for key, repo in store.repos.items():
            dated = store.repo(repo.repo_type, repo.repo_id, as_of=as_of)
            if dated is not None:
                self.repos[key] = dated
        self.blobs: dict[str, FileEntry] = {}
        self._info: dict[tuple[str, str, bool], bytes] = {}
        self._commits: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._dirs: dict[tuple[str, str], dict[str, set[str]]] = {}
        for repo in list(self.repos.values()):
            self.add(repo)

    def add(self, repo: Repo) -> None:
        """Serve `repo` (again, when it gained commits or tags): its bodies are
        computed here, before the repo is visible."""
        for commit in repo.commits:
            for entry in commit.files.values():
                self.blobs[entry.sha256] = entry
            for blobs in (False, True):
                self._info[(repo.key, commit.sha, blobs)] = self._info_body(repo, commit, blobs)
            self._commits[(repo.key, commit.sha)] = self._commit_list(repo, commit)
            self._dirs[(repo.key, commit.sha)] = self._directories(commit)
        self.repos[repo.key] = repo

    def repo(self, repo_type: str, repo_id: str) -> Repo | None:
        return self.repos.get(f"{repo_type}/{repo_id}")

    def info(self, repo: Repo, commit: Commit, *, blobs: bool) -> bytes:
        return self._info[(repo.key, commit.sha, blobs)]

    def commits(self, repo: Repo, commit: Commit) -> list[dict[str, Any]]:
        return self._commits[(repo.key, commit.sha)]

    def _info_body(self, repo: Repo, commit: Commit, blobs: bool) -> bytes:
        if commit.api_info is not None and repo.repo_type == "model":
            # The Hub's own body, byte for byte: what a client parses is real.
            return self.store.blob_bytes(commit.api_info)
        siblings: list[dict[str, Any]] = []
        for path in sorted(commit.files):
            entry = commit.files[path]
            sibling: dict[str, Any] = {"rfilename": path}
            if blobs:
                sibling["blobId"] = entry.oid
                sibling["size"] = entry.size
                if entry.is_lfs:
                    sibling["lfs"] = {"sha256": entry.sha256, "size": entry.size}
            siblings.append(sibling)
        author = repo.repo_id.split("/")[0] if "/" in repo.repo_id else None
        body: dict[str, Any] = {
            "_id": commit.sha[:24],
            "id": repo.repo_id,
            **({"modelId": repo.repo_id} if repo.repo_type == "model" else {}),
            "author": author,
            "sha": commit.sha,
            "lastModified": iso(commit.date),
            "private": repo.private,
            "gated": False,
            "disabled": False,
            "tags": [],
            "downloads": 0,
            "likes": 0,
            "siblings": siblings,
            "createdAt": iso(repo.commits[0].date),
            "usedStorage": sum(entry.size for entry in commit.files.values()),
        }
        return dump_json(body)

    @staticmethod
    def _commit_list(repo: Repo, commit: Commit) -> list[dict[str, Any]]:
        history = repo.commits[: repo.commits.index(commit) + 1]
        return [
            {
                "id": item.sha,
                "title": item.title,
                "message": item.source,
                "date": iso(item.date),
                "authors": [{"user": RECORDER}],
            }
            for item in reversed(history)
        ]

    @staticmethod
    def _directories(commit: Commit) -> dict[str, set[str]]:
        """Each folder (\"\" is the root) and the names of its direct children."""
        dirs: dict[str, set[str]] = {"": set()}
        for path in commit.files:
            parts = path.split("/")
            for depth in range(len(parts)):
                parent = "/".join(parts[:depth])
                dirs.setdefault(parent, set()).add("/".join(parts[: depth + 1]))
        return dirs

    def tree(
        self, repo: Repo, commit: Commit, path: str, *, recursive: bool, expand: bool
    ) -> list[dict[str, Any]] | None:
        """The tree at `path` (None: no such folder)."""
        dirs = self._dirs[(repo.key, commit.sha)]
        if path not in dirs:
            return None
        names = sorted(dirs[path])
        if recursive:
            names = sorted(
                p for p in {*dirs, *commit.files} if p and (not path or p.startswith(path + "/"))
            )
        folders = [_dir_entry(p, dirs[p]) for p in names if p in dirs]
        files = [
            _tree_entry(repo, commit, commit.files[p], expand=expand)
            for p in names
            if p in commit.files
        ]
        return folders + files

    def paths_info(
        self, repo: Repo, commit: Commit, paths: Iterable[str], *, expand: bool
    ) -> list[dict[str, Any]]:
        dirs = self._dirs[(repo.key, commit.sha)]
        found: list[dict[str, Any]] = []
        for path in paths:
            path = path.strip("/")
            if path in commit.files:
                found.append(_tree_entry(repo, commit, commit.files[path], expand=expand))
            elif path in dirs and path:
                found.append(_dir_entry(path, dirs[path]))
        return found
