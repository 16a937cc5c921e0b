"""`llmsync publish URL [--snapshot ID | --all]`, and the publish step of a sync.

Kept out of cli.py: the sync's `--publish URL` and a deployment's `publish:`
list call `publish_to_targets` once the snapshot is published locally.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

# Imported when a publish runs, not when the command line is built: the
# publishers bring in huggingface_hub, which reads HF_ENDPOINT once, on import.
if TYPE_CHECKING:
    from llmsync.publish.base import PublishSummary
    from llmsync.store.snapshots import Snapshot, SnapshotStore

PUBLISH_HELP = (
    "after publishing locally, publish to this target too: s3://BUCKET/PREFIX or "
    "hf://datasets/OWNER/NAME, with every local snapshot it lacks, oldest first (repeatable)"
)


def publish_to_targets(
    data_dir: Path,
    targets: Sequence[str],
    *,
    snapshot_id: str | None = None,
    every: bool = True,
    public: bool = False,
    say: Callable[[str], None] = print,
) -> list[PublishSummary]:
    """Publish the local snapshots to each target in turn: every snapshot the
    target lacks (`every`), else only `snapshot_id` or the newest. A target that
    fails does not stop the next; then `PublishFailed` names every failed target."""
    from llmsync.hub.secrets import redact
    from llmsync.publish.base import PublishError, PublishFailed, PublishSummary
    from llmsync.publish.targets import publish_snapshots, publisher_for
    from llmsync.store.snapshots import SnapshotStore

    store = SnapshotStore(data_dir)
    chosen = _chosen(store, snapshot_id=snapshot_id, every=every)
    summaries: list[PublishSummary] = []
    failures: list[str] = []
    for target in targets:
        try:
            summary = publish_snapshots(publisher_for(target, public=public), chosen)
        except PublishFailed as exc:
            summaries.append(exc.summary)
            failures.append(str(exc))
            if exc.summary.published or exc.summary.already_present or exc.summary.differing:
                for line in exc.summary.lines():
                    say(line)
            continue
        except PublishError as exc:
            failures.append(redact(str(exc)))
            continue
        summaries.append(summary)
        for line in summary.lines():
            say(line)
    if failures:
        raise PublishFailed(
            "; ".join(failures) + " (local snapshots untouched; the next run catches up)",
            summary=summaries[-1] if summaries else PublishSummary(", ".join(targets)),
        )
    return summaries


def _chosen(store: SnapshotStore, *, snapshot_id: str | None, every: bool) -> list[Snapshot]:
    from llmsync.publish.base import PublishError

    published = store.snapshots()
    if snapshot_id is not None:
        chosen = [s for s in published if s.snapshot_id == snapshot_id]
        if not chosen:
            raise PublishError(f"no snapshot {snapshot_id} in {store.processed}")
        return chosen
    if every:
        return published
    return published[-1:]


def add_publish_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    publish = commands.add_parser(
        "publish",
        help="publish local snapshots to s3://BUCKET/PREFIX or hf://datasets/OWNER/NAME",
    )
    publish.add_argument("url", help="the target: s3://BUCKET/PREFIX or hf://datasets/OWNER/NAME")
    which = publish.add_mutually_exclusive_group()
    which.add_argument("--snapshot", help="publish this snapshot id (default: the newest)")
    which.add_argument(
        "--all", action="store_true", help="publish every local snapshot the target lacks"
    )
    publish.add_argument(
        "--data-dir", type=Path, help="the data folder (default: LLMSYNC_DATA_DIR, else ./data)"
    )
    publish.add_argument(
        "--public",
        action="store_true",
        help="with hf://: create the dataset repo public (default: private)",
    )
    publish.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from llmsync.hub.secrets import redact
    from llmsync.publish.base import PublishError
    from llmsync.store.presence import data_dir_problem
    from llmsync.store.snapshots import default_data_dir

    data_dir: Path = args.data_dir or default_data_dir()
    if (problem := data_dir_problem(data_dir)) is not None:
        print(f"llmsync: {problem}", file=sys.stderr)
        return 2
    try:
        publish_to_targets(
            data_dir,
            [args.url],
            snapshot_id=args.snapshot,
            every=args.all,
            public=args.public,
        )
    except PublishError as exc:
        print(f"llmsync: publish failed: {redact(str(exc))}", file=sys.stderr)
        return 1
    return 0
