"""`eval_results` intervals and their `changes`, over model bodies made of the
real `.eval_results` files of Ternary-Bonsai-27B-gguf's PRs 27 and 28 (the
recordings' blobs, as the replay hub serves them)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pyarrow as pa

from llmsync.replay.evals import parse_entries
from llmsync.replay.recordings import RecordingStore, default_recordings_dir
from llmsync.tables.eval_changes import eval_changes
from llmsync.tables.eval_results import Observed, extend, observation_rows

BONSAI = "prism-ml/Ternary-Bonsai-27B-gguf"
DAY = [dt.date(2026, 7, 17) + dt.timedelta(days=n) for n in range(6)]


def _files() -> dict[str, dict[str, str]]:
    """Each PR head's files (path -> blob sha256), by the head's commit id."""
    doc = json.loads((default_recordings_dir() / "evals.json").read_text(encoding="utf-8"))
    return {
        head["sha"][:7]: head["files"]
        for pr in doc["pull_requests"]
        if pr["repo_id"] == BONSAI
        for head in pr["commits"]
    }


FILES = _files()
STORE = RecordingStore.load()


def _items(files: dict[str, str], *, pr: int | None, verified: bool = False) -> list[Any]:
    items: list[Any] = []
    for path, sha256 in sorted(files.items()):
        entries, error = parse_entries(STORE.blob_bytes(sha256))
        assert error is None
        extra = {"pullRequest": pr} if pr is not None else {}
        items += [{"filename": path, "verified": verified, "data": e, **extra} for e in entries]
    return items


def _observe(items: list[Any]) -> Observed:
    body = json.dumps({"id": BONSAI, "evalResults": items}).encode()
    return Observed(BONSAI, f"api-info/models/{BONSAI}/x/{len(items)}.json", body)


def _step(prior: pa.Table | None, items: list[Any], day: dt.date) -> tuple[pa.Table, list[Any]]:
    table = extend(prior, [_observe(items)], on=day)
    changes = eval_changes(table, prior=prior, on=day, previous_snapshot="s")
    kinds = sorted((c["change_kind"], c["benchmark"]) for c in changes.to_pylist())
    return table, kinds


def test_a_correction_a_merge_a_flip_and_a_deletion() -> None:
    first, corrected = FILES["a7dac6e"], FILES["6787a16"]
    table, kinds = _step(None, _items(first, pr=27), DAY[0])
    assert len(kinds) == 3 and {k for k, _ in kinds} == {"eval_result_added"}
    # The task id corrected while the PR is open: one result leaves, one comes.
    table, kinds = _step(table, _items(corrected, pr=27), DAY[1])
    assert kinds == [
        ("eval_result_added", "MMMU/MMMU_Pro"),
        ("eval_result_removed", "MMMU/MMMU_Pro"),
    ]
    (old,) = [r for r in table.to_pylist() if r["task_id"] == "mmmu_pro_standard_4_options"]
    assert (old["value"], old["valid_from"], old["valid_to"]) == (68.96, DAY[0], DAY[1])
    # Merged: every PR result closes, the same results open on main.
    table, kinds = _step(table, _items(corrected, pr=None), DAY[2])
    assert [k for k, _ in kinds] == ["eval_result_pr_merged"] * 3
    # PR 28 merged in one step; then `verified` flips on GSM8K.
    with_gpqa = {**corrected, **FILES["a9dba44"]}
    table, kinds = _step(table, _items(with_gpqa, pr=None), DAY[3])
    assert kinds == [("eval_result_added", "Idavidrein/gpqa")]
    flipped = [
        {**item, "verified": item["data"]["dataset"]["id"] == "openai/gsm8k"}
        for item in _items(with_gpqa, pr=None)
    ]
    table, kinds = _step(table, flipped, DAY[4])
    assert kinds == [("eval_result_verified", "openai/gsm8k")]
    # PR 28's file deleted from main.
    table, kinds = _step(table, [i for i in flipped if "gpqa" not in i["filename"]], DAY[5])
    assert kinds == [("eval_result_removed", "Idavidrein/gpqa")]
    (gpqa,) = [r for r in table.to_pylist() if r["dataset_id"] == "Idavidrein/gpqa"]
    assert (gpqa["value"], gpqa["valid_from"], gpqa["valid_to"]) == (72.22, DAY[3], DAY[5])
    assert gpqa["source_user"] == "christopher-oneill" and gpqa["date"] == "2026-07-18"


def test_a_rejected_file_is_a_row_and_costs_no_sibling() -> None:
    items = [
        *_items(FILES["6787a16"], pr=None),
        {"filename": ".eval_results/bad.yaml", "error": "x"},
    ]
    rows = observation_rows(_observe(items))
    assert len(rows) == 4
    (bad,) = [r for r in rows if r["error"] is not None]
    assert (bad["filename"], bad["dataset_id"], bad["value"]) == (
        ".eval_results/bad.yaml",
        None,
        None,
    )
    table, kinds = _step(extend(None, [_observe(items[:3])], on=DAY[0]), items, DAY[1])
    assert kinds == [("eval_result_rejected", None)]
    assert table.num_rows == 4


def test_a_value_changed_in_place_and_a_closed_pr() -> None:
    items = _items(FILES["6787a16"], pr=27)
    table = extend(None, [_observe(items)], on=DAY[0])
    changed = [
        {**i, "data": {**i["data"], "value": 70.0}} if "gsm8k" in i["filename"] else i
        for i in items
    ]
    table, kinds = _step(table, changed, DAY[1])
    assert kinds == [("eval_result_value_changed", "openai/gsm8k")]
    table, kinds = _step(table, [], DAY[2])
    assert [k for k, _ in kinds] == ["eval_result_pr_closed"] * 3
