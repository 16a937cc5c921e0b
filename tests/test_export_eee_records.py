"""The EEE export's record rules on small hand-made tables: history as records,
stable ids, one folder per owner, and hostile rows (wrong types, nulls, huge
values, rejected files) skipped and counted, never fatal. The real data's
records are checked in test_export_eee.py."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from typing import Any

import pyarrow as pa
import pytest

from llmsync.export.eee_evals import eval_result_records
from llmsync.export.eee_fields import epoch, path_component, stable_uuid
from llmsync.export.eee_identity import Identities
from llmsync.export.eee_leaderboards import leaderboard_records
from llmsync.export.eee_record import Record, encode

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
D = dt.date


def _score(
    benchmark: str, value: Any, start: D, end: D | None = None, **over: Any
) -> dict[str, Any]:
    row = {
        "leaderboard": "open_llm_v2",
        "model_name": "Org/Model",
        "repo_id": "Org/Model",
        "precision": "bfloat16",
        "model_sha": "abc",
        "occurrence": 0,
        "benchmark": benchmark,
        "value": value,
        "raw_value": None,
        "valid_from": start,
        "valid_from_revision": f"rev-{start}",
        "valid_to": end,
        "valid_to_revision": f"rev-{end}" if end else None,
    }
    row.update(over)
    return row


REVISIONS = [
    {"leaderboard": "open_llm_v2", "revision": f"rev-{day}", "date": day, "status": "ok"}
    for day in (D(2024, 7, 1), D(2024, 8, 1), D(2024, 9, 1))
]


def _leaderboard(
    rows: list[dict[str, Any]], models: pa.Table | None = None
) -> tuple[list[Record], Counter[str]]:
    skipped: Counter[str] = Counter()
    ids = Identities(models, [r["repo_id"] for r in rows if isinstance(r["repo_id"], str)])
    return list(leaderboard_records(rows, REVISIONS, ids, skipped)), skipped


def test_a_record_per_state_held_and_a_value_that_returns_is_a_new_record() -> None:
    rows = [
        _score("ifeval", 50.0, D(2024, 7, 1), D(2024, 8, 1)),
        _score("ifeval", 51.0, D(2024, 8, 1), D(2024, 9, 1)),
        _score("ifeval", 50.0, D(2024, 9, 1)),
        _score("bbh", 30.0, D(2024, 7, 1)),
    ]
    records, skipped = _leaderboard(rows)
    assert not skipped
    assert [r.body["retrieved_timestamp"] for r in records] == [
        epoch(D(2024, 7, 1)),
        epoch(D(2024, 8, 1)),
        epoch(D(2024, 9, 1)),
    ]
    held = [
        {
            x["evaluation_result_id"]: x["score_details"]["score"]
            for x in r.body["evaluation_results"]
        }
        for r in records
    ]
    assert held == [
        {"ifeval": 50.0, "bbh": 30.0},
        {"ifeval": 51.0, "bbh": 30.0},
        {"ifeval": 50.0, "bbh": 30.0},
    ]
    # The first and last hold the same values but are two records: each result
    # is dated by the export it first appeared in, and each names its commit.
    first, last = records[0].body, records[2].body
    assert first["source_metadata"]["additional_details"]["hf_dataset_revision"] == "rev-2024-07-01"
    assert last["source_metadata"]["additional_details"]["hf_dataset_revision"] == "rev-2024-09-01"
    assert (
        first["evaluation_results"][0]["evaluation_timestamp"]
        != last["evaluation_results"][0]["evaluation_timestamp"]
    )
    assert len({r.uuid for r in records}) == 3
    assert all(UUID4.match(r.uuid) for r in records)


def test_a_value_that_ends_while_others_hold_starts_a_record() -> None:
    rows = [
        _score("ifeval", 50.0, D(2024, 7, 1), D(2024, 8, 1)),
        _score("bbh", 30.0, D(2024, 7, 1)),
    ]
    records, _ = _leaderboard(rows)
    assert [len(r.body["evaluation_results"]) for r in records] == [2, 1]


def test_ids_come_from_content_not_the_clock() -> None:
    rows = [_score("ifeval", 50.0, D(2024, 7, 1))]
    first, _ = _leaderboard(rows)
    second, _ = _leaderboard(rows)
    assert [encode(r) for r in first] == [encode(r) for r in second]
    assert stable_uuid("x") == stable_uuid("x") != stable_uuid("y")
    assert first[0].body["evaluation_id"] == f"hfopenllm_v2/Org_Model/{first[0].uuid}"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "leaderboard values that are no number in 0-100"),
        (float("nan"), "leaderboard values that are no number in 0-100"),
        (float("inf"), "leaderboard values that are no number in 0-100"),
        (1e308, "leaderboard values that are no number in 0-100"),
        (-0.5, "leaderboard values that are no number in 0-100"),
        ("55.4", "leaderboard values that are no number in 0-100"),
        (True, "leaderboard values that are no number in 0-100"),
    ],
)
def test_a_leaderboard_value_that_is_no_percentage_is_counted(value: Any, reason: str) -> None:
    records, skipped = _leaderboard(
        [_score("ifeval", value, D(2024, 7, 1)), _score("bbh", 30.0, D(2024, 7, 1))]
    )
    assert skipped == Counter({reason: 1})
    assert [x["evaluation_result_id"] for x in records[0].body["evaluation_results"]] == ["bbh"]


def test_names_with_no_repo_or_no_portable_path_are_counted() -> None:
    rows = [
        _score("ifeval", 50.0, D(2024, 7, 1), repo_id=None, model_name="llama-7b"),
        _score("ifeval", 50.0, D(2024, 7, 1), repo_id="Org/CON", model_name="Org/CON"),
        _score("ifeval", 50.0, D(2024, 7, 1), repo_id="Org/a:b", model_name="Org/a:b"),
    ]
    records, skipped = _leaderboard(rows)
    assert skipped == Counter(
        {
            "leaderboard values of a name with no Hub repo id": 1,
            "leaderboard rows with no datastore path": 1,
        }
    )
    # A colon is EEE's own case: the folder spells it `_`, the id keeps it.
    (record,) = records
    assert (record.path.model_id, record.path.model) == ("Org/a:b", "a_b")
    assert path_component("data") is None and path_component("x.") is None


def test_one_folder_per_owner_the_hubs_spelling_first() -> None:
    models = pa.table(
        {
            "repo_id": ["thebloke/Llama-GPTQ", "old/Renamed"],
            "hub_repo_id": ["TheBloke/Llama-GPTQ", "new/Renamed"],
        }
    )
    rows = [
        _score(
            "ifeval",
            1.0,
            D(2024, 7, 1),
            repo_id="thebloke/Llama-GPTQ",
            model_name="thebloke/Llama-GPTQ",
        ),
        _score("ifeval", 2.0, D(2024, 7, 1), repo_id="THEBLOKE/Other", model_name="THEBLOKE/Other"),
        _score("ifeval", 3.0, D(2024, 7, 1), repo_id="old/Renamed", model_name="old/Renamed"),
        _score("ifeval", 4.0, D(2024, 7, 1), repo_id="acme/A", model_name="acme/A"),
        _score("ifeval", 5.0, D(2024, 7, 1), repo_id="ACME/B", model_name="ACME/B"),
        _score("ifeval", 6.0, D(2024, 7, 1), repo_id="ACME/C", model_name="ACME/C"),
    ]
    records, _ = _leaderboard(rows, models)
    folders = {
        r.body["model_info"]["name"]: (r.path.developer, r.body["model_info"]["id"])
        for r in records
    }
    assert folders == {
        "thebloke/Llama-GPTQ": ("TheBloke", "TheBloke/Llama-GPTQ"),
        "THEBLOKE/Other": ("TheBloke", "TheBloke/Other"),
        "old/Renamed": ("new", "new/Renamed"),
        # No Hub answer: the spelling the snapshot uses most.
        "acme/A": ("ACME", "ACME/A"),
        "ACME/B": ("ACME", "ACME/B"),
        "ACME/C": ("ACME", "ACME/C"),
    }
    listed = {r.body["model_info"]["additional_details"].get("listed_as") for r in records}
    assert "thebloke/Llama-GPTQ" in listed


def _eval(value: Any, start: D | dt.datetime, **over: Any) -> dict[str, Any]:
    row = {
        "repo_id": "google/gemma-4-12B-it",
        "dataset_id": "MathArena/aime_2026",
        "task_id": "MathArena/aime_2026",
        "dataset_revision": None,
        "value": value,
        "verified": False,
        "pull_request": 6,
        "filename": ".eval_results/aime_2026.yaml",
        "source_url": None,
        "source_name": "Model Card",
        "source_user": None,
        "source_org": None,
        "notes": "No tools",
        "date": "2026-05-23",
        "occurrence": 0,
        "raw_object": "api-info/models/google/gemma-4-12B-it/14d83a24/5a21587c.json",
        "valid_from": start,
        "valid_to": None,
    }
    row.update(over)
    return row


def _evals(rows: list[dict[str, Any]]) -> tuple[list[Record], Counter[str]]:
    skipped: Counter[str] = Counter()
    ids = Identities(None, [r["repo_id"] for r in rows])
    return list(eval_result_records(rows, [], ids, skipped)), skipped


def test_eval_results_rejected_or_valueless_are_counted_not_exported() -> None:
    rows = [
        _eval(77.5, D(2026, 12, 7)),
        _eval(None, D(2026, 12, 7), dataset_id=None, task_id=None, error="could not parse"),
        _eval(None, D(2026, 12, 7), notes="With tools"),
        _eval(float("nan"), D(2026, 12, 7), notes="x"),
        _eval(1e300, D(2026, 12, 7), notes="huge"),
        _eval(80.0, D(2026, 12, 7), notes=None, date="not a date"),
    ]
    records, skipped = _evals(rows)
    assert skipped == Counter(
        {
            "eval results the Hub rejected (error)": 1,
            "eval results with no dataset, task or finite value": 2,
        }
    )
    (record,) = records
    results = record.body["evaluation_results"]
    assert [r["score_details"]["score"] for r in results] == [80.0, 77.5, 1e300]
    # No bounds claimed for a scale the Hub does not state; an unreadable date is left out.
    assert (
        "min_score" not in results[0]["metric_config"] and "evaluation_timestamp" not in results[0]
    )
    assert results[1]["evaluation_timestamp"] == epoch(D(2026, 5, 23))
    assert results[1]["score_details"]["details"]["notes"] == "No tools"
    assert results[1]["score_details"]["details"]["first_observed_at_model_commit"] == "14d83a24"
    files = record.body["source_metadata"]["additional_details"]["hf_model_files"]
    assert files == ".eval_results/aime_2026.yaml"


def test_eval_results_without_an_error_column_and_with_observation_times() -> None:
    # A table written before (or after) the `error` column, with instants for days.
    seen = dt.datetime(2026, 12, 7, 3, 4, 5, tzinfo=dt.UTC)
    assert "error" not in _eval(77.5, seen)
    records, skipped = _evals(
        [_eval(77.5, seen), _eval(70.0, seen + dt.timedelta(hours=2), notes="With tools")]
    )
    assert not skipped
    assert [r.body["retrieved_timestamp"] for r in records] == [
        str(int(seen.timestamp())),
        str(int(seen.timestamp()) + 7200),
    ]
    assert [len(r.body["evaluation_results"]) for r in records] == [1, 2]
    source = records[0].body["source_metadata"]["additional_details"]
    assert source["hf_model_branch"] == "refs/pr/6"


def test_the_commit_named_is_the_export_in_force_that_day_whatever_the_table_order() -> None:
    rows = [_score("ifeval", 50.0, D(2024, 8, 15))]
    skipped: Counter[str] = Counter()
    for revisions in (REVISIONS, REVISIONS[::-1]):
        (record,) = leaderboard_records(rows, revisions, Identities(None, ["Org/Model"]), skipped)
        source = record.body["source_metadata"]["additional_details"]
        assert source["hf_dataset_revision"] == "rev-2024-08-01"
