"""`hf://datasets/OWNER/NAME`: a Hugging Face dataset repo, through huggingface_hub's commit API.

Each snapshot is one commit holding all its files (`snapshot=<id>/<table>.parquet`,
`snapshot=<id>/manifest.json`) and the dataset card (`README.md`, see `card.py`),
then a tag named with the snapshot id pins it: `hf://datasets/OWNER/NAME@<id>/...`
reads that snapshot forever. A commit is atomic on the Hub, so a reader never sees
half a snapshot; a publish killed between the commit and its tag is completed by
the next run (`finish` tags every snapshot on `main` that has no tag yet).

The repo is created when missing, private unless `public`. The token is
huggingface_hub's own (`HF_TOKEN`, else its login), and the endpoint too
(`HF_ENDPOINT`): llmsync never handles either.

The Parquet files go to huggingface_hub as open files, so that it sends them
with the LFS basic transfer (preupload, LFS batch, one PUT each, commit). Given
paths, huggingface_hub 2.x would use the Xet protocol when `hf_xet` is
installed; huggingface_hub falls back to LFS itself for file objects (assumed
accepted by the Hub, not checked from here), and the replay hub speaks only LFS.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import httpx2 as httpx
from huggingface_hub import CommitOperationAdd, HfApi
from huggingface_hub.errors import HfHubHTTPError
from huggingface_hub.hf_api import RepoFile

from llmsync.hub.endpoint import resolve_endpoint
from llmsync.hub.ids import require_repo_id
from llmsync.publish.base import (
    PublishError,
    RemoteManifest,
    SnapshotFile,
    Uploaded,
)
from llmsync.publish.card import CARD_NAME, dataset_card
from llmsync.store.snapshots import MANIFEST_NAME, SNAPSHOT_PREFIX, Snapshot

_URL_PREFIX = "hf://datasets/"
_REPO_TYPE = "dataset"


@dataclass
class HubDatasetPublisher:
    """Publishes snapshots to one dataset repo."""

    target: str
    repo_id: str
    public: bool
    api: HfApi
    # The manifests on `main` (read by `snapshots_present`), for the card and tags.
    _manifests: dict[str, RemoteManifest] = field(default_factory=dict)

    @classmethod
    def from_url(cls, url: str, *, public: bool = False) -> HubDatasetPublisher:
        repo_id = url[len(_URL_PREFIX) :].strip("/") if url.startswith(_URL_PREFIX) else ""
        try:
            require_repo_id(repo_id)
        except ValueError as exc:
            raise PublishError(
                f"cannot publish to {url!r}: expected hf://datasets/OWNER/NAME ({exc})"
            ) from None
        return cls(url, repo_id, public, HfApi(endpoint=resolve_endpoint(None)))

    @contextlib.contextmanager
    def _failing(self, action: str) -> Iterator[None]:
        try:
            yield
        except (HfHubHTTPError, httpx.HTTPError, ValueError, OSError) as exc:
            raise PublishError(f"publish to {self.target} failed while {action}: {exc}") from exc

    def snapshots_present(self) -> dict[str, RemoteManifest]:
        """Every snapshot folder on `main` with a manifest, identified by the
        ids the tree lists: one listing, no download, however many nights."""
        with self._failing("creating or reading the repo"):
            self.api.create_repo(
                self.repo_id, repo_type=_REPO_TYPE, private=not self.public, exist_ok=True
            )
            tree = self.api.list_repo_tree(self.repo_id, recursive=True, repo_type=_REPO_TYPE)
            for item in tree:
                folder, _, name = item.path.partition("/")
                if not folder.startswith(SNAPSHOT_PREFIX) or name != MANIFEST_NAME:
                    continue
                if not isinstance(item, RepoFile):
                    continue
                sha256 = item.lfs.sha256 if item.lfs is not None else None
                found = RemoteManifest(git_oid=item.blob_id, sha256=sha256)
                self._manifests[folder[len(SNAPSHOT_PREFIX) :]] = found
        return dict(self._manifests)

    def publish(self, snapshot: Snapshot, files: Sequence[SnapshotFile]) -> Uploaded:
        snapshot_id = snapshot.snapshot_id
        listed = sorted({*self._manifests, snapshot_id})
        card = dataset_card(self.repo_id, snapshot_ids=listed, manifest=snapshot.manifest)
        with contextlib.ExitStack() as stack:
            operations = [
                CommitOperationAdd(
                    path_in_repo=file.remote_path(snapshot_id),
                    path_or_fileobj=stack.enter_context(file.path.open("rb")),
                )
                for file in files
            ]
            operations.append(CommitOperationAdd(path_in_repo=CARD_NAME, path_or_fileobj=card))
            with self._failing(f"committing snapshot {snapshot_id}"):
                commit = self.api.create_commit(
                    self.repo_id,
                    operations,
                    commit_message=f"snapshot {snapshot_id}",
                    commit_description=f"llmsync snapshot {snapshot_id}: {len(files)} files",
                    repo_type=_REPO_TYPE,
                )
        self._manifests[snapshot_id] = RemoteManifest(
            data=(snapshot.path / MANIFEST_NAME).read_bytes()
        )
        with self._failing(f"tagging snapshot {snapshot_id}"):
            self.api.create_tag(
                self.repo_id,
                tag=snapshot_id,
                revision=commit.oid,
                tag_message=f"llmsync snapshot {snapshot_id}",
                repo_type=_REPO_TYPE,
            )
        sent = sum(file.size for file in files) + len(card)
        return Uploaded(files=len(files) + 1, bytes=sent)

    def finish(self, present: Sequence[str]) -> None:
        """Tag every present snapshot that has no tag (a run killed between its
        commit and its tag): on `main`'s head, which holds its files unchanged,
        as a published snapshot's files are never written again."""
        with self._failing("reading its tags"):
            refs = self.api.list_repo_refs(self.repo_id, repo_type=_REPO_TYPE)
        tagged = {tag.name for tag in refs.tags}
        for snapshot_id in present:
            if snapshot_id in tagged:
                continue
            with self._failing(f"tagging snapshot {snapshot_id}"):
                self.api.create_tag(
                    self.repo_id, tag=snapshot_id, revision="main", repo_type=_REPO_TYPE
                )
