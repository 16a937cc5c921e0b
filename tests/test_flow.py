"""The Prefect flow `sync` and the CLI in front of it, on a temporary Prefect API."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from llmsync.store.snapshots import SnapshotStore
from tests.conftest import V1
from tests.recording_edits import without_repo
from tests.tables import CATALOG_KEYS, published_tables

pytestmark = pytest.mark.slow

CANARY_TOKEN = "hf_CanaryTokenThatMustNeverLeak0123456789"


def _cli(*args: str, api_url: str, token: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PREFECT_API_URL": api_url}
    if token:
        env["HF_TOKEN"] = token
    return subprocess.run(
        [sys.executable, "-m", "llmsync.cli", *args], capture_output=True, text=True, env=env
    )


def test_flow_publishes_and_leaves_an_artifact(
    prefect_api: str, tmp_path: Path, replay_hub_factory: Callable[..., Any]
) -> None:
    from llmsync_flows.sync import ARTIFACT_KEY, sync
    from prefect.client.orchestration import get_client

    hub = replay_hub_factory(as_of=dt.date(2024, 11, 10))
    report = sync(hub=hub.url, data_dir=str(tmp_path))
    assert report["status"] == "published"
    # One catalog row per curated (article model, repo); one models row per repo.
    assert (report["row_counts"]["catalog"], report["row_counts"]["models"]) == (18, 16)
    catalog = published_tables(tmp_path)["catalog"].to_pylist()
    assert {(row["article_model"], row["repo_id"]) for row in catalog} == CATALOG_KEYS
    assert len(catalog) == 18
    dolly = next(row for row in catalog if row["repo_id"] == "databricks/dolly-v2-12b")
    # Open LLM Leaderboard v1 final table, Dolly v2 12B: average 39.46, ARC 42.41.
    assert (dolly["open_llm_v1_average"], dolly["open_llm_v1_arc"]) == (39.46, 42.41)

    async def latest_artifact() -> str:
        async with get_client() as client:
            artifact = await client.read_latest_artifacts()
            found = [a for a in artifact if a.key == ARTIFACT_KEY]
            return str(found[0].data)

    async def task_names(flow_run_id: str) -> list[str]:
        from prefect.client.schemas.filters import TaskRunFilter, TaskRunFilterFlowRunId

        flow_run = TaskRunFilterFlowRunId(any_=[uuid.UUID(flow_run_id)])
        async with get_client() as client:
            runs = await client.read_task_runs(task_run_filter=TaskRunFilter(flow_run_id=flow_run))
            return [run.name for run in runs]

    import asyncio

    # The sources fetch in threads of their own (the independent ones at once):
    # their stages are still tasks of this flow run.
    (run,) = SnapshotStore(tmp_path).runs()
    names = asyncio.run(task_names(run["flow_run_id"]))
    for stage in ("fetch leaderboards", "fetch benchmarks", "fetch models", "publish"):
        assert sum(name.startswith(f"{stage}-") for name in names) == 1, (stage, names)
    markdown = asyncio.run(latest_artifact())
    assert markdown.startswith("# llmsync sync: published\n")
    assert f"- snapshot: `{report['snapshot']}`" in markdown
    assert "| catalog | 18 |" in markdown.splitlines()
    assert "| models | 16 |" in markdown.splitlines()
    # The snapshot's report, beside the snapshots, linked from the artifact.
    page = Path(report["report"])
    assert page == tmp_path / "reports" / f"{report['snapshot']}.html"
    assert "Dolly (databricks/dolly-v2-12b, float16) · v1 average: 39.46" in page.read_text()
    assert f"- [report of snapshot `{report['snapshot']}`]({page.resolve().as_uri()})" in markdown


def test_flow_fails_with_the_reason_when_a_leaderboard_is_missing(
    prefect_api: str, tmp_path: Path, recordings_dir: Path
) -> None:
    from llmsync_flows.sync import sync
    from prefect import get_client

    from llmsync.pipeline import SyncFailed
    from llmsync.replay.server import ReplayHub

    # The v1 leaderboard's dataset is gone upstream.
    recordings = without_repo(recordings_dir, tmp_path / "recordings", repo_id=V1)
    with (
        ReplayHub(recordings=recordings) as hub,
        pytest.raises(SyncFailed, match="leaderboard open_llm_v1"),
    ):
        sync(hub=hub.url, data_dir=str(tmp_path / "data"))

    async def last_state() -> tuple[str, str]:
        async with get_client() as client:
            runs = await client.read_flow_runs(limit=1, sort="EXPECTED_START_TIME_DESC")
            state = runs[0].state
            assert state is not None
            return state.type.value, state.message or ""

    import asyncio

    state_type, message = asyncio.run(last_state())
    assert state_type == "FAILED"
    assert "leaderboard open_llm_v1" in message


def test_cli_scenario_two_snapshots_three_runs(
    prefect_api: str, tmp_path: Path, replay_hub_factory: Callable[..., Any]
) -> None:
    data_dir = str(tmp_path / "d")
    first = _cli(
        "sync", "--hub", "replay", "--as-of", "2024-11-10", "--data-dir", data_dir,
        api_url=prefect_api, token=CANARY_TOKEN,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    assert "status: published" in first.stdout
    second = _cli("sync", "--hub", "replay", "--data-dir", data_dir, api_url=prefect_api)
    assert second.returncode == 0, second.stderr
    # The 112 v2 exports since 2024-11-09, counted from the upstream CSVs with the
    # csv module, each export against the one before it, values compared exactly:
    # rows came and went (19,565 scores added, 84 removed: among them the four Llama
    # 3.1 rows renamed upstream), values were re-scored (7,697), and 2024-12-11's
    # switch to the JSON API's unrounded values rewrote 14,946 that had been rounded
    # to 2 decimals (14,938 of them equal to Python's round(), 8 halfway values):
    # reformattings, not re-evaluations. OpenEvals' one export (2026-03-25) adds
    # its 300 scores and a revision; the Hub's eval results since then bring 8
    # results and the two models the official benchmarks' leaderboards rank; and
    # tatsu-lab/alpaca-7b-wdiff, whose only date is the newest export's, is
    # served from then on (a new sha and status).
    changes = next(line for line in second.stdout.splitlines() if line.startswith("changes: "))
    assert changes == (
        "changes: eval_result_added 8, model_added 2, score_added 19,865, score_changed 7,697, "
        "score_reformatted 14,946, score_removed 84, sha_changed 1, source_revision_changed 2, "
        "status_changed 1"
    )
    # The 112 v2 exports and OpenEvals' one.
    assert "leaderboard revisions parsed: 113 (extending the previous snapshot)" in second.stdout
    third = _cli("sync", "--hub", "replay", "--data-dir", data_dir, api_url=prefect_api)
    assert "status: unchanged" in third.stdout

    listing = _cli("snapshots", "--format", "json", "--data-dir", data_dir, api_url=prefect_api)
    runs = json.loads(listing.stdout)
    assert [r["status"] for r in runs] == ["published", "published", "unchanged"]
    assert runs[2]["snapshot"] == runs[1]["snapshot"]
    assert len(list(Path(data_dir, "processed").glob("snapshot=*"))) == 2

    # The canary token was in the first run's environment: it must be nowhere.
    assert CANARY_TOKEN not in first.stdout + first.stderr
    for path in Path(data_dir).rglob("*"):
        if path.is_file():
            assert CANARY_TOKEN.encode() not in path.read_bytes(), path


def test_cli_exits_non_zero_with_one_line_reason(
    prefect_api: str, tmp_path: Path, recordings_dir: Path
) -> None:
    from llmsync.replay.server import ReplayHub

    recordings = without_repo(recordings_dir, tmp_path / "recordings", repo_id=V1)
    with ReplayHub(recordings=recordings) as hub:
        result = _cli(
            "sync", "--hub", hub.url, "--data-dir", str(tmp_path / "data"), api_url=prefect_api
        )  # fmt: skip
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("llmsync: sync failed: leaderboard open_llm_v1")
    # A date the replay has no recordings for is the user's mistake, said as such.
    early = _cli(
        "sync", "--hub", "replay", "--as-of", "2023-01-01", "--data-dir", str(tmp_path / "early"),
        api_url=prefect_api,
    )  # fmt: skip
    assert early.returncode == 2
    assert early.stderr.strip().splitlines()[-1] == (
        "llmsync: no recordings before 2023-05-23 (the first leaderboard export): "
        "--as-of 2023-01-01 is earlier"
    )
