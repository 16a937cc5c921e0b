"""Syncs against the replay hub publish the Hub's eval results, the official
benchmarks and the OpenEvals scores, with the real values of the recorded files
(recordings/PROVENANCE.md). Leaderboard history is cut to one export each
(`max_revisions=1`): these tests are about the new sources."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa

from llmsync.pipeline import SyncConfig, run_sync
from llmsync.pipeline.rebuild import compare_with_snapshot, rebuild_from_raw
from llmsync.replay.server import ReplayHub
from llmsync.store.snapshots import SnapshotStore
from tests.tables import published_tables

GEMMA = "google/gemma-4-12B-it"
BONSAI = "prism-ml/Ternary-Bonsai-27B-gguf"
# The day after the newest recorded commit (the deletion of PR 28's file).
TODAY = dt.date(2026, 7, 20)


def _sync(hub: ReplayHub, data_dir: Path, on: dt.date) -> str:
    config = SyncConfig(data_dir=data_dir, endpoint=hub.url, max_revisions=1, observed_on=on)
    return run_sync(config).status


def _rows(table: pa.Table, **where: Any) -> list[dict[str, Any]]:
    return [r for r in table.to_pylist() if all(r[k] == v for k, v in where.items())]


def test_demo_sync_publishes_eval_results_benchmarks_and_openevals(
    replay_hub: ReplayHub, tmp_path: Path
) -> None:
    assert _sync(replay_hub, tmp_path, TODAY) == "published"
    tables = published_tables(tmp_path)
    results = tables["eval_results"]
    gemma = {
        (r["dataset_id"], r["task_id"]): (r["value"], r["notes"], r["pull_request"])
        for r in _rows(results, repo_id=GEMMA)
    }
    assert gemma == {
        ("Idavidrein/gpqa", "diamond"): (78.8, None, 3),
        ("TIGER-Lab/MMLU-Pro", "mmlu_pro"): (77.2, None, 4),
        ("MMMU/MMMU_Pro", "mmmu_pro"): (69.1, None, 5),
        ("MathArena/aime_2026", "MathArena/aime_2026"): (77.5, "No tools", 6),
        ("cais/hle", "hle"): (5.2, "No tools", 7),
    }
    bonsai = {(r["dataset_id"], r["task_id"]): r["value"] for r in _rows(results, repo_id=BONSAI)}
    assert bonsai == {
        ("MathArena/aime_2026", "MathArena/aime_2026"): 87.5,
        ("openai/gsm8k", "gsm8k"): 96.06,
        ("MMMU/MMMU_Pro", "mmmu_pro_vision"): 68.96,
    }
    assert {r["valid_from"] for r in results.to_pylist()} == {TODAY}
    assert all(r["raw_object"].startswith("api-info/models/") for r in results.to_pylist())

    benchmarks = tables["benchmarks"]
    official = {r["dataset_id"] for r in _rows(benchmarks, official=True)}
    assert len(official) == 9 and {"cais/hle", "openai/gsm8k", "Idavidrein/gpqa"} <= official
    (aime,) = _rows(benchmarks, dataset_id="MathArena/aime_2026")
    assert aime["evaluation_framework"] == "math-arena" and aime["leaderboard_entries"] == 2
    assert (
        _rows(benchmarks, dataset_id="MMMU/MMMU_Pro", task_id="mmmu_pro_vision")[0]["official"]
        is False
    )

    (llama,) = _rows(
        tables["scores"],
        leaderboard="openevals",
        model_name="meta-llama/Llama-3.1-405B",
        benchmark="openai/gsm8k",
    )
    assert llama["value"] == 96.8
    assert _rows(tables["revisions"], leaderboard="openevals")[0]["rows"] == 93

    # The article's 2023 models have no eval results: a count of 0, and one
    # entry per official benchmark, each with a null value.
    (dolly,) = _rows(tables["catalog"], article_model="Dolly", repo_id="databricks/dolly-v2-12b")
    assert dolly["eval_results_count"] == 0
    assert [e["dataset_id"] for e in dolly["eval_latest"]] == sorted(official)
    assert {e["value"] for e in dolly["eval_latest"]} == {None}


def test_history_opens_and_closes_and_an_unchanged_night_publishes_nothing(
    replay_hub_factory: Callable[..., ReplayHub], replay_hub: ReplayHub, tmp_path: Path
) -> None:
    before, merged = dt.date(2026, 6, 1), dt.date(2026, 7, 18)
    assert _sync(replay_hub_factory(as_of=before), tmp_path, before) == "published"
    assert published_tables(tmp_path)["eval_results"].num_rows == 0
    assert _sync(replay_hub_factory(as_of=merged), tmp_path, merged) == "published"
    assert _sync(replay_hub, tmp_path, TODAY) == "published"
    tables = published_tables(tmp_path)
    results = tables["eval_results"]
    assert {r["valid_from"] for r in _rows(results, repo_id=GEMMA)} == {merged}
    (gpqa,) = _rows(results, repo_id=BONSAI, dataset_id="Idavidrein/gpqa")
    assert (gpqa["value"], gpqa["valid_from"], gpqa["valid_to"]) == (72.22, merged, TODAY)
    assert gpqa["filename"] == ".eval_results/gpqa_diamond.yaml" and gpqa["pull_request"] is None
    changes = tables["changes"].to_pylist()
    kinds = [(r["change_kind"], r["repo_id"], r["benchmark"]) for r in changes]
    assert ("eval_result_removed", BONSAI, "Idavidrein/gpqa") in kinds

    store = SnapshotStore(tmp_path)
    latest = store.latest()
    assert latest is not None
    assert all(compare_with_snapshot(latest, rebuild_from_raw(store, latest)).values())

    assert _sync(replay_hub, tmp_path, TODAY + dt.timedelta(days=1)) == "unchanged"
