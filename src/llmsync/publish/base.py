"""What every publisher shares: the one small interface, the files of a
snapshot checked against its manifest, and what a publish did.

A publisher copies published snapshots to one remote target in the local
layout (`snapshot=<id>/<table>.parquet` and `snapshot=<id>/manifest.json`).
It never writes to the local store: it reads a snapshot's files and nothing
else, so a failed publish leaves every local snapshot as it was.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from llmsync.hub.hashing import git_blob_oid, sha256_of
from llmsync.store.snapshots import MANIFEST_NAME, SNAPSHOT_PREFIX, Snapshot


class PublishError(RuntimeError):
    """A publish to one target failed; the message names the target."""


class PublishFailed(PublishError):
    """A publish run failed; `summary` says what it did before."""

    def __init__(self, message: str, *, summary: PublishSummary) -> None:
        super().__init__(message)
        self.summary = summary


class SnapshotMismatch(PublishError):
    """A local snapshot's file does not match its manifest: publishing it would
    copy a damaged file, so nothing of it is uploaded."""


@dataclass(frozen=True)
class SnapshotFile:
    """One file of a snapshot to upload: its name inside the snapshot folder,
    where it is on disk, its size and its sha256 (checked against the manifest)."""

    name: str
    path: Path
    size: int
    sha256: str

    def remote_path(self, snapshot_id: str) -> str:
        return f"{snapshot_folder(snapshot_id)}/{self.name}"


def snapshot_folder(snapshot_id: str) -> str:
    return f"{SNAPSHOT_PREFIX}{snapshot_id}"


def checked_files(snapshot: Snapshot) -> list[SnapshotFile]:
    """A snapshot's files, tables first and its manifest last (the order a
    reader trusts: a manifest is written only once every table it lists is),
    each table's sha256 checked against the manifest before anything is sent."""
    files: list[SnapshotFile] = []
    for name, entry in sorted(snapshot.manifest.get("tables", {}).items()):
        path = snapshot.path / str(entry.get("file", f"{name}.parquet"))
        if not path.is_file():
            raise SnapshotMismatch(f"snapshot {snapshot.snapshot_id}: {path.name} is missing")
        digest = sha256_of(path)
        if digest != entry.get("sha256"):
            raise SnapshotMismatch(
                f"snapshot {snapshot.snapshot_id}: {path.name} does not match the sha256 "
                "its manifest records; it is not published"
            )
        files.append(SnapshotFile(path.name, path, path.stat().st_size, digest))
    manifest = snapshot.path / MANIFEST_NAME
    files.append(
        SnapshotFile(MANIFEST_NAME, manifest, manifest.stat().st_size, sha256_of(manifest))
    )
    return files


@dataclass(frozen=True)
class RemoteManifest:
    """A snapshot's manifest as the target identifies it: its bytes (S3 reads
    them), or the ids the Hub lists in a tree (git blob id; sha256 if in LFS),
    so that telling present from differing needs no download there."""

    data: bytes | None = None
    git_oid: str | None = None
    sha256: str | None = None

    def same_as(self, local: bytes) -> bool:
        if self.data is not None:
            return self.data == local
        if self.sha256 is not None:
            return self.sha256 == hashlib.sha256(local).hexdigest()
        return self.git_oid == git_blob_oid(local)


@dataclass(frozen=True)
class Uploaded:
    """What one snapshot's publish sent: files and bytes."""

    files: int
    bytes: int


class Publisher(Protocol):
    """One remote target, chosen by its URL's scheme (see `llmsync.publish`)."""

    #: The target's URL as the user gave it (no credentials are ever part of it).
    target: str

    def snapshots_present(self) -> dict[str, RemoteManifest]:
        """The snapshots the target holds completely, by id."""
        ...

    def publish(self, snapshot: Snapshot, files: Sequence[SnapshotFile]) -> Uploaded:
        """Copy one snapshot the target lacks, so that a reader sees all of it
        or none of it; each file's sha256 is the manifest's."""
        ...

    def finish(self, present: Sequence[str]) -> None:
        """After the publishes: settle what names the newest snapshot (S3's
        `latest.json`, the Hub's tags), also when a killed run left it behind."""
        ...


@dataclass
class PublishSummary:
    """What one publish run did to one target."""

    target: str
    published: list[str] = field(default_factory=list)
    already_present: list[str] = field(default_factory=list)
    # Snapshots whose remote copy is not the local one: reported, never overwritten.
    differing: list[str] = field(default_factory=list)
    files_uploaded: int = 0
    bytes_uploaded: int = 0

    def lines(self) -> list[str]:
        """The summary a user reads, one line each."""
        lines = [f"publish to {self.target}:"]
        if self.published:
            lines.append(
                f"  published {len(self.published)} snapshot(s): {', '.join(self.published)} "
                f"({self.files_uploaded} files, {self.bytes_uploaded:,} bytes)"
            )
        if self.already_present:
            lines.append(
                f"  already present, nothing uploaded: {len(self.already_present)} snapshot(s) "
                f"(newest {self.already_present[-1]})"
            )
        for snapshot_id in self.differing:
            lines.append(
                f"  snapshot {snapshot_id}: the target's copy differs from the local one; "
                "left as it is (never overwritten)"
            )
        if not (self.published or self.already_present or self.differing):
            lines.append("  no local snapshot to publish")
        return lines

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)
