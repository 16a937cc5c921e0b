"""A repo whose results a snapshot holds is read again the next night, on a
benchmark's leaderboard or not; when it answers 404 its results close with a
change kind of their own, and neither the catalog nor the report shows them
as current. Leaderboard history is cut to one export (`max_revisions=1`)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from llmsync.pipeline import SyncConfig, run_sync
from llmsync.replay.server import ReplayHub
from tests.recording_edits import without_repo
from tests.tables import published_tables

GEMMA = "google/gemma-4-12B-it"
TODAY = dt.date(2026, 7, 20)
NEXT = TODAY + dt.timedelta(days=1)


def test_a_repo_gone_upstream_closes_its_results(
    replay_hub: ReplayHub,
    recordings_dir: Path,
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    config = SyncConfig(
        data_dir=data_dir, endpoint=replay_hub.url, max_revisions=1, observed_on=TODAY
    )
    assert run_sync(config).status == "published"
    # The next night gemma-4-12B-it is gone: its info answers 404, and it is
    # on no leaderboard any more (they are assembled from the served repos).
    recordings = without_repo(recordings_dir, tmp_path / "recordings", repo_id=GEMMA)
    with ReplayHub(recordings=recordings) as gone:
        report = run_sync(
            SyncConfig(data_dir=data_dir, endpoint=gone.url, max_revisions=1, observed_on=NEXT)
        )
    assert report.status == "published"
    assert report.fetch["reread_for_open_results"] == 1
    tables = published_tables(data_dir)
    gemma = [r for r in tables["eval_results"].to_pylist() if r["repo_id"] == GEMMA]
    assert len(gemma) == 5 and {r["valid_to"] for r in gemma} == {NEXT}
    kinds = [
        (c["change_kind"], c["benchmark"], c["old_score"])
        for c in tables["changes"].to_pylist()
        if c["repo_id"] == GEMMA and c["leaderboard"] == "eval_results"
    ]
    assert sorted(kinds) == [
        ("eval_result_repo_gone", "Idavidrein/gpqa", 78.8),
        ("eval_result_repo_gone", "MMMU/MMMU_Pro", 69.1),
        ("eval_result_repo_gone", "MathArena/aime_2026", 77.5),
        ("eval_result_repo_gone", "TIGER-Lab/MMLU-Pro", 77.2),
        ("eval_result_repo_gone", "cais/hle", 5.2),
    ]
