"""Publishing snapshots to a Hub dataset repo: huggingface_hub's commit API for
real, against the replay hub's upload room (`llmsync.replay.uploads`)."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml
from huggingface_hub import CommitOperationAdd, HfApi, hf_hub_download

from llmsync.publish.base import PublishFailed
from llmsync.publish.command import publish_to_targets
from llmsync.replay.server import ReplayHub
from llmsync.store.snapshots import MANIFEST_NAME, TABLE_NAMES, Snapshot, SnapshotStore
from tests.conftest import CleanSync
from tests.publish_kills import add_nights
from tests.s3_server import copy_snapshots

CANARY_TOKEN = "hf_llmsyncCanaryToken0123456789abcdef"
_repos = itertools.count()
_LLMSYNC = (sys.executable, "-m", "llmsync.cli")


@pytest.fixture
def hub(replay_hub: ReplayHub, monkeypatch: pytest.MonkeyPatch) -> Iterator[ReplayHub]:
    monkeypatch.setenv("HF_ENDPOINT", replay_hub.url)
    monkeypatch.setenv("HF_TOKEN", CANARY_TOKEN)
    yield replay_hub


@pytest.fixture
def repo_id() -> str:
    return f"llmsync/demo-{next(_repos)}"


@pytest.fixture
def data_dir(clean_sync: CleanSync, tmp_path: Path) -> Path:
    return copy_snapshots(clean_sync.data_dir, tmp_path / "data")


def _api(hub: ReplayHub) -> HfApi:
    return HfApi(endpoint=hub.url, token=CANARY_TOKEN)


def _latest(data_dir: Path) -> Snapshot:
    snapshot = SnapshotStore(data_dir).latest()
    assert snapshot is not None
    return snapshot


def _card(hub: ReplayHub, repo_id: str, revision: str = "main") -> str:
    path = hf_hub_download(
        repo_id, "README.md", repo_type="dataset", revision=revision, endpoint=hub.url
    )
    return Path(path).read_text(encoding="utf-8")


def _card_metadata(hub: ReplayHub, repo_id: str, revision: str = "main") -> dict[str, object]:
    front: dict[str, object] = yaml.safe_load(_card(hub, repo_id, revision).split("---", 2)[1])
    return front


def test_each_snapshot_is_one_commit_and_a_tag_and_reads_back_with_pandas(
    hub: ReplayHub, repo_id: str, data_dir: Path
) -> None:
    snapshot = _latest(data_dir)
    sid = snapshot.snapshot_id
    url = f"hf://datasets/{repo_id}"
    [summary] = publish_to_targets(data_dir, [url], say=lambda line: None)
    assert summary.published == [sid]
    assert summary.files_uploaded == 10  # 8 tables, the manifest, the card

    api = _api(hub)
    assert api.repo_info(repo_id, repo_type="dataset").private is True
    refs = api.list_repo_refs(repo_id, repo_type="dataset")
    [commit, initial] = api.list_repo_commits(repo_id, repo_type="dataset")
    assert (commit.title, initial.title) == (f"snapshot {sid}", "initial commit")
    assert [(tag.name, tag.target_commit) for tag in refs.tags] == [(sid, commit.commit_id)]
    files = set(api.list_repo_files(repo_id, repo_type="dataset", revision=sid))
    assert files == {
        ".gitattributes",
        "README.md",
        f"snapshot={sid}/{MANIFEST_NAME}",
        *(f"snapshot={sid}/{name}.parquet" for name in TABLE_NAMES),
    }

    front = _card_metadata(hub, repo_id)
    assert front["configs"] == [
        {
            "config_name": name,
            "data_files": [{"split": "train", "path": f"snapshot={sid}/{name}.parquet"}],
            **({"default": True} if name == "catalog" else {}),
        }
        for name in TABLE_NAMES
    ]

    remote = pd.read_parquet(
        f"hf://datasets/{repo_id}@{sid}/snapshot={sid}/scores.parquet",
        storage_options={"endpoint": hub.url},
    )
    local = pq.read_table(snapshot.table_path("scores")).to_pandas()
    assert len(remote) == snapshot.manifest["tables"]["scores"]["rows"]
    pd.testing.assert_frame_equal(remote, local)

    [again] = publish_to_targets(data_dir, [url], say=lambda line: None)
    assert (again.published, again.already_present, again.bytes_uploaded) == ([], [sid], 0)
    assert len(api.list_repo_commits(repo_id, repo_type="dataset")) == 2


def test_a_new_night_adds_one_commit_and_the_card_points_at_it(
    hub: ReplayHub, repo_id: str, data_dir: Path
) -> None:
    url = f"hf://datasets/{repo_id}"
    publish_to_targets(data_dir, [url], say=lambda line: None)
    old = _latest(data_dir)
    [new] = add_nights(data_dir, 1)

    [summary] = publish_to_targets(data_dir, [url], say=lambda line: None)
    assert (summary.published, summary.already_present) == ([new.snapshot_id], [old.snapshot_id])
    api = _api(hub)
    tags = {tag.name for tag in api.list_repo_refs(repo_id, repo_type="dataset").tags}
    assert tags == {old.snapshot_id, new.snapshot_id}
    configs = _card_metadata(hub, repo_id)["configs"]
    assert isinstance(configs, list)
    assert configs[2]["data_files"][0]["path"] == f"snapshot={new.snapshot_id}/scores.parquet"
    # The old tag still pins the old card.
    old_card = _card_metadata(hub, repo_id, revision=old.snapshot_id)["configs"]
    assert isinstance(old_card, list)
    assert old_card[2]["data_files"][0]["path"] == f"snapshot={old.snapshot_id}/scores.parquet"

    body = _card(hub, repo_id).split("---", 2)[2]
    rows = new.manifest["tables"]["scores"]["rows"]
    assert f"### `scores` ({rows:,} rows in snapshot `{new.snapshot_id}`)" in body
    assert "| `valid_to_revision` | `string` |" in body  # the columns, from the schema
    assert "## Sources and licences" in body
    listed = f"| `{new.snapshot_id}` | `{new.snapshot_id}` |\n| `{old.snapshot_id}` |"
    assert listed in body

    # A backfill of the older snapshot keeps the configs on the newest.
    backfilled = f"hf://datasets/{repo_id}-backfill"
    publish_to_targets(data_dir, [backfilled], snapshot_id=new.snapshot_id, say=lambda line: None)
    [summary] = publish_to_targets(data_dir, [backfilled], say=lambda line: None)
    assert summary.published == [old.snapshot_id]
    configs = _card_metadata(hub, f"{repo_id}-backfill")["configs"]
    assert isinstance(configs, list)
    assert configs[2]["data_files"][0]["path"] == f"snapshot={new.snapshot_id}/scores.parquet"


def test_a_differing_copy_on_the_hub_is_reported_and_left_alone(
    hub: ReplayHub, repo_id: str, data_dir: Path
) -> None:
    sid = _latest(data_dir).snapshot_id
    api = _api(hub)
    api.create_repo(repo_id, repo_type="dataset", private=True)
    theirs = b'{"someone": "else"}\n'
    api.create_commit(
        repo_id,
        [CommitOperationAdd(f"snapshot={sid}/{MANIFEST_NAME}", theirs)],
        commit_message="not llmsync's",
        repo_type="dataset",
    )
    url = f"hf://datasets/{repo_id}"
    with pytest.raises(PublishFailed, match=f"{url}: 1 snapshot.* differ") as failed:
        publish_to_targets(data_dir, [url], say=lambda line: None)
    assert failed.value.summary.differing == [sid]
    kept = hf_hub_download(
        repo_id, f"snapshot={sid}/{MANIFEST_NAME}", repo_type="dataset", endpoint=hub.url
    )
    assert Path(kept).read_bytes() == theirs


def test_a_publish_cut_between_its_commit_and_its_tag_is_tagged_next_time(
    hub: ReplayHub, repo_id: str, data_dir: Path
) -> None:
    snapshot = _latest(data_dir)
    sid = snapshot.snapshot_id
    api = _api(hub)
    api.create_repo(repo_id, repo_type="dataset", private=True)
    with (snapshot.path / MANIFEST_NAME).open("rb") as manifest:
        commit = api.create_commit(
            repo_id,
            [CommitOperationAdd(f"snapshot={sid}/{MANIFEST_NAME}", manifest)],
            commit_message=f"snapshot {sid}",
            repo_type="dataset",
        )
    [summary] = publish_to_targets(data_dir, [f"hf://datasets/{repo_id}"], say=lambda line: None)
    assert (summary.already_present, summary.bytes_uploaded) == ([sid], 0)
    refs = api.list_repo_refs(repo_id, repo_type="dataset")
    assert [(tag.name, tag.target_commit) for tag in refs.tags] == [(sid, commit.oid)]


def test_cli_publish_then_the_issue_s_pandas_line_reads_it_without_the_token_anywhere(
    hub: ReplayHub, data_dir: Path
) -> None:
    """`llmsync publish hf://datasets/llmsync/demo --all` with HF_ENDPOINT, then
    `pandas.read_parquet("hf://datasets/llmsync/demo@<id>/snapshot=<id>/scores.parquet")`
    as written, in child processes: what a user types."""
    snapshot = _latest(data_dir)
    sid = snapshot.snapshot_id
    published = subprocess.run(
        [*_LLMSYNC, "publish", "hf://datasets/llmsync/demo", "--all", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert published.returncode == 0, published.stderr
    assert f"published 1 snapshot(s): {sid}" in published.stdout
    remote = f"hf://datasets/llmsync/demo@{sid}/snapshot={sid}/scores.parquet"
    script = (
        f"import pandas; df = pandas.read_parquet({remote!r}); "
        f"df.to_parquet({str(data_dir / 'read.parquet')!r})"
    )
    read = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert read.returncode == 0, read.stderr
    pd.testing.assert_frame_equal(
        pd.read_parquet(data_dir / "read.parquet"),
        pq.read_table(snapshot.table_path("scores")).to_pandas(),
    )
    # A Hub that does not answer: exit 1 naming the target, the token nowhere.
    down = subprocess.run(
        [*_LLMSYNC, "publish", "hf://datasets/llmsync/demo", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "HF_ENDPOINT": "http://127.0.0.1:9"},
    )
    assert down.returncode == 1
    assert down.stderr.startswith(
        "llmsync: publish failed: publish to hf://datasets/llmsync/demo failed while creating"
    )
    stored = [path.read_bytes() for path in (hub.uploads.folder / "objects").iterdir()]
    for text in (published.stdout, published.stderr, read.stdout, read.stderr, down.stderr):
        assert CANARY_TOKEN not in text
    assert not any(CANARY_TOKEN.encode() in blob for blob in stored)


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/api/repos/create", b"not json", 400),
        ("POST", "/api/repos/create", b"[1, 2]", 400),
        ("POST", "/api/repos/create", json.dumps({"name": None, "type": "dataset"}).encode(), 400),
        ("POST", "/api/repos/create", json.dumps({"name": "x", "type": 7}).encode(), 400),
        ("POST", "/api/validate-yaml", json.dumps({"content": "---\n[a: \n---\n"}).encode(), 400),
        ("POST", "/api/datasets/llmsync/none/commit/main", b"{}", 404),
    ],
)
def test_the_upload_room_answers_malformed_requests_with_an_error(
    replay_hub: ReplayHub, method: str, path: str, body: bytes, status: int
) -> None:
    headers = {"Authorization": f"Bearer {CANARY_TOKEN}"}
    reply = httpx.request(method, replay_hub.url + path, content=body, headers=headers)
    assert reply.status_code == status


def test_the_upload_room_refuses_anonymous_writes_and_bad_objects(
    hub: ReplayHub, repo_id: str
) -> None:
    anonymous = httpx.post(
        f"{hub.url}/api/repos/create", json={"name": "x", "organization": "o", "type": "dataset"}
    )
    assert anonymous.status_code == 401
    api = _api(hub)
    api.create_repo(repo_id, repo_type="dataset")
    oid = "0" * 64
    headers = {"Authorization": f"Bearer {CANARY_TOKEN}"}
    batch = httpx.post(
        f"{hub.url}/datasets/{repo_id}.git/info/lfs/objects/batch",
        json={
            "operation": "upload",
            "objects": [{"oid": oid, "size": 3}, {"oid": "x", "size": -1}],
        },
        headers=headers,
    ).json()
    assert batch["objects"][1]["error"]["code"] == 422
    href = batch["objects"][0]["actions"]["upload"]["href"]
    assert httpx.put(href, content=b"abc").status_code == 400  # not the object named
    commit = httpx.post(
        f"{hub.url}/api/datasets/{repo_id}/commit/main",
        content=b'{"key": "lfsFile", "value": {"path": "a.parquet", "oid": "'
        + oid.encode()
        + b'"}}\n',
        headers=headers,
    )
    assert commit.status_code == 400
    assert "was not uploaded" in commit.json()["error"]


def test_a_remote_manifest_is_told_from_the_local_one_by_the_ids_the_hub_lists() -> None:
    from llmsync.hub.hashing import git_blob_oid
    from llmsync.publish.base import RemoteManifest

    local = b'{"snapshot_id": "20260101T000000Z"}\n'
    assert RemoteManifest(git_oid=git_blob_oid(local)).same_as(local)
    assert not RemoteManifest(git_oid=git_blob_oid(local + b" ")).same_as(local)
    assert RemoteManifest(sha256=hashlib.sha256(local).hexdigest()).same_as(local)
    assert not RemoteManifest(sha256="0" * 64, git_oid=git_blob_oid(local)).same_as(local)
    assert not RemoteManifest().same_as(local)
