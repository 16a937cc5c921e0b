"""Eval results of every shape cost only themselves: a replay night serving the
generated odd item shapes (replay/odd_evals.py, labelled generated) beside the
real files of google/gemma-4-12B-it, and odd entries on each official
leaderboard. Leaderboard history is cut to one export (`max_revisions=1`)."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from llmsync.cli import main
from llmsync.pipeline import SyncConfig, run_sync
from llmsync.replay.faults import FaultPlan
from llmsync.replay.odd_evals import DATASET, odd_items
from llmsync.replay.server import ReplayHub
from llmsync.store.snapshots import SnapshotStore
from llmsync.tables.benchmarks import leaderboard_entries
from llmsync.tables.eval_items import MAX_TEXT, read_item
from tests.tables import published_tables

GEMMA = "google/gemma-4-12B-it"
TODAY = dt.date(2026, 7, 20)


@pytest.fixture(scope="module")
def odd_night(
    replay_hub_factory: Callable[..., ReplayHub], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """`llmsync sync` (in this process) against a replay hub serving the odd shapes."""
    hub = replay_hub_factory(faults=FaultPlan(odd_eval_items=[GEMMA]))
    data_dir = tmp_path_factory.mktemp("odd") / "data"
    argv = ["sync", "--no-prefect", "--hub", hub.url, "--data-dir", str(data_dir)]
    assert main([*argv, "--max-revisions", "1"]) == 0
    return data_dir


def test_an_odd_night_publishes_every_real_result_and_one_error_row_per_odd_item(
    odd_night: Path,
) -> None:
    tables = published_tables(odd_night)
    gemma = [r for r in tables["eval_results"].to_pylist() if r["repo_id"] == GEMMA]
    real = {
        (r["dataset_id"], r["task_id"]): (r["value"], r["pull_request"])
        for r in gemma
        if r["valid_to"] is None and r["error"] is None and r["dataset_id"] != DATASET
    }
    assert real == {
        ("Idavidrein/gpqa", "diamond"): (78.8, 3),
        ("TIGER-Lab/MMLU-Pro", "mmlu_pro"): (77.2, 4),
        ("MMMU/MMMU_Pro", "mmmu_pro"): (69.1, 5),
        ("MathArena/aime_2026", "MathArena/aime_2026"): (77.5, 6),
        ("cais/hle", "hle"): (5.2, 7),
    }
    errors = sorted((r["raw_item"], r["filename"], r["error"]) for r in gemma if r["error"])
    # The 16 odd items follow gemma's 5 real ones: all but the last (unknown
    # keys, read as a result) is one row with `error`.
    assert [item for item, _, _ in errors] == list(range(5, 20))
    by_name = {name.removeprefix(".eval_results/generated-"): e for _, name, e in errors}
    expected = {
        "rejected.yaml": "rejected by the Hub: invalid YAML",
        "source-string.yaml": "source is not a mapping (str)",
        "value-na.yaml": "value is not a number (str N/A)",
        "value-null.yaml": "value is not a number (null)",
        "value-bool.yaml": "value is not a number (bool True)",
        "value-nan.yaml": "value is not finite (nan)",
        "value-inf.yaml": "value is not finite (inf)",
        "no-dataset.yaml": "dataset is not a mapping (NoneType)",
        "no-task.yaml": "dataset.task_id is missing",
        "data-string.yaml": "data is not a mapping (str)",
        "verified-string.yaml": "verified is not a boolean (str)",
        "notes-megabyte.yaml": "notes is over 4,096 characters (1,000,000)",
        "pr-huge.yaml": f"pullRequest is not a PR number ({2**70})",
    }
    assert {name: by_name.get(name) for name in expected} == expected
    # No filename to name them by: the non-text filename and the non-object item.
    assert by_name[""] in ("filename is not text (int)", "the item is not an object (str)")
    assert all(r["value"] is None and r["raw_object"] for r in gemma if r["error"])
    (unknown,) = [r for r in gemma if r["filename"].endswith("unknown-keys.yaml")]
    assert (unknown["value"], unknown["error"]) == (50.0, None)


def test_odd_leaderboard_entries_are_skipped_and_counted(odd_night: Path) -> None:
    (run,) = SnapshotStore(odd_night).runs()
    skipped = [f for f in run["failures"] if "entries skipped" in f]
    # Each of the 9 official leaderboards ends with the 5 generated odd entries.
    assert len(skipped) == 9 and all(": 5 entries skipped" in f for f in skipped)
    benchmarks = published_tables(odd_night)["benchmarks"].to_pylist()
    (aime,) = [r for r in benchmarks if r["dataset_id"] == "MathArena/aime_2026"]
    assert aime["leaderboard_entries"] == 2  # the real entries only, as without them


def test_the_report_of_an_odd_night_is_written_with_the_errors_listed(
    odd_night: Path, tmp_path: Path
) -> None:
    out = tmp_path / "report.html"
    assert main(["report", "--data-dir", str(odd_night), "--out", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert "Results that could not be read" in page
    assert "value is not a number (str N/A)" in page
    assert "PR #3, open" in page


@pytest.mark.parametrize(
    ("value", "error"),
    [
        ("77.5", "value is not a number (str 77.5)"),
        ([1], "value is not a number (list [1])"),
        (False, "value is not a number (bool False)"),
        (-math.inf, "value is not finite (-inf)"),
        (10**400, "value is not finite (inf)"),
    ],
)
def test_a_value_of_a_wrong_type_or_size_is_an_error(value: Any, error: str) -> None:
    item = {"filename": "f.yaml", "data": {"dataset": {"id": "d", "task_id": "t"}}}
    item["data"]["value"] = value
    assert read_item(item)["error"] == error


def test_text_fields_of_wrong_types_or_sizes_are_errors() -> None:
    def read(**data: Any) -> str | None:
        entry = {"dataset": {"id": "d", "task_id": "t"}, "value": 1, **data}
        error = read_item({"filename": "f.yaml", "data": entry})["error"]
        return None if error is None else str(error)

    assert read(notes="x" * MAX_TEXT) is None
    assert read(notes="x" * (MAX_TEXT + 1)) == "notes is over 4,096 characters (4,097)"
    assert read(source={"url": 5}) == "source.url is not text (int)"
    assert read(date=20260718) is None  # a YAML date the Hub passed on as a number
    assert read(date={"y": 2026}) == "date is not text (dict)"
    assert read(dataset={"id": "", "task_id": "t"}) == "dataset.id is missing"
    pr = read_item({"filename": "f.yaml", "pullRequest": "3", "data": {}})
    assert pr["error"] == "pullRequest is not an integer (str)"
    for odd, said in (
        (True, "an integer (bool)"),
        (0, "a PR number (0)"),
        (-3, "a PR number (-3)"),
    ):
        assert read_item({"filename": "f.yaml", "pullRequest": odd})["error"] == (
            f"pullRequest is not {said}"
        )
    huge = read_item({"filename": "f.yaml", "pullRequest": 2**70, "data": {}})
    assert huge["error"] == f"pullRequest is not a PR number ({2**70})"


def test_the_odd_items_are_labelled_generated() -> None:
    labelled = [i for i in odd_items() if isinstance(i, dict)]
    assert all("llmsync_replay_generated" in i for i in labelled)


def test_leaderboard_entries_of_wrong_types_are_skipped() -> None:
    body = json.dumps(
        [
            {"modelId": "a/b", "value": 1},
            {"modelId": "a/c", "value": 10**400},
            {"modelId": "a/d", "value": float("nan")},
            {"modelId": ["a/e"], "value": 2.0},
            {"modelId": "a/f", "value": False},
            {"modelId": "a/g"},
        ]
    ).encode()
    entries, skipped = leaderboard_entries(body)
    assert [e["modelId"] for e in entries] == ["a/b", "a/c"] and skipped == 4
    assert leaderboard_entries(b"not json") == ([], 0)


def test_a_token_gated_leaderboard_keeps_its_previous_entries(
    replay_hub: ReplayHub,
    replay_hub_factory: Callable[..., ReplayHub],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With HF_TOKEN set the leaderboard request carries it; a 401 there is a
    named failure and that benchmark's previous entries stay in force."""
    aime = "MathArena/aime_2026"
    config = SyncConfig(data_dir=tmp_path, endpoint=replay_hub.url, max_revisions=1)
    assert run_sync(config).status == "published"
    monkeypatch.setenv("HF_TOKEN", "hf_LeaderboardTokenCanary0123456789abcd")
    rule = {"path": f"^/api/datasets/{aime}/leaderboard", "action": "gated", "status": 401}
    hub = replay_hub_factory(faults=FaultPlan.from_data([{**rule, "times": None}]))
    report = run_sync(SyncConfig(data_dir=tmp_path, endpoint=hub.url, max_revisions=1))
    asked = [
        r for r in hub.requests if r.path.startswith("/api/datasets/") and "/leaderboard" in r.path
    ]
    assert asked and all(r.authorized for r in asked)
    (named,) = [f for f in report.failures if f.startswith(f"{aime} leaderboard:")]
    assert "refused, it needs a token or access (401/403); the previous entries stay" in named
    assert "hf_LeaderboardTokenCanary" not in named
    benchmarks = published_tables(tmp_path)["benchmarks"].to_pylist()
    (row,) = [r for r in benchmarks if r["dataset_id"] == aime]
    assert row["leaderboard_entries"] == 2  # as read the night before


def test_the_docs_pages_fault_plans_are_valid() -> None:
    """docs/eval-results.md's YAML blocks are fault plans the replay hub takes."""
    text = (Path(__file__).parents[1] / "docs" / "eval-results.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", text, flags=re.DOTALL)
    plans = [FaultPlan.from_data(yaml.safe_load(block)) for block in blocks]
    assert [(sorted(p.odd_eval_items), len(p)) for p in plans] == [
        ([], 1),
        ([GEMMA], 0),
    ]
    (rule,) = plans[0].rules
    assert (rule.action, rule.status, rule.times) == ("gated", 401, None)
