"""Publishing snapshots to S3: a real S3-compatible server (moto's, on
127.0.0.1), pyarrow's S3 filesystem, the snapshots of the shared clean sync."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pyarrow.dataset as ds
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from llmsync.hub.hashing import sha256_of
from llmsync.publish.base import PublishError, PublishFailed
from llmsync.publish.command import publish_to_targets
from llmsync.publish.s3 import LATEST_NAME, s3_filesystem
from llmsync.publish.targets import publisher_for
from llmsync.replay.server import ReplayHub
from llmsync.store.snapshots import MANIFEST_NAME, SnapshotStore
from tests.conftest import CleanSync, cli_sync
from tests.publish_kills import add_nights
from tests.s3_server import (
    CANARY_KEY_ID,
    CANARY_SECRET,
    S3Server,
    copy_snapshots,
    running_s3_server,
)

_buckets = itertools.count()


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    with running_s3_server() as server:
        yield server


@pytest.fixture
def bucket(s3: S3Server) -> str:
    name = f"llmsync-test-{next(_buckets)}"
    s3.create_bucket(name)
    return name


@pytest.fixture
def data_dir(clean_sync: CleanSync, tmp_path: Path) -> Path:
    return copy_snapshots(clean_sync.data_dir, tmp_path / "data")


def _local_hashes(data_dir: Path) -> dict[str, str]:
    return {
        str(path.relative_to(data_dir)): sha256_of(path)
        for path in sorted((data_dir / "processed").rglob("*"))
        if path.is_file()
    }


def _read(key: str) -> bytes:
    with s3_filesystem().open_input_stream(key) as stream:
        data: bytes = stream.read()
        return data


def test_publish_copies_every_snapshot_and_republishing_uploads_nothing(
    data_dir: Path, bucket: str
) -> None:
    store = SnapshotStore(data_dir)
    snapshot = store.latest()
    assert snapshot is not None
    before = _local_hashes(data_dir)
    url = f"s3://{bucket}/nightly"

    [first] = publish_to_targets(data_dir, [url], say=lambda line: None)
    local_bytes = sum(path.stat().st_size for path in snapshot.path.iterdir())
    assert first.published == [snapshot.snapshot_id]
    assert (first.files_uploaded, first.bytes_uploaded) == (9, local_bytes)

    prefix = f"{bucket}/nightly/snapshot={snapshot.snapshot_id}"
    assert _read(f"{prefix}/{MANIFEST_NAME}") == (snapshot.path / MANIFEST_NAME).read_bytes()
    pointer = json.loads(_read(f"{bucket}/nightly/{LATEST_NAME}"))
    assert pointer == {
        "snapshot_id": snapshot.snapshot_id,
        "manifest": f"snapshot={snapshot.snapshot_id}/{MANIFEST_NAME}",
    }
    remote = ds.dataset(f"{prefix}/scores.parquet", filesystem=s3_filesystem()).to_table()
    assert remote.equals(pq.read_table(snapshot.table_path("scores")))
    assert remote.num_rows == snapshot.manifest["tables"]["scores"]["rows"]

    lines: list[str] = []
    [again] = publish_to_targets(data_dir, [url], say=lines.append)
    assert (again.published, again.already_present) == ([], [snapshot.snapshot_id])
    assert (again.files_uploaded, again.bytes_uploaded) == (0, 0)
    assert lines[1] == (
        f"  already present, nothing uploaded: 1 snapshot(s) (newest {snapshot.snapshot_id})"
    )
    assert _local_hashes(data_dir) == before


def test_a_new_night_uploads_only_its_snapshot_and_moves_the_pointer(
    data_dir: Path, bucket: str
) -> None:
    url = f"s3://{bucket}/p"
    publish_to_targets(data_dir, [url], say=lambda line: None)
    store = SnapshotStore(data_dir)
    old = store.latest()
    assert old is not None
    [new] = add_nights(data_dir, 1)

    [summary] = publish_to_targets(data_dir, [url], say=lambda line: None)
    assert (summary.published, summary.already_present) == ([new.snapshot_id], [old.snapshot_id])
    assert summary.bytes_uploaded == sum(path.stat().st_size for path in new.path.iterdir())
    assert json.loads(_read(f"{bucket}/p/{LATEST_NAME}"))["snapshot_id"] == new.snapshot_id

    # A backfill of an older snapshot leaves the pointer on the newest.
    other = f"s3://{bucket}/q"
    publish_to_targets(data_dir, [other], snapshot_id=new.snapshot_id, say=lambda line: None)
    [backfill] = publish_to_targets(data_dir, [other], say=lambda line: None)
    assert (backfill.published, backfill.already_present) == ([old.snapshot_id], [new.snapshot_id])
    assert json.loads(_read(f"{bucket}/q/{LATEST_NAME}"))["snapshot_id"] == new.snapshot_id


def test_a_differing_remote_copy_is_reported_and_never_overwritten(
    data_dir: Path, bucket: str
) -> None:
    url = f"s3://{bucket}/p"
    publish_to_targets(data_dir, [url], say=lambda line: None)
    snapshot = SnapshotStore(data_dir).latest()
    assert snapshot is not None
    key = f"{bucket}/p/snapshot={snapshot.snapshot_id}/{MANIFEST_NAME}"
    theirs = b'{"someone": "else"}\n'
    with s3_filesystem().open_output_stream(key) as out:
        out.write(theirs)

    with pytest.raises(PublishFailed) as failed:
        publish_to_targets(data_dir, [url], say=lambda line: None)
    assert url in str(failed.value)
    assert snapshot.snapshot_id in str(failed.value)
    assert "local snapshots untouched" in str(failed.value)
    assert failed.value.summary.differing == [snapshot.snapshot_id]
    assert _read(key) == theirs


def test_a_publish_cut_before_its_manifest_or_pointer_is_completed_next_time(
    data_dir: Path, bucket: str
) -> None:
    """What a kill leaves on S3 (each PUT is atomic): tables without their
    manifest, or a manifest without the pointer moved."""
    url = f"s3://{bucket}/p"
    publish_to_targets(data_dir, [url], say=lambda line: None)
    snapshot = SnapshotStore(data_dir).latest()
    assert snapshot is not None
    fs = s3_filesystem()
    fs.delete_file(f"{bucket}/p/snapshot={snapshot.snapshot_id}/{MANIFEST_NAME}")
    fs.delete_file(f"{bucket}/p/{LATEST_NAME}")

    [summary] = publish_to_targets(data_dir, [url], say=lambda line: None)
    assert summary.published == [snapshot.snapshot_id]
    assert json.loads(_read(f"{bucket}/p/{LATEST_NAME}"))["snapshot_id"] == snapshot.snapshot_id

    fs.delete_file(f"{bucket}/p/{LATEST_NAME}")
    [summary] = publish_to_targets(data_dir, [url], say=lambda line: None)
    assert (summary.published, summary.bytes_uploaded) == ([], 0)
    assert json.loads(_read(f"{bucket}/p/{LATEST_NAME}"))["snapshot_id"] == snapshot.snapshot_id


def test_a_local_file_that_fails_its_manifest_hash_is_not_published(
    data_dir: Path, bucket: str
) -> None:
    snapshot = SnapshotStore(data_dir).latest()
    assert snapshot is not None
    path = snapshot.table_path("models")
    path.write_bytes(path.read_bytes()[:-1] + b"\0")
    url = f"s3://{bucket}/p"
    with pytest.raises(PublishFailed, match=r"models\.parquet does not match the sha256"):
        publish_to_targets(data_dir, [url], say=lambda line: None)
    assert s3_filesystem().get_file_info(f"{bucket}/p").type.name == "NotFound"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://bucket/x", "must start with one of s3://, hf://"),
        ("s3bucket/x", "must start with one of"),
        ("s3://", "expected s3://BUCKET/PREFIX"),
        ("s3://bucket/p?x=1", "expected s3://BUCKET/PREFIX"),
        ("hf://models/someone/x", "expected hf://datasets/OWNER/NAME"),
        ("hf://datasets/" + "x" * 200, "expected hf://datasets/OWNER/NAME"),
        ("hf://datasets/a/b/../c", "expected hf://datasets/OWNER/NAME"),
    ],
)
def test_a_malformed_target_is_refused_naming_it(url: str, message: str) -> None:
    with pytest.raises(PublishError, match=message) as refused:
        publisher_for(url)
    assert repr(url) in str(refused.value)


@pytest.mark.parametrize("url", ["s3://AKIDCANARY:secretcanary@bucket/p", "s3://secretcanary@b"])
def test_a_target_with_credentials_in_it_is_refused_without_showing_them(url: str) -> None:
    with pytest.raises(PublishError, match="with credentials in it") as refused:
        publisher_for(url)
    assert "secretcanary" not in str(refused.value)


def test_cli_publish_and_its_failures_never_show_the_aws_keys(
    data_dir: Path, bucket: str, s3: S3Server
) -> None:
    snapshot = SnapshotStore(data_dir).latest()
    assert snapshot is not None
    command = [sys.executable, "-m", "llmsync.cli", "publish"]
    ok = subprocess.run(
        [*command, f"s3://{bucket}/cli", "--all", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.splitlines()[:2] == [
        f"publish to s3://{bucket}/cli:",
        f"  published 1 snapshot(s): {snapshot.snapshot_id} (9 files, "
        f"{sum(p.stat().st_size for p in snapshot.path.iterdir()):,} bytes)",
    ]
    missing = subprocess.run(
        [*command, "s3://no-such-bucket/x", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert missing.returncode == 1
    assert missing.stderr.startswith("llmsync: publish failed: publish to s3://no-such-bucket/x")
    assert "local snapshots untouched" in missing.stderr

    fs = s3_filesystem()
    published = [
        _read(info.path)
        for info in fs.get_file_info(pafs.FileSelector(f"{bucket}/cli", recursive=True))
        if info.is_file
    ]
    for text in (ok.stdout, ok.stderr, missing.stdout, missing.stderr, *published):
        for canary in (CANARY_KEY_ID, CANARY_SECRET):
            assert canary not in (text if isinstance(text, str) else text.decode("latin-1"))


def test_a_deployment_publish_list_becomes_the_flow_parameter(tmp_path: Path) -> None:
    from llmsync_flows.serve import ScheduleFileError, load_schedules, to_deployment

    path = tmp_path / "schedules.yaml"
    path.write_text(
        "deployments:\n  - name: nightly\n    cron: '0 3 * * *'\n"
        "    parameters: {population: curated}\n"
        "    publish: [s3://llmsync-demo/nightly, hf://datasets/llmsync/demo]\n"
    )
    [spec] = load_schedules(path)
    assert spec.parameters == {
        "population": "curated",
        "publish": ["s3://llmsync-demo/nightly", "hf://datasets/llmsync/demo"],
    }
    # The flow takes it (Prefect checks parameters against the flow's signature).
    assert to_deployment(spec).parameters["publish"] == spec.parameters["publish"]
    path.write_text("deployments:\n  - name: nightly\n    publish: s3://llmsync-demo/nightly\n")
    with pytest.raises(ScheduleFileError, match="'nightly' publish must be a list of URLs"):
        load_schedules(path)


def test_sync_publish_publishes_after_the_local_snapshot(
    clean_sync: CleanSync, replay_hub: ReplayHub, tmp_path: Path, bucket: str
) -> None:
    """`llmsync sync --publish`: the night's snapshot (here unchanged) and every
    one the target lacks; a target that fails exits 1 naming it, the local
    snapshots kept."""
    data_dir = clean_sync.copy_to(tmp_path / "data")
    before = _local_hashes(data_dir)
    url = f"s3://{bucket}/nightly"
    done = cli_sync(
        replay_hub.url, data_dir, "--publish", url, "--publish", "s3://no-such-bucket/x"
    )
    assert done.returncode == 1, done.stdout + done.stderr
    snapshot = SnapshotStore(data_dir).latest()
    assert snapshot is not None
    lines = done.stdout.splitlines()
    assert lines[0] == "status: unchanged"
    assert lines.index(f"publish to {url}:") > lines.index(f"snapshot: {snapshot.snapshot_id}")
    assert f"published 1 snapshot(s): {snapshot.snapshot_id}" in done.stdout
    assert "no-such-bucket" not in done.stdout
    assert done.stderr.splitlines()[-1].startswith(
        "llmsync: publish failed: publish to s3://no-such-bucket/x failed while uploading"
    )
    assert json.loads(_read(f"{bucket}/nightly/{LATEST_NAME}"))["snapshot_id"] == (
        snapshot.snapshot_id
    )
    assert {k: v for k, v in _local_hashes(data_dir).items() if k in before} == before
