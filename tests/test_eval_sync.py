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
import pytest

from llmsync.hub.client import HubClient
from llmsync.pipeline import SyncConfig, run_sync
from llmsync.pipeline.rebuild import compare_with_snapshot, rebuild_from_raw
from llmsync.pipeline.sources.benchmarks import _eval_yaml
from llmsync.replay.server import ReplayHub
from llmsync.store.raw import RawStore
from llmsync.store.snapshots import SnapshotStore
from tests.readme_recipes import run_recipes
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


# Its card's model-index and its v1 and v2 scores: the cross-source recipe's model.
ZEPHYR = "HuggingFaceH4/zephyr-7b-beta"
BEFORE, MERGED = dt.date(2026, 6, 1), dt.date(2026, 7, 18)


@pytest.fixture(scope="module")
def chain(
    replay_hub_factory: Callable[..., ReplayHub],
    replay_hub: ReplayHub,
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    """Three nights: before gemma's PRs (2026-06-01), the day PR 28 merged
    (2026-07-18), and today (PR 28's file deleted). zephyr-7b-beta is tracked
    too, for the cross-source recipe."""
    data_dir = tmp_path_factory.mktemp("chain") / "data"
    for hub, on in (
        (replay_hub_factory(as_of=BEFORE), BEFORE),
        (replay_hub_factory(as_of=MERGED), MERGED),
        (replay_hub, TODAY),
    ):
        config = SyncConfig(
            data_dir=data_dir,
            endpoint=hub.url,
            max_revisions=1,
            observed_on=on,
            extra_repos=(ZEPHYR,),
        )
        assert run_sync(config).status == "published"
    return data_dir


def test_history_opens_and_closes_and_verify_rebuilds_it(chain: Path) -> None:
    store = SnapshotStore(chain)
    first = store.snapshots()[0]
    assert first.read_table("eval_results").num_rows == 0  # before 2026-06-03
    tables = published_tables(chain)
    results = tables["eval_results"]
    assert {r["valid_from"] for r in _rows(results, repo_id=GEMMA)} == {MERGED}
    (gpqa,) = _rows(results, repo_id=BONSAI, dataset_id="Idavidrein/gpqa")
    assert (gpqa["value"], gpqa["valid_from"], gpqa["valid_to"]) == (72.22, MERGED, TODAY)
    assert gpqa["filename"] == ".eval_results/gpqa_diamond.yaml" and gpqa["pull_request"] is None
    changes = tables["changes"].to_pylist()
    kinds = [(r["change_kind"], r["repo_id"], r["benchmark"]) for r in changes]
    assert [k for k in kinds if k[0].startswith("eval_")] == [
        ("eval_result_removed", BONSAI, "Idavidrein/gpqa")
    ]
    latest = store.latest()
    assert latest is not None
    assert all(compare_with_snapshot(latest, rebuild_from_raw(store, latest)).values())


def test_a_second_unchanged_sync_publishes_nothing(chain: Path, replay_hub: ReplayHub) -> None:
    config = SyncConfig(
        data_dir=chain,
        endpoint=replay_hub.url,
        max_revisions=1,
        observed_on=TODAY + dt.timedelta(days=1),
        extra_repos=(ZEPHYR,),
    )
    assert run_sync(config).status == "unchanged"


def test_readme_recipes_on_three_nights(chain: Path, tmp_path: Path) -> None:
    """The README's eval recipes on the three nights it shows them on (its
    `dev.sh demo --as-of DAY` loop; the chain reads each leaderboard's newest
    export only, and those recipes read no value an older export holds alone)
    print exactly what it shows under each."""
    found = run_recipes("eval-nights", chain, tmp_path)
    assert list(found) == ["every-score-of-one-model", "one-benchmark-as-of", "changed-this-week"]
    for name, (printed, shown) in found.items():
        assert printed == shown, f"README recipe {name} prints:\n{printed}"


def test_the_benchmarks_cost_one_listing_and_two_requests_a_benchmark(
    replay_hub: ReplayHub, tmp_path: Path
) -> None:
    """A cold sync: the listing, then per benchmark its eval.yaml (one GET at
    the sha the listing names) and its leaderboard; a warm one re-reads the
    listing and leaderboards only: each eval.yaml is landed at its sha."""
    config = SyncConfig(data_dir=tmp_path, endpoint=replay_hub.url, max_revisions=1)
    cold = run_sync(config).fetch["benchmark_requests"]
    warm = run_sync(config).fetch["benchmark_requests"]
    assert (cold, warm) == (1 + 9 * (1 + 1), 1 + 9)


@pytest.mark.parametrize("sha", ["main", "0" * 10_000, "../../etc", "A" * 40])
def test_a_listing_sha_that_is_no_commit_costs_its_eval_yaml_only(
    replay_hub: ReplayHub, tmp_path: Path, sha: str
) -> None:
    """An eval.yaml is read at the commit the listing names: a branch, a
    huge or hostile value is named as a failure, and nothing is asked."""
    client = HubClient(endpoint=replay_hub.url, raw_store=RawStore(tmp_path))
    failures: list[str] = []
    replay_hub.clear_requests()
    assert _eval_yaml(client, "cais/hle", sha, failures) is None
    assert failures == [f"cais/hle eval.yaml: the listing's sha {sha[:40]!r} is no commit"]
    assert replay_hub.requests == []
