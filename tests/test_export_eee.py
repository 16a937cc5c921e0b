"""`llmsync export eee` over the full history the replay hub serves, synced once
(`clean_sync`), checked by Every Eval Ever's own validator. Values asserted are
the real exports' and model repos' values."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from llmsync.cli import main
from llmsync.export.eee import ExportSummary, export_eee, export_published
from llmsync.export.eee_fields import epoch
from tests.conftest import CleanSync

ROOT = Path(__file__).resolve().parents[1]
# scripts/dev.sh makes this venv (Python 3.12+, requirements-eee.lock).
EEE_VENV = Path(os.environ.get("LLMSYNC_EEE_VENV", ROOT / ".venv-eee"))


@pytest.fixture(scope="module")
def export(clean_sync: CleanSync, tmp_path_factory: pytest.TempPathFactory) -> ExportSummary:
    return export_eee(clean_sync.data_dir, tmp_path_factory.mktemp("eee") / "out")


def _records(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(path.read_text(encoding="utf-8")) for path in sorted(folder.glob("*.json"))]


def _files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*.json"))}


def _eee_cli() -> Path:
    cli = EEE_VENV / "bin" / "every_eval_ever"
    if not cli.is_file():
        message = f"Every Eval Ever is not installed in {EEE_VENV} (bash scripts/dev.sh eee)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return cli


def test_every_eval_ever_validates_the_whole_export(export: ExportSummary) -> None:
    cli = _eee_cli()
    pattern = str(export.out / "data" / "*" / "*" / "*" / "*.json")
    validated = subprocess.run(
        [str(cli), "validate", "--format", "json", pattern],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert validated.returncode == 0, validated.stdout[-2000:] + validated.stderr[-2000:]
    reports = json.loads(validated.stdout)
    assert len(reports) == export.files
    assert [r for r in reports if r["errors"] or r["warnings"] or not r["valid"]] == []

    duplicates = subprocess.run(
        [str(cli), "check-duplicates", str(export.out / "data")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert duplicates.returncode == 0, duplicates.stdout[-2000:]
    assert f"Checking {export.files} JSON files" in duplicates.stdout
    assert "No duplicates found." in duplicates.stdout


def test_every_source_is_exported(export: ExportSummary) -> None:
    assert set(export.records) == {
        "hfopenllm_v1",
        "hfopenllm_v2",
        "hf_openevals",
        "hf_community_evals",
    }
    # One record per leaderboard row per state it held: more than the rows of
    # any one export (v2 had 4,576 rows when EEE froze it).
    assert export.records["hfopenllm_v2"] > 4_576
    assert export.records["hf_openevals"] == 93
    assert export.files == sum(1 for _ in export.out.rglob("*.json"))
    # v1 names no repo can be found under (a bare or mangled name) are counted.
    assert export.skipped["leaderboard values of a name with no Hub repo id"] == 507


def test_falcon_40b_instruct_v1_record_of_2023_07_14(export: ExportSummary) -> None:
    folder = export.out / "data" / "hfopenllm_v1" / "tiiuae" / "falcon-40b-instruct"
    records = _records(folder)
    dated = [
        r
        for r in records
        if r["source_metadata"]["additional_details"]["export_date"] == "2023-07-14"
    ]
    assert len(dated) == 1
    record = dated[0]
    assert record["retrieved_timestamp"] == epoch(dt.date(2023, 7, 14))
    scores = {
        r["evaluation_result_id"]: r["score_details"]["score"] for r in record["evaluation_results"]
    }
    assert scores["mmlu"] == 55.4
    mmlu = next(r for r in record["evaluation_results"] if r["evaluation_result_id"] == "mmlu")
    assert (mmlu["metric_config"]["min_score"], mmlu["metric_config"]["max_score"]) == (0.0, 100.0)
    details = record["source_metadata"]["additional_details"]
    assert details["hf_dataset"] == "open-llm-leaderboard-old/contents"
    assert len(details["hf_dataset_revision"]) == 40
    # The value before it: an older record of the same row holds MMLU 54.1.
    older = [
        r
        for r in records
        if r["retrieved_timestamp"] < record["retrieved_timestamp"]
        and any(v["score_details"]["score"] == 54.1 for v in r["evaluation_results"])
    ]
    assert older


def test_llama_3_1_405b_openevals_gsm8k(export: ExportSummary) -> None:
    (record,) = _records(export.out / "data" / "hf_openevals" / "meta-llama" / "Llama-3.1-405B")
    gsm8k = next(
        r for r in record["evaluation_results"] if r["evaluation_result_id"] == "openai/gsm8k"
    )
    assert gsm8k["score_details"]["score"] == 96.8
    assert gsm8k["source_data"]["hf_repo"] == "openai/gsm8k"
    assert (
        record["source_metadata"]["additional_details"]["hf_dataset"]
        == "OpenEvals/leaderboard-data"
    )
    assert record["eval_library"] == {"name": "unknown", "version": "unknown"}


def test_gemma_4_12b_it_aime_2026_without_tools(export: ExportSummary) -> None:
    folder = export.out / "data" / "hf_community_evals" / "google" / "gemma-4-12B-it"
    results = [
        (record, result)
        for record in _records(folder)
        for result in record["evaluation_results"]
        if result["source_data"]["hf_repo"] == "MathArena/aime_2026"
        and result["score_details"]["details"].get("notes") == "No tools"
    ]
    assert len(results) == 1
    record, result = results[0]
    assert result["score_details"]["score"] == 77.5
    assert result["score_details"]["details"]["verified"] == "false"
    assert result["evaluation_result_id"].endswith("::No tools")
    assert (
        record["source_metadata"]["additional_details"]["hf_model_repo"] == "google/gemma-4-12B-it"
    )
    assert record["source_metadata"]["additional_details"]["hf_model_branch"].startswith("refs/pr/")


def test_a_second_export_writes_the_same_bytes_and_since_only_the_newest(
    clean_sync: CleanSync, export: ExportSummary, tmp_path: Path
) -> None:
    again = export_eee(clean_sync.data_dir, tmp_path / "again")
    assert _files(again.out) == _files(export.out)

    # A nightly append: the day of the newest v2 export that changed a value
    # writes only the records that start then.
    scores = clean_sync.tables["scores"].to_pylist()
    newest = max(r["valid_from"] for r in scores if r["leaderboard"] == "open_llm_v2")
    since = export_eee(clean_sync.data_dir, tmp_path / "since", since=newest)
    written = _files(since.out)
    everything = _files(export.out)
    expected = {
        name: payload
        for name, payload in everything.items()
        if int(json.loads(payload)["retrieved_timestamp"]) >= int(epoch(newest))
    }
    assert written == expected
    assert 0 < since.records["hfopenllm_v2"] < export.records["hfopenllm_v2"]
    assert "hfopenllm_v1" not in since.records


def test_the_export_command(clean_sync: CleanSync, tmp_path: Path, capsys: Any) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["export", "eee", "--out", str(tmp_path / "x"), "--data-dir", str(empty)]) == 2
    assert "no published snapshot" in capsys.readouterr().err
    code = main(
        [
            *("export", "eee", "--out", str(tmp_path / "y")),
            *("--data-dir", str(clean_sync.data_dir), "--since", "2099-01-01"),
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "files: 0, bytes: 0" in printed


def test_the_nightly_export_step(clean_sync: CleanSync, tmp_path: Path) -> None:
    snapshot = clean_sync.report.snapshot
    assert snapshot is not None
    # `since` far ahead: the step's wiring, without a third full export.
    summary, line = export_published(
        clean_sync.data_dir, snapshot, tmp_path / "nightly", since=dt.date(2099, 1, 1)
    )
    assert summary is not None and summary.snapshot_id == snapshot and summary.files == 0
    assert line == f"- Every Eval Ever export: 0 records in `{tmp_path / 'nightly'}`"
    missing, line = export_published(clean_sync.data_dir, "20000101T000000Z", tmp_path / "none")
    assert missing is None
    assert line.startswith("- Every Eval Ever export not written: no published snapshot 2000")
