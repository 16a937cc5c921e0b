"""The plain demo (`llmsync sync --hub replay`) answers for every curated repo:
none is reported missing from the Hub, and a card the recordings lack is
reported as a gap in the recordings (`not_recorded`), never as a Hub fact."""

from __future__ import annotations

import json

import pyarrow as pa

from llmsync.store.snapshots import SnapshotStore
from tests.conftest import CleanSync

# The 16 repos of the curated file, as the plain replay hub answers them.
STATUSES = {
    "EleutherAI/gpt-j-6b": "ok",
    "EleutherAI/pythia-12b": "ok",
    "chavinlo/alpaca-native": "not_recorded",
    "databricks/dolly-v2-12b": "ok",
    "databricks/dolly-v2-3b": "not_recorded",
    "databricks/dolly-v2-7b": "not_recorded",
    "huggyllama/llama-13b": "not_recorded",
    "huggyllama/llama-65b": "not_recorded",
    "huggyllama/llama-7b": "not_recorded",
    "lmsys/vicuna-13b-v1.3": "ok",
    "lmsys/vicuna-7b-v1.3": "ok",
    "lmsys/vicuna-7b-v1.5": "ok",
    "tatsu-lab/alpaca-7b-wdiff": "not_recorded",
    "tiiuae/falcon-40b": "ok",
    "tiiuae/falcon-40b-instruct": "ok",
    "tiiuae/falcon-7b-instruct": "ok",
}


def _models(clean_sync: CleanSync) -> dict[str, dict[str, object]]:
    table: pa.Table = clean_sync.tables["models"]
    return {row["repo_id"]: row for row in table.to_pylist()}


def test_every_curated_repo_answers(clean_sync: CleanSync) -> None:
    models = _models(clean_sync)
    # Besides the curated repos, the two models the official benchmarks'
    # leaderboards rank, whose cards were never recorded.
    assert {repo: row["status"] for repo, row in models.items()} == STATUSES | {
        "google/gemma-4-12B-it": "no_card",
        "prism-ml/Ternary-Bonsai-27B-gguf": "no_card",
    }
    report = clean_sync.report
    assert report.failures == []
    assert not report.partial
    gaps = sorted(line.split(":", 1)[0] for line in report.recording_gaps)
    assert gaps == sorted(repo for repo, status in STATUSES.items() if status == "not_recorded")
    llama = next(line for line in report.recording_gaps if line.startswith("huggyllama/llama-7b"))
    assert "HTTP 404 NotRecorded" in llama and "472 bytes at commit 08637d3" in llama


def test_values_come_from_the_served_cards_and_rows(clean_sync: CleanSync) -> None:
    models = _models(clean_sync)
    falcon7 = models["tiiuae/falcon-7b-instruct"]
    # From its Hub card's front matter (`license: apache-2.0`).
    assert (falcon7["license"], falcon7["card_present"]) == ("apache-2.0", True)
    # Its 2025-03-21 leaderboard row: sha, likes, `#Params (B)`.
    assert falcon7["sha"] == "cf4b3c42ce2fdfe24f753f0f0d179202fea59c99"
    assert (falcon7["likes"], falcon7["params_b"]) == (950, 7.0)
    pythia = models["EleutherAI/pythia-12b"]
    assert (pythia["license"], pythia["likes"]) == ("apache-2.0", 135)
    assert pythia["sha"] == "35c9d7f32fbb108fb8b5bdd574eb03369d1eed49"
    # No card recorded: the row's `Hub License` (a `license:` tag) and parameters.
    llama13 = models["huggyllama/llama-13b"]
    assert (llama13["license"], llama13["params_b"], llama13["likes"]) == ("other", 13.016, 139)
    assert llama13["card_present"] is False


def test_the_manifest_keeps_gaps_apart_from_failures(clean_sync: CleanSync) -> None:
    latest = SnapshotStore(clean_sync.data_dir).latest()
    assert latest is not None
    manifest = json.loads((latest.path / "manifest.json").read_text())
    assert manifest["failures"] == []
    assert len(manifest["recording_gaps"]) == 7
