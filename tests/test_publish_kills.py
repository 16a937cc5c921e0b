"""A publish SIGKILLed mid-way, to S3 (moto's server) and to a Hub dataset (the
replay hub): the target's newest snapshot stays complete, and the next run
completes the publish. bench/bench_publish.py kills 8 times per target."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from llmsync.replay.server import ReplayHub
from llmsync.store.snapshots import SnapshotStore
from tests.conftest import CleanSync
from tests.publish_kills import add_nights, kill_rounds, publish_seconds
from tests.s3_server import copy_snapshots, running_s3_server

# Moments of the kills, as shares of an uncut publish's time (process start
# included): late enough to be past the imports, in the middle of the uploads.
SHARES = (0.7,)


@pytest.fixture(scope="module")
def env(replay_hub_factory: Callable[..., ReplayHub]) -> Iterator[dict[str, str]]:
    hub = replay_hub_factory()
    with running_s3_server() as s3:
        for index in range(len(SHARES) + 1):
            s3.create_bucket(f"kill-{index}")
        yield {**s3.env, "HF_ENDPOINT": hub.url, "HF_TOKEN": "hf_llmsyncKillToken0123456789ab"}


@pytest.mark.parametrize("scheme", ["s3", "hf"])
def test_a_killed_publish_leaves_the_target_readable_and_the_next_run_completes_it(
    scheme: str, env: dict[str, str], clean_sync: CleanSync, tmp_path: Path
) -> None:
    data_dir = copy_snapshots(clean_sync.data_dir, tmp_path / "data")
    add_nights(data_dir, 3)
    local = [snapshot.snapshot_id for snapshot in SnapshotStore(data_dir).snapshots()]
    targets = [
        f"s3://kill-{i}/p" if scheme == "s3" else f"hf://datasets/llmsync/kill-{i}"
        for i in range(len(SHARES) + 1)
    ]
    window = publish_seconds(targets[0], data_dir, env=env)
    delays = [share * window for share in SHARES]
    rounds = kill_rounds(targets[1:], data_dir, delays=delays, env=env)
    assert not any(done.finished_before_kill for done in rounds)
    for done in rounds:
        assert done.newest_after_kill is None or done.newest_after_kill in local
        assert done.newest_after_rerun == local[-1]
