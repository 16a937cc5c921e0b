"""The raw landing area: exact bytes from the Hub, each object landed once and
never rewritten.

Layout under the raw root (`data/raw/`)::

    <repo_type>s/<repo_id>/<commit>/<path>            a repo file as it is at that commit
    api-info/models/<repo_id>/<commit>/<sha256>.json  one /api/models body seen for that commit
    api-list/<sha256>.json                            one page of a model listing (/api/models?...)
    curated/<sha256>.yaml                             a curated file a snapshot was built from
    .records/<repo_type>s/<repo_id>/<commit>/<path>   a repo file's sha256, size, ETag (on landing)
    .corrupt/<UTC stamp>-<nonce>/<relative path>      objects set aside: their bytes had changed
    .incoming/                                        downloads in progress
    .hf-cache/                                        unused (huggingface_hub's cache, once)

A repo file at a commit never changes upstream, so its path names one object.
A model's API info does change at the same commit (likes, downloads), so each
body is an object of its own, named by its hash: the folder of a commit keeps
every body seen for it, and a snapshot names the one it was built from. The
API bodies have their own tree because a revision folder mirrors the repo's
tree, where any name could be a repo file.

Every object's sha256 is known from the moment it lands (a repo file's in its
record, an API body's in its name) and checked whenever it is read. An object
whose bytes no longer match is never used: `get` sets it aside under
`.corrupt/` (with a log line) so the client fetches it again, and the offline
readers (`read_object`, `check_object`) raise an error that names it.

Every id and path is validated before it becomes a path, so upstream data can
never make us write outside `root`. An object is placed with a hard link,
which refuses to replace an existing file: two writers cannot clobber one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from llmsync.hub.hashing import sha256_of
from llmsync.hub.ids import (
    InvalidIdError,
    is_commit_sha,
    require_repo_id,
    require_repo_path,
    require_revision,
)
from llmsync.hub.landing import StoredObject

log = logging.getLogger(__name__)

REPO_TYPES = ("model", "dataset")
API_INFO_TREE = "api-info"
# A listing page names many repos at once, so it is named by its hash alone.
API_LIST_TREE = "api-list"
CURATED_TREE = "curated"
RECORDS = ".records"
CORRUPT = ".corrupt"
# The trees that hold objects, and how many path parts their objects have at
# least; everything else under the root is bookkeeping.
OBJECT_TREES = {"models": 4, "datasets": 4, API_INFO_TREE: 5, API_LIST_TREE: 2, CURATED_TREE: 2}
# Trees whose objects are named by their sha256: the name is the record.
NAMED_BY_HASH = frozenset({API_INFO_TREE, API_LIST_TREE, CURATED_TREE})
_HEX = frozenset("0123456789abcdef")


class RawObjectError(RuntimeError):
    """A landed object is missing, or no longer has the bytes it landed with."""

    def __init__(self, relative: str, problem: str) -> None:
        super().__init__(f"raw object {relative}: {problem}")
        self.relative = relative


class MissingObject(RawObjectError):
    pass


class CorruptObject(RawObjectError):
    pass


class LandingConflict(RawObjectError):
    """An intact object with other bytes is already landed at that path."""


def _require_repo_type(repo_type: str) -> str:
    if repo_type not in REPO_TYPES:
        raise InvalidIdError(f"not a repo type: {repo_type[:40]!r}")
    return repo_type


def _require_sha256(value: str) -> str:
    if len(value) != 64 or not set(value) <= _HEX:
        raise InvalidIdError(f"not a sha256: {value[:80]!r}")
    return value


class RawStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    # -- paths -----------------------------------------------------------

    def _inside(self, *parts: str) -> Path:
        target = self.root.joinpath(*parts)
        # Belt and braces: the callers' checks already exclude every escape.
        if not target.resolve().is_relative_to(self.root.resolve()):
            raise InvalidIdError(f"path escapes the raw store: {'/'.join(parts)[:120]!r}")
        return target

    def path_for(self, repo_id: str, path: str, *, repo_type: str, revision: str) -> Path:
        """Where a repo file lands; raises InvalidIdError for anything unsafe."""
        return self._inside(
            f"{_require_repo_type(repo_type)}s",
            *require_repo_id(repo_id).split("/"),
            require_revision(revision),
            *require_repo_path(path).split("/"),
        )

    def api_info_path(self, repo_id: str, *, revision: str, sha256: str) -> Path:
        """Where a model's API body with this sha256 lands."""
        return self._inside(
            API_INFO_TREE,
            "models",
            *require_repo_id(repo_id).split("/"),
            require_revision(revision),
            f"{_require_sha256(sha256)}.json",
        )

    def relative(self, path: Path) -> str:
        """`path` relative to the root, as a manifest names it."""
        return path.relative_to(self.root).as_posix()

    def object_path(self, relative: str) -> Path:
        """The object a manifest names; only paths inside the object trees pass."""
        require_repo_path(relative)
        parts = relative.split("/")
        minimum = OBJECT_TREES.get(parts[0])
        if minimum is None or len(parts) < minimum:
            raise InvalidIdError(f"not a raw object path: {relative[:120]!r}")
        return self._inside(*parts)

    def _record_path(self, target: Path) -> Path:
        return self.root / RECORDS / target.relative_to(self.root)

    # -- hashes ------------------------------------------------------------

    def _expected(self, target: Path) -> str | None:
        """The sha256 the object at `target` landed with (None: not known).
        An API body or curated file is named by its hash; a repo file has a record."""
        if self.relative(target).split("/")[0] in NAMED_BY_HASH:
            return target.stem
        try:
            record = json.loads(self._record_path(target).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        value = record.get("sha256") if isinstance(record, dict) else None
        return value if isinstance(value, str) else None

    def _write_record(self, target: Path, *, sha256: str, size: int, etag: str | None) -> None:
        record = self._record_path(target)
        record.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "sha256": sha256,
            "size": size,
            # What the Hub announced; the bytes were checked against it on landing.
            "etag": etag,
            "landed_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        # Per thread too: two threads may land the same object at once.
        tmp = record.with_name(f".{record.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps(payload, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, record)

    def _set_aside(self, target: Path, *, expected: str | None, actual: str) -> Path:
        """Move an object whose bytes changed (and its record) under `.corrupt/`."""
        relative = self.relative(target)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
        aside = self.root / CORRUPT / f"{stamp}-{os.urandom(3).hex()}" / relative
        aside.parent.mkdir(parents=True, exist_ok=True)
        os.replace(target, aside)
        record = self._record_path(target)
        if record.is_file():
            os.replace(record, aside.with_name(f"{aside.name}.record.json"))
        log.warning(
            "raw object %s no longer has the bytes it landed with (sha256 %s, now %s); "
            "set aside as %s",
            relative,
            f"{expected[:12]}…" if expected else "not recorded",
            f"{actual[:12]}…",
            self.relative(aside),
        )
        return aside

    # -- reading (online: a bad object is set aside, to be fetched again) ---

    def get(self, repo_id: str, path: str, *, repo_type: str, revision: str) -> StoredObject | None:
        """The landed repo file, only for an immutable commit sha (a branch
        such as `main` moves, so its landing is never reused), and only while
        it has the bytes it landed with. A file whose bytes changed is set
        aside; one with no record (landed by an older llmsync, or a crash
        between the two writes) is left for the next landing to compare."""
        if not is_commit_sha(revision):
            return None
        target = self.path_for(repo_id, path, repo_type=repo_type, revision=revision)
        if not target.is_file():
            return None
        expected = self._expected(target)
        if expected is None:
            return None
        actual = sha256_of(target)
        if actual != expected:
            self._set_aside(target, expected=expected, actual=actual)
            return None
        return StoredObject(target, actual, target.stat().st_size)

    # -- reading (offline: a bad object is an error that names it) ----------

    def check_object(self, relative: str, *, sha256: str) -> StoredObject:
        """The object a manifest names, if it still has that sha256."""
        target = self.object_path(relative)
        if not target.is_file():
            raise MissingObject(relative, "missing from the raw landing")
        actual = sha256_of(target)
        if actual != sha256:
            raise CorruptObject(
                relative,
                f"sha256 is {actual[:12]}…, the manifest says {sha256[:12]}… "
                "(changed on disk since it landed)",
            )
        return StoredObject(target, actual, target.stat().st_size)

    def read_object(self, relative: str, *, sha256: str) -> bytes:
        """The bytes of the object a manifest names, checked against its sha256."""
        target = self.object_path(relative)
        try:
            data = target.read_bytes()
        except FileNotFoundError:
            raise MissingObject(relative, "missing from the raw landing") from None
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha256:
            raise CorruptObject(
                relative,
                f"sha256 is {actual[:12]}…, the manifest says {sha256[:12]}… "
                "(changed on disk since it landed)",
            )
        return data

    def stored(self, path: Path) -> StoredObject:
        """The landed object at `path`, checked against the sha256 it landed with."""
        relative = self.relative(path)
        expected = self._expected(self.object_path(relative))
        if expected is None:
            raise CorruptObject(relative, "no sha256 was recorded when it landed")
        return self.check_object(relative, sha256=expected)

    # -- landing -------------------------------------------------------------

    def put(
        self,
        repo_id: str,
        path: str,
        data: bytes,
        *,
        repo_type: str,
        revision: str,
        etag: str | None = None,
    ) -> StoredObject:
        """Land `data` as a repo file; see `_land`."""
        target = self.path_for(repo_id, path, repo_type=repo_type, revision=revision)
        with self._written(target, data) as tmp:
            return self._land(target, tmp, record=True, etag=etag)

    def put_file(
        self,
        repo_id: str,
        path: str,
        source: Path,
        *,
        repo_type: str,
        revision: str,
        etag: str | None = None,
    ) -> StoredObject:
        """Land the file at `source` as a repo file (linked when on the same
        filesystem, else copied); `source` is left for the caller to remove."""
        target = self.path_for(repo_id, path, repo_type=repo_type, revision=revision)
        return self._land(target, source, record=True, etag=etag)

    def put_api_info(self, repo_id: str, data: bytes, *, revision: str) -> StoredObject:
        """Land a model's API body under its commit, named by its sha256: a body
        that changed at the same commit lands beside the earlier ones."""
        digest = hashlib.sha256(data).hexdigest()
        target = self.api_info_path(repo_id, revision=revision, sha256=digest)
        with self._written(target, data) as tmp:
            return self._land(target, tmp, record=False, etag=None)

    def put_listing(self, data: bytes) -> StoredObject:
        """Land one listing page's exact bytes, named by their sha256."""
        digest = hashlib.sha256(data).hexdigest()
        target = self._inside(API_LIST_TREE, f"{digest}.json")
        with self._written(target, data) as tmp:
            return self._land(target, tmp, record=False, etag=None)

    def curated_path(self, sha256: str) -> Path:
        return self._inside(CURATED_TREE, f"{_require_sha256(sha256)}.yaml")

    def put_curated(self, data: bytes) -> StoredObject:
        """Keep the curated file a snapshot was built from, named by its sha256,
        so `verify` rebuilds with it offline even after the user edits theirs."""
        target = self.curated_path(hashlib.sha256(data).hexdigest())
        with self._written(target, data) as tmp:
            return self._land(target, tmp, record=False, etag=None)

    @contextlib.contextmanager
    def _written(self, target: Path, data: bytes) -> Iterator[Path]:
        """`data` in a temporary file beside `target`, removed afterwards."""
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            yield Path(name)
        finally:
            Path(name).unlink(missing_ok=True)

    def _land(self, target: Path, source: Path, *, record: bool, etag: str | None) -> StoredObject:
        """Place `source`'s bytes at `target`, which is never rewritten.

        The same bytes already there: nothing to do. Other bytes already there
        that still match what they landed with: refused (LandingConflict). Other
        bytes that do not match (changed on disk) or were never recorded: set
        aside, and the new ones land.
        """
        digest, size = sha256_of(source), source.stat().st_size
        target.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(2):
            if target.is_file():
                existing = sha256_of(target)
                if existing == digest:
                    if record and self._expected(target) != digest:
                        self._write_record(target, sha256=digest, size=size, etag=etag)
                    return StoredObject(target, digest, size)
                expected = self._expected(target)
                if expected == existing:
                    raise LandingConflict(
                        self.relative(target),
                        f"already landed with other bytes (sha256 {existing[:12]}…, "
                        f"new {digest[:12]}…); a landed object is never rewritten",
                    )
                self._set_aside(target, expected=expected, actual=existing)
            try:
                _place(source, target)
            except FileExistsError:
                continue  # another writer got there first: compare with theirs
            if record:
                self._write_record(target, sha256=digest, size=size, etag=etag)
            return StoredObject(target, digest, size)
        raise LandingConflict(self.relative(target), "another writer keeps landing it")

    def scratch_dir(self) -> Path:
        """A fresh folder inside the store for downloads in progress, on the
        same filesystem as the landing so a finished file is linked, not copied."""
        base = self.root / ".incoming"
        base.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(dir=base))


def _place(source: Path, target: Path) -> None:
    """Put `source`'s bytes at `target` durably; FileExistsError if `target`
    exists. A hard link never replaces a file, so this cannot clobber one."""
    with source.open("rb") as handle:
        os.fsync(handle.fileno())
    try:
        os.link(source, target)
        return
    except FileExistsError:
        raise
    except OSError:
        pass  # another filesystem, or one without hard links: copy beside the target
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as out, source.open("rb") as src:
            shutil.copyfileobj(src, out)
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(tmp, target)
        except FileExistsError:
            raise
        except OSError:
            if target.exists():
                raise FileExistsError(target) from None
            os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
