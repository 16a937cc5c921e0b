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
from llmsync.tables.eval_catalog import add_eval_columns
from llmsync.tables.eval_changes import eval_changes
from llmsync.tables.eval_results import Observed, extend, midnight, observation_rows
from llmsync.tables.schemas import CATALOG

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
    table = extend(prior, [_observe(items)], at=midnight(day))
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
    table, kinds = _step(extend(None, [_observe(items[:3])], at=midnight(DAY[0])), items, DAY[1])
    assert kinds == [("eval_result_rejected", None)]
    assert table.num_rows == 4


def test_a_value_changed_in_place_and_a_closed_pr() -> None:
    items = _items(FILES["6787a16"], pr=27)
    table = extend(None, [_observe(items)], at=midnight(DAY[0]))
    changed = [
        {**i, "data": {**i["data"], "value": 70.0}} if "gsm8k" in i["filename"] else i
        for i in items
    ]
    table, kinds = _step(table, changed, DAY[1])
    assert kinds == [("eval_result_value_changed", "openai/gsm8k")]
    table, kinds = _step(table, [], DAY[2])
    assert [k for k, _ in kinds] == ["eval_result_pr_closed"] * 3


def _valued(items: list[Any], *values: float) -> list[Any]:
    """`items` with the GSM8K entry's value set to each of `values` in turn
    (one entry per value, as a file that repeats it)."""
    gsm8k = next(i for i in items if "gsm8k" in i["filename"])
    rest = [i for i in items if i is not gsm8k]
    return rest + [{**gsm8k, "data": {**gsm8k["data"], "value": v}} for v in values]


def test_three_runs_in_one_day_keep_every_value_and_every_change() -> None:
    """80 the day before, then 85 and 90 in two runs of one day (a manual run
    beside the schedule): three intervals, two changes, nothing lost."""
    items = _items(FILES["6787a16"], pr=None)
    night = dt.datetime(2026, 7, 19, 2, 0, tzinfo=dt.UTC)
    runs = [night, night + dt.timedelta(days=1), night + dt.timedelta(days=1, hours=9)]
    table, changes = None, []
    for at, value in zip(runs, (80.0, 85.0, 90.0), strict=True):
        new = extend(table, [_observe(_valued(items, value))], at=at)
        changes += eval_changes(new, prior=table, on=at.date(), previous_snapshot="s").to_pylist()
        table = new
    assert table is not None
    gsm8k = [r for r in table.to_pylist() if r["dataset_id"] == "openai/gsm8k"]
    assert [r["value"] for r in gsm8k] == [80.0, 85.0, 90.0]
    assert [(r["value"], r["observed_from"], r["observed_to"]) for r in gsm8k] == [
        (80.0, runs[0], runs[1]),
        (85.0, runs[1], runs[2]),
        (90.0, runs[2], None),
    ]
    # As of a day: the value held at its end (the 85 held within the day only).
    assert [(r["valid_from"], r["valid_to"]) for r in gsm8k] == [
        (runs[0].date(), runs[1].date()),
        (runs[1].date(), runs[1].date()),
        (runs[1].date(), None),
    ]
    moves = [
        (c["old_score"], c["new_score"])
        for c in changes
        if c["change_kind"] == "eval_result_value_changed"
    ]
    assert moves == [(80.0, 85.0), (85.0, 90.0)]


def test_a_merged_pr_that_updates_a_main_value_is_one_merge() -> None:
    """Main says 80; PR 27 proposes 85 in the same file; merged, main says 85."""
    main = _valued(_items(FILES["6787a16"], pr=None), 80.0)
    proposal = [
        {**i, "pullRequest": 27}
        for i in _valued(_items(FILES["6787a16"], pr=None), 85.0)
        if "gsm8k" in i["filename"]
    ]
    table = extend(None, [_observe(main + proposal)], at=midnight(DAY[0]))
    merged = _valued(_items(FILES["6787a16"], pr=None), 85.0)
    table, kinds = _step(table, merged, DAY[1])
    assert kinds == [("eval_result_pr_merged", "openai/gsm8k")]


def test_one_repeated_entry_moving_is_one_change() -> None:
    """A file repeating GSM8K (80, 70): the first moves to 60. By position,
    that is one change (a rank by value would report two wrong ones)."""
    items = _items(FILES["6787a16"], pr=None)
    table = extend(None, [_observe(_valued(items, 80.0, 70.0))], at=midnight(DAY[0]))
    table, kinds = _step(table, _valued(items, 60.0, 70.0), DAY[1])
    assert kinds == [("eval_result_value_changed", "openai/gsm8k")]
    (moved,) = [
        r
        for r in table.to_pylist()
        if r["dataset_id"] == "openai/gsm8k" and r["valid_to"] is None and r["occurrence"] == 0
    ]
    assert moved["value"] == 60.0


def test_a_table_written_before_observation_times_extends() -> None:
    """A version-1 table (days only): its days' midnights stand for the instants."""
    items = _items(FILES["6787a16"], pr=None)
    table = extend(None, [_observe(items)], at=midnight(DAY[0]))
    old = table.drop_columns(["observed_from", "observed_to"])
    later = dt.datetime(2026, 7, 18, 6, 30, tzinfo=dt.UTC)
    new = extend(old, [_observe(_valued(items, 1.0))], at=later)
    changes = eval_changes(new, prior=old, on=later.date(), previous_snapshot="s")
    assert [c["change_kind"] for c in changes.to_pylist()] == ["eval_result_value_changed"]
    closed = [r for r in new.to_pylist() if r["observed_to"] is not None]
    assert [(r["observed_from"], r["observed_to"]) for r in closed] == [(midnight(DAY[0]), later)]


def test_a_repo_that_answers_404_closes_its_results_with_a_kind_of_its_own() -> None:
    items = _items(FILES["6787a16"], pr=None)
    table = extend(None, [_observe(items)], at=midnight(DAY[0]))
    gone = extend(table, [], at=midnight(DAY[1]), gone={BONSAI})
    assert {(r["valid_to"], r["observed_to"]) for r in gone.to_pylist()} == {
        (DAY[1], midnight(DAY[1]))
    }
    changes = eval_changes(gone, prior=table, on=DAY[1], previous_snapshot="s", gone={BONSAI})
    assert [c["change_kind"] for c in changes.to_pylist()] == ["eval_result_repo_gone"] * 3


def test_a_renamed_repo_carries_its_results_to_the_new_id() -> None:
    """The Hub answers the old name with the renamed repo's body (its `id` the new one)."""
    items = _items(FILES["6787a16"], pr=None)
    table = extend(None, [_observe(items)], at=midnight(DAY[0]))
    renamed = "prism-ml/Ternary-Bonsai-27B-renamed"
    body = json.dumps({"id": renamed, "evalResults": items}).encode()
    seen = Observed(BONSAI, f"api-info/models/{BONSAI}/y/1.json", body)
    moved = extend(table, [seen], at=midnight(DAY[1]))
    rows = moved.to_pylist()
    assert {(r["repo_id"], r["valid_from"], r["valid_to"]) for r in rows} == {
        (renamed, DAY[0], None)
    }
    changes = eval_changes(
        moved, prior=table, on=DAY[1], previous_snapshot="s", renamed={BONSAI: renamed}
    )
    assert changes.num_rows == 0


def test_the_catalog_takes_the_newest_main_result_per_task_and_notes() -> None:
    items = _items(FILES["6787a16"], pr=None)
    aime = next(i for i in items if "aime" in i["filename"])
    tools = {**aime, "data": {**aime["data"], "value": 93.3, "notes": "With tools"}}
    proposal = [{**i, "pullRequest": 29, "data": {**i["data"], "value": 99.0}} for i in items]
    table = extend(None, [_observe([*items, tools, *proposal])], at=midnight(DAY[0]))
    benchmarks = pa.table(
        {"dataset_id": ["MathArena/aime_2026", "cais/hle"], "official": [True, True]}
    )
    catalog = pa.table({"repo_id": ["old/name"]})
    for name in ("eval_results_count", "eval_latest"):
        field = CATALOG.schema.field(name)
        catalog = catalog.append_column(field, pa.nulls(1, field.type))
    (row,) = add_eval_columns(
        catalog, eval_results=table, benchmarks=benchmarks, hub_ids={"old/name": BONSAI}
    ).to_pylist()
    assert row["eval_results_count"] == 7  # main's 3 and a with-tools entry, the PR's 3
    latest = [(e["dataset_id"], e["notes"], e["value"]) for e in row["eval_latest"]]
    # Main only (never the PR's 99.0), one entry per (task, notes); hle: none.
    assert latest == [
        ("MathArena/aime_2026", None, 87.5),
        ("MathArena/aime_2026", "With tools", 93.3),
        ("cais/hle", None, None),
    ]


def test_another_spelling_of_the_id_is_no_rename() -> None:
    items = _items(FILES["6787a16"], pr=None)
    body = json.dumps({"id": BONSAI.upper(), "evalResults": items}).encode()
    rows = extend(None, [Observed(BONSAI, "api-info/x.json", body)], at=midnight(DAY[0]))
    assert set(rows.column("repo_id").to_pylist()) == {BONSAI}
