"""`s3://BUCKET/PREFIX`: any S3-compatible object store, through pyarrow's S3 filesystem.

Remote layout under the prefix, the local one plus a pointer::

    snapshot=<id>/<table>.parquet     each table, as published locally
    snapshot=<id>/manifest.json       written once every table is written and read back
    latest.json                       {"snapshot_id": ..., "manifest": ...}, moved last

One PUT is atomic on S3: an object is all there or not there. A snapshot
counts as present only once its manifest is; the manifest goes up only after
every table was read back and matched its sha256, and `latest.json` moves only
after that. A publish killed at any moment therefore leaves the previous
pointer on a complete snapshot; the next run finds no manifest and uploads
that snapshot again.

Endpoint, region and credentials come the standard AWS way: `AWS_ENDPOINT_URL_S3`
or `AWS_ENDPOINT_URL` (read here: pyarrow's S3 filesystem does not read them),
`AWS_REGION` / `AWS_DEFAULT_REGION`, and the AWS SDK's own chain for the keys
(`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`,
`AWS_PROFILE` and `~/.aws`). Keys are never passed through llmsync's code,
and they are registered with the redaction of every message.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import pyarrow.fs as pafs

from llmsync.hub.secrets import register_secret
from llmsync.publish.base import (
    PublishError,
    RemoteManifest,
    SnapshotFile,
    Uploaded,
    snapshot_folder,
)
from llmsync.store.snapshots import MANIFEST_NAME, SNAPSHOT_PREFIX, Snapshot

LATEST_NAME = "latest.json"
_CHUNK = 1 << 20
# The AWS variables that hold secrets: masked in every message llmsync writes.
_SECRET_VARIABLES = ("AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SESSION_TOKEN")


def s3_filesystem() -> pafs.S3FileSystem:
    """pyarrow's S3 filesystem configured the standard AWS way (see the module)."""
    for name in _SECRET_VARIABLES:
        register_secret(os.environ.get(name))
    options: dict[str, str] = {}
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        parts = urlsplit(endpoint)
        if "@" in parts.netloc:
            # Keys belong in their own variables: this URL is not shown, it holds one.
            raise PublishError("AWS_ENDPOINT_URL must not hold credentials (user:key@)")
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise PublishError(f"AWS_ENDPOINT_URL must be an http(s) URL, not {endpoint!r}")
        options["endpoint_override"] = parts.netloc
        options["scheme"] = parts.scheme
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if region:
        options["region"] = region
    return pafs.S3FileSystem(**options)


@dataclass
class S3Publisher:
    """Publishes snapshots under one bucket and prefix."""

    target: str
    bucket: str
    prefix: str
    fs: pafs.FileSystem

    @classmethod
    def from_url(cls, url: str, *, public: bool = False) -> S3Publisher:
        del public  # an S3 target's visibility is the bucket's policy, not ours to set
        parts = urlsplit(url)
        if "@" in parts.netloc:
            # Not echoed: the URL holds what looks like a key. Keys come from the AWS chain.
            raise PublishError("cannot publish to an s3:// URL with credentials in it (user:key@)")
        if parts.scheme != "s3" or not parts.netloc or parts.query or parts.fragment:
            raise PublishError(f"cannot publish to {url!r}: expected s3://BUCKET/PREFIX")
        return cls(url, parts.netloc, parts.path.strip("/"), s3_filesystem())

    def _key(self, relative: str) -> str:
        return "/".join(part for part in (self.bucket, self.prefix, relative) if part)

    def _error(self, action: str, exc: Exception) -> PublishError:
        return PublishError(f"publish to {self.target} failed while {action}: {exc}")

    def _read(self, relative: str) -> bytes | None:
        try:
            with self.fs.open_input_stream(self._key(relative)) as stream:
                data: bytes = stream.read()
                return data
        except FileNotFoundError:
            return None

    def snapshots_present(self) -> dict[str, RemoteManifest]:
        try:
            listing = self.fs.get_file_info(pafs.FileSelector(self._key(""), allow_not_found=True))
            present: dict[str, RemoteManifest] = {}
            for info in listing:
                if info.type != pafs.FileType.Directory:
                    continue
                if not info.base_name.startswith(SNAPSHOT_PREFIX):
                    continue
                snapshot_id = info.base_name[len(SNAPSHOT_PREFIX) :]
                manifest = self._read(f"{info.base_name}/{MANIFEST_NAME}")
                # No manifest: a publish killed before it finished; not present.
                if manifest is not None:
                    present[snapshot_id] = RemoteManifest(data=manifest)
            return present
        except OSError as exc:
            raise self._error("listing its snapshots", exc) from exc

    def _put(self, file: SnapshotFile, relative: str) -> None:
        """Upload one file, then read it back: its sha256 must be the manifest's."""
        key = self._key(relative)
        with self.fs.open_output_stream(key) as out, file.path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                out.write(chunk)
        digest = hashlib.sha256()
        with self.fs.open_input_stream(key) as stream:
            while chunk := stream.read(_CHUNK):
                digest.update(chunk)
        if digest.hexdigest() != file.sha256:
            raise PublishError(
                f"publish to {self.target}: {relative} read back does not match its sha256"
            )

    def publish(self, snapshot: Snapshot, files: Sequence[SnapshotFile]) -> Uploaded:
        # The manifest last: its presence is what makes the snapshot present.
        ordered = sorted(files, key=lambda file: file.name == MANIFEST_NAME)
        try:
            for file in ordered:
                self._put(file, file.remote_path(snapshot.snapshot_id))
        except OSError as exc:
            raise self._error(f"uploading snapshot {snapshot.snapshot_id}", exc) from exc
        self.finish([snapshot.snapshot_id])
        return Uploaded(files=len(ordered), bytes=sum(file.size for file in ordered))

    def finish(self, present: Sequence[str]) -> None:
        """Point `latest.json` at the newest present snapshot, only ever forward
        (a backfill of older snapshots leaves it); also after a run killed
        between a manifest and the pointer."""
        if not present:
            return
        newest = max(present)
        try:
            current = self._read(LATEST_NAME)
            if current is not None and str(json.loads(current).get("snapshot_id")) >= newest:
                return
        except (OSError, ValueError, AttributeError):
            pass  # no pointer, or not ours to read: write it
        pointer = {
            "snapshot_id": newest,
            "manifest": f"{snapshot_folder(newest)}/{MANIFEST_NAME}",
        }
        body = (json.dumps(pointer, indent=2, sort_keys=True) + "\n").encode()
        try:
            with self.fs.open_output_stream(self._key(LATEST_NAME)) as out:
                out.write(body)
        except OSError as exc:
            raise self._error(f"moving {LATEST_NAME} to {newest}", exc) from exc
