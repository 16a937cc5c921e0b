"""The publishers, listed once (`PUBLISHERS`, by URL scheme), and one publish run."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from llmsync.hub.secrets import redact
from llmsync.publish.base import (
    Publisher,
    PublishError,
    PublishFailed,
    PublishSummary,
    RemoteManifest,
    checked_files,
)
from llmsync.publish.hub import HubDatasetPublisher
from llmsync.publish.s3 import S3Publisher
from llmsync.store.snapshots import MANIFEST_NAME, Snapshot

# scheme -> the publisher for a URL of that scheme (`public`: a new Hub repo's visibility).
PUBLISHERS: dict[str, Callable[..., Publisher]] = {
    "s3": S3Publisher.from_url,
    "hf": HubDatasetPublisher.from_url,
}


def publisher_for(url: str, *, public: bool = False) -> Publisher:
    """The publisher of a target URL; a `PublishError` naming it when no
    publisher takes its scheme or the URL is malformed."""
    scheme, sep, _ = url.partition("://")
    factory = PUBLISHERS.get(scheme) if sep else None
    if factory is None:
        known = ", ".join(f"{name}://" for name in PUBLISHERS)
        raise PublishError(f"cannot publish to {url!r}: the URL must start with one of {known}")
    return factory(url, public=public)


def publish_snapshots(publisher: Publisher, snapshots: Sequence[Snapshot]) -> PublishSummary:
    """Publish each snapshot the target lacks, oldest first.

    A snapshot the target holds with the same manifest uploads nothing; one it
    holds with another manifest is reported and left alone. Raises
    `PublishError` naming the target when anything failed or differed (its
    `summary` says what was done before).
    """
    summary = PublishSummary(publisher.target)
    try:
        present = publisher.snapshots_present()
        for snapshot in sorted(snapshots, key=lambda s: s.snapshot_id):
            local_manifest = (snapshot.path / MANIFEST_NAME).read_bytes()
            remote = present.get(snapshot.snapshot_id)
            if remote is not None:
                if remote.same_as(local_manifest):
                    summary.already_present.append(snapshot.snapshot_id)
                else:
                    summary.differing.append(snapshot.snapshot_id)
                continue
            uploaded = publisher.publish(snapshot, checked_files(snapshot))
            summary.published.append(snapshot.snapshot_id)
            summary.files_uploaded += uploaded.files
            summary.bytes_uploaded += uploaded.bytes
            present[snapshot.snapshot_id] = RemoteManifest(data=local_manifest)
        publisher.finish(sorted(present))
    except PublishError as exc:
        raise _failed(summary, str(exc)) from exc
    except OSError as exc:
        raise _failed(summary, f"publish to {publisher.target} failed: {exc}") from exc
    if summary.differing:
        raise _failed(
            summary,
            f"publish to {publisher.target}: {len(summary.differing)} snapshot(s) differ from "
            f"the local copies and were left as they are: {', '.join(summary.differing)}",
        )
    return summary


def _failed(summary: PublishSummary, message: str) -> PublishFailed:
    return PublishFailed(redact(message), summary=summary)
