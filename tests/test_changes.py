"""`changes` from score intervals of real exports and from real model API bodies.

The article's rows are those transcribed from the upstream CSVs (each revision
named by its label, `v2-2025-03-21`); whole-leaderboard counts come from the
recorded exports as parsed (`tests.recorded`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from llmsync.tables.changes import PreviousState, diff_snapshot
from llmsync.tables.intervals import Export, extend
from llmsync.tables.models import model_record, models_table
from llmsync.tables.revisions import RevisionRecord, revisions_table
from llmsync.tables.schemas import BENCHMARKS, CHANGES, MODELS, SCORES
from tests.recorded import recorded_exports, recorded_scores, revision_of
from tests.tables import FIXTURE_EXPORTS, FIXTURES, fixture_rows, fixture_scores

EMPTY_MODELS = MODELS.schema.empty_table()
FALCON = "tiiuae/falcon-40b-instruct"
LABELS = tuple(FIXTURE_EXPORTS)
# The article's repos listed in both the 2024-11-09 and 2025-03-21 v2 exports
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


def leaderboard_of(label: str) -> str:
    return "open_llm_v1" if label.startswith("v1-") else "open_llm_v2"


def seen(*labels: str, name: Callable[[str], str] = str) -> dict[str, list[str]]:
    """What a previous snapshot that read `labels` lists: newest first per leaderboard."""
    found: dict[str, list[str]] = {}
    for label in labels:
        found.setdefault(leaderboard_of(label), []).insert(0, name(label))
    return found


def diff(
    before: tuple[str, ...],
    *,
    scores: pa.Table | None = None,
    revisions: pa.Table | None = None,
) -> list[dict[str, Any]]:
    """Changes of the snapshot built from every fixture export against one that read `before`."""
    all_scores, all_revisions = fixture_scores()
    table = diff_snapshot(
        PreviousState("20241110T000000Z", EMPTY_MODELS, seen(*before)),
        models=EMPTY_MODELS,
        scores=all_scores if scores is None else scores,
        revisions=all_revisions if revisions is None else revisions,
    )
    assert table.schema.equals(CHANGES.schema)
    changes: list[dict[str, Any]] = table.to_pylist()
    return changes


def of_kind(changes: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [change for change in changes if change["change_kind"] == kind]


def test_no_previous_snapshot_is_no_changes() -> None:
    scores, revisions = fixture_scores()
    table = diff_snapshot(None, models=EMPTY_MODELS, scores=scores, revisions=revisions)
    assert table.num_rows == 0
    assert table.schema.equals(CHANGES.schema)


def test_no_new_revision_is_no_changes() -> None:
    assert diff(LABELS) == []


def test_v2_2024_11_09_to_2025_03_21() -> None:
    before = tuple(label for label in LABELS if label != "v2-2025-03-21")
    changes = diff(before)
    falcon_math = [
        c
        for c in of_kind(changes, "score_changed")
        if (c["repo_id"], c["benchmark"]) == (FALCON, "math_lvl5")
    ]
    assert falcon_math == [
        {
            "change_kind": "score_changed",
            "repo_id": FALCON,
            "model_name": FALCON,
            "leaderboard": "open_llm_v2",
            "benchmark": "math_lvl5",
            "precision": "bfloat16",
            "model_sha": "ecb78d97ac356d098e79f0db222c9ce7c5d9ee5f",
            "revision": "v2-2025-03-21",
            "date": dt.date(2025, 3, 21),
            "old_value": None,
            "new_value": None,
            "old_score": 1.66,
            # Exactly as the 2025 export holds it (upstream text 1.96374622356495).
            "new_score": 1.96374622356495,
            "previous_snapshot": "20241110T000000Z",
        }
    ]
    # The 2025 export re-scored MATH (and so the average), and it carries every value
    # unrounded where the 2024 one had 2 decimals: compared exactly, 92 of the 98
    # values of the fixture's 14 repos listed in both differ. Only the six GPQA
    # values of 0.0 are equal (counted from the fixture's upstream text). Of the 92,
    # the 28 MATH and average values are re-evaluations; the other 64 agree with
    # the 2024 value once rounded to its 2 decimals: reformatted.
    rescored = {(c["repo_id"], c["benchmark"]) for c in of_kind(changes, "score_changed")}
    assert rescored == {(repo, b) for repo in V2_REPOS for b in ("average", "math_lvl5")}
    reformatted = {(c["repo_id"], c["benchmark"]) for c in of_kind(changes, "score_reformatted")}
    assert len(reformatted) == 64
    changed = rescored | reformatted
    assert {repo for repo, _ in changed} == V2_REPOS
    assert len(changed) == 92
    assert {(repo, b) for repo in V2_REPOS for b in BENCHMARKS["open_llm_v2"]} - changed == {
        (repo, "gpqa")
        for repo in (
            "EleutherAI/gpt-j-6b",
            "EleutherAI/pythia-12b",
            "databricks/dolly-v2-12b",
            "lmsys/vicuna-7b-v1.3",
            "tiiuae/falcon-40b-instruct",
            "tiiuae/falcon-7b-instruct",
        )
    }
    assert of_kind(changes, "score_added") == of_kind(changes, "score_removed") == []
    assert {(c["revision"], c["date"]) for c in changes} == {
        ("v2-2025-03-21", dt.date(2025, 3, 21))
    }
    assert [(c["leaderboard"], c["old_value"], c["new_value"]) for c in changes[-1:]] == [
        ("open_llm_v2", "v2-2024-11-09", "v2-2025-03-21")
    ]
    assert changes[-1]["change_kind"] == "source_revision_changed"


def test_whole_leaderboard_2024_11_09_to_2025_03_21() -> None:
    scores, revisions = recorded_scores("v2-2024-11-09", "v2-2025-03-21")
    table = diff_snapshot(
        PreviousState("s", EMPTY_MODELS, seen("v2-2024-11-09", name=revision_of)),
        models=EMPTY_MODELS,
        scores=scores,
        revisions=revisions,
    )
    kinds = table.group_by("change_kind").aggregate([([], "count_all")]).to_pylist()
    # Counted from the two upstream CSVs with the csv module, comparing exact values:
    # 2,787 new rows of 7 benchmarks, the 4 rows of meta-llama/Meta-Llama-3.1-* gone
    # (renamed upstream to meta-llama/Llama-3.1-*, among the new rows), and 12,335 of
    # the 12,523 values both hold differ: the 2025 export is unrounded, the 2024 one
    # was rounded to 2 decimals, so 9,002 of them differ only by that rounding (Python's
    # round()), and 4 more are halfway values the 2024 export rounded the other way
    # (musr 20.225 shown as 20.22): 9,006 reformatted, 3,329 re-evaluated.
    assert {row["change_kind"]: row["count_all"] for row in kinds} == {
        "score_added": 19_509,
        "score_removed": 28,
        "score_changed": 3_329,
        "score_reformatted": 9_006,
        "source_revision_changed": 1,
    }


def test_the_2024_12_11_reformatting_is_not_a_re_evaluation() -> None:
    # A snapshot that read every export up to 2024-12-10, then one that read them all.
    # On 2024-12-11 upstream switched from 2-decimal display values to unrounded ones:
    # 14,946 values changed that day, every one equal to its old value once rounded
    # to 2 decimals (8 of them halfway values, musr 20.225 once shown as 20.22).
    scores, revisions = recorded_scores()
    before = [item.label for item in recorded_exports() if item.date <= dt.date(2024, 12, 10)]
    table = diff_snapshot(
        PreviousState("s", EMPTY_MODELS, seen(*before, name=revision_of)),
        models=EMPTY_MODELS,
        scores=scores,
        revisions=revisions,
    )
    day = table.filter(pc.equal(table.column("date"), pa.scalar(dt.date(2024, 12, 11))))
    counts = day.group_by("change_kind").aggregate([([], "count_all")]).to_pylist()
    assert {row["change_kind"]: row["count_all"] for row in counts} == {
        "score_reformatted": 14_946,
        "score_added": 91,
    }
    falcon = day.filter(
        pc.and_(pc.equal(day.column("repo_id"), FALCON), pc.equal(day.column("benchmark"), "bbh"))
    ).to_pylist()
    assert [(r["change_kind"], r["old_score"], r["new_score"]) for r in falcon] == [
        ("score_reformatted", 17.22, 17.2201142032645)
    ]
    # No later export is a reformatting: each later change is a re-evaluation
    # (a 0.0 of a 2-decimal export is 0.00, so 0.0 -> 0.3776 is one).
    kinds = table.group_by("change_kind").aggregate([([], "count_all")]).to_pylist()
    assert {row["change_kind"]: row["count_all"] for row in kinds} == {
        # OpenEvals' one export (2026-03-25) adds its 300 scores and a revision.
        "score_added": 16_744 + 300,
        "score_removed": 84,
        "score_changed": 7_593,
        "score_reformatted": 14_946,
        "source_revision_changed": 1 + 1,
    }


def test_each_change_names_the_revision_it_happened_at() -> None:
    # A snapshot that had read only v2's first export: two v2 revisions are new.
    before = ("v1-2023-06-10", "v1-2023-09-04", "v1-2024-07-07", "v2-2024-10-09")
    falcon = [
        (c["date"], c["old_score"], c["new_score"])
        for c in of_kind(diff(before), "score_changed")
        if (c["repo_id"], c["benchmark"]) == (FALCON, "math_lvl5")
    ]
    # MATH moved at both: one change each, each at its own revision.
    assert falcon == [
        (dt.date(2024, 11, 9), 1.51, 1.66),
        (dt.date(2025, 3, 21), 1.66, 1.96374622356495),
    ]
    changed_at = {c["date"] for c in of_kind(diff(before), "score_changed")}
    assert changed_at == {dt.date(2024, 11, 9), dt.date(2025, 3, 21)}


def test_bare_names_change_too() -> None:
    before = ("v1-2023-06-10", "v2-2024-10-09", "v2-2024-11-09", "v2-2025-03-21")
    scores, revisions = fixture_scores("v1-2023-06-10", "v1-2023-09-04")
    llama = [
        c
        for c in diff(before, scores=scores, revisions=revisions)
        if c["model_name"] == "llama-7b" and c["benchmark"] == "average"
    ]
    assert [(c["change_kind"], c["repo_id"], c["old_score"], c["new_score"]) for c in llama] == [
        ("score_changed", None, 47.6, 49.72)
    ]


def _with_export(rows: pa.Table, *, label: str, revision: str) -> tuple[pa.Table, pa.Table]:
    """The intervals and revisions of export `label`, then `rows` as a new
    export a day later."""
    leaderboard = leaderboard_of(label)
    scores, revisions = fixture_scores(label)
    day = dt.date.fromisoformat(label[3:]) + dt.timedelta(days=1)
    scores = extend(scores, [Export(leaderboard, revision, day, rows)])
    record = RevisionRecord(leaderboard, revision, day, FIXTURE_EXPORTS[label], "ok")
    return scores, pa.concat_tables([revisions, revisions_table([record])])


def test_scores_removed_and_added() -> None:
    rows = fixture_rows("v1-2023-09-04")
    without_falcon = rows.filter(pc.not_equal(rows.column("model_name"), FALCON))
    scores, revisions = _with_export(without_falcon, label="v1-2023-09-04", revision="d" * 40)
    removed = diff(("v1-2023-09-04",), scores=scores, revisions=revisions)
    assert [
        (c["change_kind"], c["benchmark"], c["old_score"], c["new_score"], c["date"])
        for c in of_kind(removed, "score_removed")
    ] == [
        ("score_removed", "arc", 61.6, None, dt.date(2023, 9, 5)),
        ("score_removed", "average", 63.47, None, dt.date(2023, 9, 5)),
        ("score_removed", "hellaswag", 84.3, None, dt.date(2023, 9, 5)),
        ("score_removed", "mmlu", 55.4, None, dt.date(2023, 9, 5)),
        ("score_removed", "truthfulqa", 52.5, None, dt.date(2023, 9, 5)),
    ]
    assert {c["change_kind"] for c in removed} == {"score_removed", "source_revision_changed"}

    # Listed again the day after: five scores added.
    back = extend(scores, [Export("open_llm_v1", "e" * 40, dt.date(2023, 9, 6), rows)])
    record = RevisionRecord("open_llm_v1", "e" * 40, dt.date(2023, 9, 6), 1291, "ok")
    both = pa.concat_tables([revisions, revisions_table([record])])
    added = diff(("v1-2023-09-04",), scores=back, revisions=both)
    assert sorted(c["new_score"] for c in of_kind(added, "score_added")) == [
        52.5,
        55.4,
        61.6,
        63.47,
        84.3,
    ]


def test_a_raw_value_that_moves_alone_is_no_change_of_score() -> None:
    rows = fixture_rows("v2-2025-03-21")
    cell = pc.and_(
        pc.equal(rows.column("model_name"), FALCON), pc.equal(rows.column("benchmark"), "ifeval")
    )
    # The displayed 24.54 stays; the raw 0.24544874266945 gains a digit.
    raw = pc.if_else(cell, pa.scalar(0.245448742669451), rows.column("raw_value"))
    edited = rows.set_column(rows.schema.get_field_index("raw_value"), "raw_value", raw)
    scores, revisions = _with_export(edited, label="v2-2025-03-21", revision="f" * 40)
    # The interval closes and a new one opens (the row changed) ...
    falcon_ifeval = scores.filter(
        pc.and_(
            pc.equal(scores.column("model_name"), FALCON),
            pc.equal(scores.column("benchmark"), "ifeval"),
        )
    )
    assert falcon_ifeval.column("valid_to").to_pylist() == [dt.date(2025, 3, 22), None]
    # ... but the score did not: nothing to report besides the new revision.
    changes = diff(("v2-2025-03-21",), scores=scores, revisions=revisions)
    assert [c["change_kind"] for c in changes] == ["source_revision_changed"]


def test_suspect_revisions_change_nothing() -> None:
    scores, revisions = fixture_scores("v1-2023-09-04")
    record = RevisionRecord("open_llm_v1", "a" * 40, dt.date(2023, 10, 4), 79, "suspect", "few")
    both = pa.concat_tables([revisions, revisions_table([record])])
    changes = diff(("v1-2023-09-04",), scores=scores, revisions=both)
    assert [(c["change_kind"], c["new_value"]) for c in changes] == [
        ("source_revision_changed", "a" * 40)
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
    table = diff_snapshot(
        PreviousState("s1", previous, {}),
        models=current,
        scores=SCORES.schema.empty_table(),
        revisions=revisions_table([]),
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
    assert {c["previous_snapshot"] for c in table.to_pylist()} == {"s1"}
