"""The Prefect flow's publish step: after the local publish, every target gets
the snapshots it lacks; a target that fails fails the step (and the run) with
an error naming it, the local snapshot kept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmsync.publish.base import PublishFailed
from llmsync.publish.s3 import LATEST_NAME, s3_filesystem
from llmsync.replay.server import ReplayHub
from llmsync.store.snapshots import SnapshotStore
from tests.conftest import CleanSync
from tests.s3_server import running_s3_server


def test_the_flow_publishes_last_and_a_failed_target_fails_the_run_naming_it(
    prefect_api: str, clean_sync: CleanSync, replay_hub: ReplayHub, tmp_path: Path
) -> None:
    from llmsync_flows.sync import sync

    data_dir = clean_sync.copy_to(tmp_path / "data")
    with running_s3_server() as s3:
        s3.create_bucket("flow")
        good, bad = "s3://flow/nightly", "s3://no-such-bucket/x"
        with pytest.raises(PublishFailed, match=f"publish to {bad} failed") as failed:
            sync(hub=replay_hub.url, data_dir=str(data_dir), publish=[good, bad])
        assert good not in str(failed.value)
        snapshot = SnapshotStore(data_dir).latest()
        assert snapshot is not None
        assert SnapshotStore(data_dir).verify(snapshot) == []
        with s3_filesystem().open_input_stream(f"flow/nightly/{LATEST_NAME}") as stream:
            assert json.load(stream)["snapshot_id"] == snapshot.snapshot_id

        result = sync(hub=replay_hub.url, data_dir=str(data_dir), publish=[good])
        assert result["status"] == "unchanged"
        [summary] = result["publish"]
        assert (summary["target"], summary["already_present"]) == (good, [snapshot.snapshot_id])
        assert summary["bytes_uploaded"] == 0
