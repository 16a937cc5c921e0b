"""The replay hub serves the Hub's eval results along their real timeline,
read with huggingface_hub itself (real files: recordings/PROVENANCE.md)."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable

import pyarrow.parquet as pq
from huggingface_hub import HfApi, hf_hub_download

from llmsync.replay.server import ReplayHub

GEMMA = "google/gemma-4-12B-it"
BONSAI = "prism-ml/Ternary-Bonsai-27B-gguf"


def test_gemma_results_with_notes_from_open_prs(replay_hub: ReplayHub) -> None:
    info = HfApi(endpoint=replay_hub.url).model_info(GEMMA, expand=["evalResults"])
    got = {(e.dataset_id, e.task_id): (e.value, e.notes) for e in info.eval_results or []}
    assert got == {
        ("Idavidrein/gpqa", "diamond"): (78.8, None),
        ("TIGER-Lab/MMLU-Pro", "mmlu_pro"): (77.2, None),
        ("MMMU/MMMU_Pro", "mmmu_pro"): (69.1, None),
        ("MathArena/aime_2026", "MathArena/aime_2026"): (77.5, "No tools"),
        ("cais/hle", "hle"): (5.2, "No tools"),
    }


def test_bonsai_timeline(replay_hub_factory: Callable[..., ReplayHub]) -> None:
    def results(as_of: dt.date | None) -> dict[str, tuple[str, float]]:
        hub = replay_hub_factory(as_of=as_of)
        info = HfApi(endpoint=hub.url).model_info(BONSAI, expand=["evalResults"])
        return {e.dataset_id: (e.task_id, e.value) for e in info.eval_results or []}

    merged = results(dt.date(2026, 7, 18))
    assert merged["MMMU/MMMU_Pro"] == ("mmmu_pro_vision", 68.96)
    assert merged["Idavidrein/gpqa"] == ("diamond", 72.22)
    today = results(None)  # PR 28's file was deleted from main
    assert "Idavidrein/gpqa" not in today and today["openai/gsm8k"] == ("gsm8k", 96.06)


def test_official_benchmarks_and_leaderboard(replay_hub: ReplayHub) -> None:
    api = HfApi(endpoint=replay_hub.url)
    official = [item.id for item in api.list_datasets(benchmark=True)]
    assert len(official) == 9 and "cais/hle" in official and "openai/gsm8k" in official
    board = api.get_dataset_leaderboard("MathArena/aime_2026", base_model_only=False)
    assert [(e.rank, e.model_id, e.value) for e in board] == [
        (1, BONSAI, 87.5),
        (2, GEMMA, 77.5),
    ]
    assert board[1].pull_request == 6 and board[1].notes == "No tools"


def test_openevals_rebuilt_rows(replay_hub: ReplayHub, tmp_path: object) -> None:
    path = hf_hub_download(
        "OpenEvals/leaderboard-data",
        "data/train-00000-of-00001.parquet",
        repo_type="dataset",
        endpoint=replay_hub.url,
        cache_dir=str(tmp_path),
    )
    with open(path, "rb") as handle:
        table = pq.read_table(io.BytesIO(handle.read()))
    assert table.num_rows == 93 and table.num_columns == 23
    rows = {row["model_name"]: row for row in table.to_pylist()}
    assert rows["meta-llama/Llama-3.1-405B"]["gsm8k_score"] == 96.8


def test_a_population_listing_carries_eval_results(
    replay_hub_factory: Callable[..., ReplayHub],
) -> None:
    hub = replay_hub_factory(population=True)
    api = HfApi(endpoint=hub.url)
    # The author's other (generated) repos are listed too; this is the recorded one.
    listed = api.list_models(author="prism-ml", expand=["evalResults"])
    (bonsai,) = [m for m in listed if m.id == "prism-ml/Ternary-Bonsai-27B-gguf"]
    got = {(e.dataset_id, e.task_id): e.value for e in bonsai.eval_results or []}
    assert got[("MMMU/MMMU_Pro", "mmmu_pro_vision")] == 68.96 and len(got) == 3
