from __future__ import annotations

import time
from datetime import date
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from llmsync.tables.changes import diff_tables
from llmsync.tables.models import model_record, models_table
from llmsync.tables.schemas import CHANGES, MODELS, SCORES
from tests.tables import FIXTURES, load_fixture_scores

EMPTY_MODELS = MODELS.schema.empty_table()

# The article's repos listed in both the 2024-11-10 and 2025-03-21 v2 exports
# (all but chavinlo/alpaca-native and tatsu-lab/alpaca-7b-wdiff).
V2_REPOS = {
    "tiiuae/falcon-40b-instruct",
    "tiiuae/falcon-40b",
    "tiiuae/falcon-7b-instruct",
    "lmsys/vicuna-13b-v1.3",
    "lmsys/vicuna-7b-v1.3",
    "lmsys/vicuna-7b-v1.5",
    "huggyllama/llama-7b",
    "huggyllama/llama-13b",
    "huggyllama/llama-65b",
    "EleutherAI/gpt-j-6b",
    "databricks/dolly-v2-12b",
    "databricks/dolly-v2-7b",
    "databricks/dolly-v2-3b",
    "EleutherAI/pythia-12b",
}


def revisions(*names: str) -> pa.Table:
    scores = load_fixture_scores()
    value_set = pa.array(names, pa.string())
    return scores.filter(pc.is_in(scores.column("source_revision"), value_set=value_set))


def diff(previous_scores: pa.Table, current_scores: pa.Table) -> list[dict[str, Any]]:
    table = diff_tables(
        {"models": EMPTY_MODELS, "scores": previous_scores},
        {"models": EMPTY_MODELS, "scores": current_scores},
        previous_snapshot="2024-11-10T000000Z",
    )
    assert table.schema.equals(CHANGES.schema)
    changes: list[dict[str, Any]] = table.to_pylist()
    return changes


def of_kind(changes: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [change for change in changes if change["change_kind"] == kind]


def test_no_previous_snapshot_is_no_changes() -> None:
    table = diff_tables(
        None, {"models": EMPTY_MODELS, "scores": load_fixture_scores()}, previous_snapshot=None
    )
    assert table.num_rows == 0
    assert table.schema.equals(CHANGES.schema)


def test_identical_tables_have_no_changes() -> None:
    assert diff(load_fixture_scores(), load_fixture_scores()) == []


def test_v2_2024_11_10_to_2025_03_21() -> None:
    changes = diff(revisions("v2-2024-11-10"), revisions("v2-2025-03-21"))
    falcon_math = [
        c
        for c in of_kind(changes, "score_changed")
        if (c["repo_id"], c["benchmark"]) == ("tiiuae/falcon-40b-instruct", "math_lvl5")
    ]
    assert falcon_math == [
        {
            "change_kind": "score_changed",
            "repo_id": "tiiuae/falcon-40b-instruct",
            "model_name": "tiiuae/falcon-40b-instruct",
            "leaderboard": "open_llm_v2",
            "benchmark": "math_lvl5",
            "precision": "bfloat16",
            "model_sha": "ecb78d97ac356d098e79f0db222c9ce7c5d9ee5f",
            "old_value": None,
            "new_value": None,
            "old_score": 1.66,
            "new_score": 1.96,
            "previous_snapshot": "2024-11-10T000000Z",
        }
    ]
    # The 2025 export re-scored MATH (and so the average); the other benchmarks held.
    # All 14 of the fixture's repos in the 2024-11-10 export are in the 2025 one,
    # and each one's MATH and average moved (README.md of the fixture).
    changed = {(c["repo_id"], c["benchmark"]) for c in of_kind(changes, "score_changed")}
    assert {benchmark for _, benchmark in changed} == {"average", "math_lvl5"}
    assert {repo for repo, _ in changed} == V2_REPOS
    assert len(changed) == 28
    assert of_kind(changes, "score_added") == of_kind(changes, "score_removed") == []
    assert [(c["leaderboard"], c["old_value"], c["new_value"]) for c in changes[-1:]] == [
        ("open_llm_v2", "v2-2024-11-10", "v2-2025-03-21")
    ]
    assert changes[-1]["change_kind"] == "source_revision_changed"


def test_history_compares_each_variant_at_its_latest_revision() -> None:
    # Snapshots hold every revision fetched so far; only the latest of each variant counts.
    older = ("v1-2023-06-10", "v1-2023-09-04", "v1-2024-06-19", "v2-2024-10-09", "v2-2024-11-10")
    changes = diff(revisions(*older), revisions(*older, "v2-2025-03-21"))
    assert {c["leaderboard"] for c in changes} == {"open_llm_v2"}
    assert len(of_kind(changes, "score_changed")) == 28
    assert len(of_kind(changes, "source_revision_changed")) == 1


def test_display_noise_is_not_a_change() -> None:
    current = revisions("v2-2025-03-21")
    # The 2025 export's unrounded normalized IFEval for falcon-40b-instruct vs the displayed 24.54.
    is_cell = pc.and_(
        pc.equal(current.column("repo_id"), "tiiuae/falcon-40b-instruct"),
        pc.equal(current.column("benchmark"), "ifeval"),
    )
    unrounded = pc.if_else(is_cell, pa.scalar(24.544874266945), current.column("score"))
    current = current.set_column(current.schema.get_field_index("score"), "score", unrounded)
    changes = diff(revisions("v2-2024-11-10"), current)
    assert not [c for c in changes if c["benchmark"] == "ifeval"]


def test_scores_added_and_removed() -> None:
    before = revisions("v1-2023-09-04")
    # Bare names have a null repo_id; keep them (a null comparison would drop them).
    keep = pc.fill_null(pc.not_equal(before.column("repo_id"), "tiiuae/falcon-40b-instruct"), True)
    without_falcon = before.filter(keep)
    removed = diff(before, without_falcon)
    assert [
        (c["change_kind"], c["benchmark"], c["old_score"], c["new_score"]) for c in removed
    ] == [
        ("score_removed", "arc", 61.6, None),
        ("score_removed", "average", 63.47, None),
        ("score_removed", "hellaswag", 84.3, None),
        ("score_removed", "mmlu", 55.4, None),
        ("score_removed", "truthfulqa", 52.5, None),
    ]
    added = diff(without_falcon, before)
    assert {c["change_kind"] for c in added} == {"score_added"}
    assert sorted(c["new_score"] for c in added) == [52.5, 55.4, 61.6, 63.47, 84.3]


def test_bare_names_are_variants_too() -> None:
    before = revisions("v1-2023-06-10")
    after = revisions("v1-2023-09-04")
    llama = [
        c
        for c in diff(before, after)
        if c["model_name"] == "llama-7b" and c["benchmark"] == "average"
    ]
    assert [(c["change_kind"], c["repo_id"], c["old_score"], c["new_score"]) for c in llama] == [
        ("score_changed", None, 47.6, 49.72)
    ]


def test_model_changes_from_real_bodies() -> None:
    api = FIXTURES / "api"
    zephyr_2024 = (api / "api_models__HuggingFaceH4__zephyr-7b-beta__14-Mar-2024.json").read_bytes()
    zephyr_2025 = (api / "api_models__HuggingFaceH4__zephyr-7b-beta__21-Mar-2025.json").read_bytes()
    bert = (api / "api_models__google-bert__bert-base-uncased__09-Apr-2024.json").read_bytes()
    gpt2 = (api / "api_models__openai-community__gpt2__21-Mar-2025.json").read_bytes()
    falcon_card = (FIXTURES / "cards" / "tiiuae__falcon-40b-instruct.md").read_bytes()
    previous = models_table(
        [
            model_record("HuggingFaceH4/zephyr-7b-beta", info_json=zephyr_2024, card=None),
            model_record("google-bert/bert-base-uncased", info_json=bert, card=None),
        ]
    )
    current = models_table(
        [
            model_record("HuggingFaceH4/zephyr-7b-beta", info_json=zephyr_2025, card=falcon_card),
            model_record("openai-community/gpt2", info_json=gpt2, card=None),
        ]
    )
    empty_scores = SCORES.schema.empty_table()
    table = diff_tables(
        {"models": previous, "scores": empty_scores},
        {"models": current, "scores": empty_scores},
        previous_snapshot="s1",
    )
    summary = [
        (c["change_kind"], c["repo_id"], c["old_value"], c["new_value"]) for c in table.to_pylist()
    ]
    assert summary == [
        ("model_added", "openai-community/gpt2", None, None),
        ("model_removed", "google-bert/bert-base-uncased", None, None),
        # A README appears (Falcon's card standing in): its licence wins over cardData's.
        ("license_changed", "HuggingFaceH4/zephyr-7b-beta", "mit", "apache-2.0"),
        (
            "card_changed",
            "HuggingFaceH4/zephyr-7b-beta",
            None,
            "57d441f7ffb0ddfb6bfe1bc5c5802b22ec383b21b6bb55823a857ed1f0994a14",
        ),
        (
            "sha_changed",
            "HuggingFaceH4/zephyr-7b-beta",
            "b70e0c9a2d9e14bd1e812d3c398e5f313e93b473",
            "892b3d7a7b1cf10c7a701c60881cd93df615734c",
        ),
        ("status_changed", "HuggingFaceH4/zephyr-7b-beta", "no_card", "ok"),
        # Counts as of each body, written as whole numbers.
        ("likes_changed", "HuggingFaceH4/zephyr-7b-beta", "1355", "1667"),
        ("downloads_changed", "HuggingFaceH4/zephyr-7b-beta", "721583", "684157"),
    ]


def test_large_tables_are_fast() -> None:
    rows = 100_002
    benchmarks = ["average", "ifeval", "bbh", "math_lvl5", "gpqa", "musr", "mmlu_pro"]

    def scores(revision: str, day: date, shift: float) -> pa.Table:
        return pa.table(
            {
                "leaderboard": ["open_llm_v2"] * rows,
                "source_revision": [revision] * rows,
                "source_date": [day] * rows,
                "row_index": [i // 7 for i in range(rows)],
                "model_name": [f"org/model-{i // 7}" for i in range(rows)],
                "repo_id": [f"org/model-{i // 7}" for i in range(rows)],
                "benchmark": [benchmarks[i % 7] for i in range(rows)],
                "score": [float(i % 100) + (shift if i % 10 == 0 else 0.0) for i in range(rows)],
                "raw_score": [None] * rows,
                "precision": ["bfloat16"] * rows,
                "model_sha": [None] * rows,
                "chat_template": [i % 2 == 0 for i in range(rows)],
                "submitted_on": [None] * rows,
            }
        ).cast(SCORES.schema)

    previous = scores("a", date(2024, 11, 10), 0.0)
    current = scores("b", date(2025, 3, 21), 0.5)
    started = time.perf_counter()
    table = diff_tables(
        {"models": EMPTY_MODELS, "scores": previous},
        {"models": EMPTY_MODELS, "scores": current},
        previous_snapshot="a",
    )
    assert time.perf_counter() - started < 10
    assert pc.sum(pc.equal(table.column("change_kind"), "score_changed")).as_py() == 10_001
