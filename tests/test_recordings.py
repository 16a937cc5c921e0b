"""The replay hub's recordings: format, integrity, provenance and a deterministic build."""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import json
import os
import subprocess
import sys
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

ROOT = Path(__file__).resolve().parents[1]
RECORDINGS = ROOT / "src" / "llmsync" / "replay" / "recordings"
BUILDER = ROOT / "scripts" / "build_recordings.py"
LEADERBOARD_FILE = "data/train-00000-of-00001.parquet"


@cache
def _manifest() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((RECORDINGS / "manifest.json").read_text(encoding="utf-8"))
    return data


def _blob(digest: str) -> bytes:
    return (RECORDINGS / "blobs" / digest).read_bytes()


def _repo(repo_id: str) -> dict[str, Any]:
    repo: dict[str, Any] = next(r for r in _manifest()["repos"] if r["repo_id"] == repo_id)
    return repo


def _referenced() -> set[str]:
    digests: set[str] = set()
    for repo in _manifest()["repos"]:
        for commit in repo["commits"]:
            digests.update(commit["files"].values())
            if commit["api_info"] is not None:
                digests.add(commit["api_info"])
        digests.update(item["body"] for item in repo.get("partial_api_info", []))
    return digests


@cache
def _builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_recordings", BUILDER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


# -- integrity -----------------------------------------------------------------


def test_every_blob_is_named_by_its_sha256() -> None:
    blobs = sorted((RECORDINGS / "blobs").iterdir())
    assert blobs
    for path in blobs:
        assert hashlib.sha256(path.read_bytes()).hexdigest() == path.name


def test_every_referenced_blob_exists_and_none_is_stray() -> None:
    on_disk = {path.name for path in (RECORDINGS / "blobs").iterdir()}
    assert _referenced() == on_disk


def test_manifest_format() -> None:
    manifest = _manifest()
    assert manifest["format"] == 1
    for repo in manifest["repos"]:
        assert repo["repo_type"] in ("model", "dataset")
        dates = [commit["date"] for commit in repo["commits"]]
        assert dates == sorted(dates), repo["repo_id"]  # oldest first
        for commit in repo["commits"]:
            assert len(commit["sha"]) == 40
            int(commit["sha"], 16)
            assert commit["date"].endswith("T00:00:00Z")
            assert commit["title"] and commit["source"]
    shas = [c["sha"] for r in manifest["repos"] for c in r["commits"]]
    assert len(shas) == len(set(shas))


def test_no_machine_paths_in_recordings() -> None:
    for path in [RECORDINGS / "manifest.json", RECORDINGS / "PROVENANCE.md"]:
        text = path.read_text(encoding="utf-8")
        assert "/work/" not in text and "/home/" not in text and "/tmp/" not in text


# -- leaderboard datasets ----------------------------------------------------------


@pytest.mark.parametrize(
    ("repo_id", "dates", "rows"),
    [
        (
            "open-llm-leaderboard-old/contents",
            ["2023-06-10", "2023-09-04", "2024-06-19"],
            [132, 1291, 7169],
        ),
        (
            "open-llm-leaderboard/contents",
            ["2024-10-09", "2024-11-10", "2025-03-21"],
            [1445, 1793, 4576],
        ),
    ],
)
def test_leaderboard_commits(repo_id: str, dates: list[str], rows: list[int]) -> None:
    repo = _repo(repo_id)
    assert repo["repo_type"] == "dataset"
    assert [c["date"][:10] for c in repo["commits"]] == dates
    for commit, count in zip(repo["commits"], rows, strict=True):
        assert set(commit["files"]) == {LEADERBOARD_FILE, "README.md"}
        assert commit["api_info"] is None
        table = pq.read_table(pa.BufferReader(_blob(commit["files"][LEADERBOARD_FILE])))
        assert table.num_rows == count
        card = _blob(commit["files"]["README.md"]).decode("utf-8")
        assert card.startswith("---\n") and f"Rows: {count}" in card


def test_leaderboard_tables_use_display_names() -> None:
    v1 = _repo("open-llm-leaderboard-old/contents")["commits"]
    v2 = _repo("open-llm-leaderboard/contents")["commits"]

    def columns(commit: dict[str, Any]) -> list[str]:
        schema = pq.read_schema(pa.BufferReader(_blob(commit["files"][LEADERBOARD_FILE])))
        return list(schema.names)

    # The 2023 scrapes keep their own headers, without the BOM.
    assert columns(v1[0])[:3] == ["Model", "Average", "ARC (25-shot)"]
    assert columns(v1[1])[:3] == ["Model", "Average", "ARC(25-shot)"]
    final_v1 = columns(v1[2])
    for name in ("fullname", "Average ⬆️", "ARC", "GSM8K", "Hub ❤️", "#Params (B)", "Model sha"):
        assert name in final_v1
    reference = set(columns(v2[1]))  # the 2024-11-10 gradio export
    final_v2 = set(columns(v2[2]))
    for name in ("fullname", "Average ⬆️", "IFEval", "IFEval Raw", "MATH Lvl 5", "Chat Template"):
        assert name in reference and name in final_v2
    assert not any(name.startswith(("model_", "metadata_", "features_")) for name in final_v2)
    assert {"T", "Model"} <= set(columns(v2[0]))


def test_leaderboard_values_keep_their_types() -> None:
    final_v2 = _repo("open-llm-leaderboard/contents")["commits"][2]
    table = pq.read_table(pa.BufferReader(_blob(final_v2["files"][LEADERBOARD_FILE])))
    assert table.schema.field("IFEval").type == pa.float64()
    assert table.schema.field("Chat Template").type == pa.bool_()
    assert table.schema.field("Hub ❤️").type == pa.int64()
    assert table.schema.field("Model sha").type == pa.string()
    falcon = table.filter(pa.compute.equal(table.column("fullname"), "tiiuae/falcon-40b-instruct"))
    # Unrounded, as the export had it.
    assert round(falcon.column("MATH Lvl 5")[0].as_py(), 2) == 1.96
    assert falcon.column("MATH Lvl 5")[0].as_py() != 1.96


def test_parquet_blobs_rebuild_to_the_same_bytes() -> None:
    write = _builder().parquet_bytes
    for repo_id in ("open-llm-leaderboard-old/contents", "open-llm-leaderboard/contents"):
        for commit in _repo(repo_id)["commits"]:
            blob = _blob(commit["files"][LEADERBOARD_FILE])
            assert write(pq.read_table(pa.BufferReader(blob))) == blob


# -- model repos ---------------------------------------------------------------


def test_recorded_api_bodies_are_served_as_commits() -> None:
    zephyr = _repo("HuggingFaceH4/zephyr-7b-beta")
    assert [c["date"][:10] for c in zephyr["commits"]] == ["2024-03-14", "2025-03-21"]
    for commit in zephyr["commits"]:
        body = json.loads(_blob(commit["api_info"]))
        assert body["sha"] == commit["sha"]
        assert commit["files"] == {}  # no card bytes were recorded


def test_partial_projection_is_not_a_commit_body() -> None:
    llama = _repo("meta-llama/Llama-3.1-8B-Instruct")
    (partial,) = llama["partial_api_info"]
    body = json.loads(_blob(partial["body"]))
    assert set(body) == {"_id", "id", "inferenceProviderMapping"}
    assert partial["body"] not in {c["api_info"] for c in llama["commits"]}


def test_renamed_repo_redirects() -> None:
    assert _manifest()["redirects"] == {"model/bert-base-uncased": "google-bert/bert-base-uncased"}
    (commit,) = _repo("google-bert/bert-base-uncased")["commits"]
    assert json.loads(_blob(commit["api_info"]))["id"] == "google-bert/bert-base-uncased"


def test_article_models() -> None:
    dolly = _repo("databricks/dolly-v2-12b")["commits"][-1]
    assert dolly["sha"] == "19308160448536e378e3db21a73a751579ee7fdd"
    info = json.loads(_blob(dolly["api_info"]))
    assert "_id" not in info
    assert info["id"] == info["modelId"] == "databricks/dolly-v2-12b"
    assert info["author"] == "databricks"
    assert info["sha"] == dolly["sha"]
    assert info["cardData"]["license"] == "mit"
    assert info["library_name"] == "transformers"
    assert info["tags"] == [
        "transformers",
        "en",
        "dataset:databricks/databricks-dolly-15k",
        "license:mit",
    ]
    assert info["siblings"] == [{"rfilename": "README.md"}]
    assert "pipeline_tag" not in info  # the card does not say


def test_cards_are_the_recorded_bytes() -> None:
    fixtures = ROOT / "tests" / "fixtures" / "cards"
    for repo_id in ("tiiuae/falcon-40b-instruct", "lmsys/vicuna-13b-v1.3", "EleutherAI/gpt-j-6b"):
        commit = _repo(repo_id)["commits"][-1]
        expected = (fixtures / (repo_id.replace("/", "__") + ".md")).read_bytes()
        assert _blob(commit["files"]["README.md"]) == expected


def test_models_without_a_hub_card_have_no_readme() -> None:
    for repo_id in ("huggyllama/llama-7b", "chavinlo/alpaca-native"):
        commit = _repo(repo_id)["commits"][-1]
        assert commit["files"] == {}
        info = json.loads(_blob(commit["api_info"]))
        assert info["siblings"] == [] and "cardData" not in info
    # The GitHub Alpaca card is a parsing fixture, not a Hub card.
    fixture = ROOT / "tests" / "fixtures" / "cards" / "stanford_alpaca_model_card.md"
    assert fixture.read_bytes().startswith(b"---\n# Alpaca Model Card")


# -- deterministic build -------------------------------------------------------


def _write_csv(path: Path, table: pa.Table, header: list[str], *, bom: bool) -> None:
    def cell(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, float):
            return repr(value)
        return str(value)

    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in table.to_pylist():
            writer.writerow([cell(value) for value in row.values()])


def _source_from_recordings(target: Path, rows: int) -> None:
    """A source folder in the real files' layout, rebuilt from the recordings.

    The first `rows` rows of every export go back to CSV under the export's own
    headers; cards and API bodies are the recorded bytes.
    """
    builder = _builder()
    (target / "hf_api").mkdir(parents=True)
    for export in builder.EXPORTS:
        commit = next(
            c for c in _repo(export.repo_id)["commits"] if c["date"].startswith(export.date)
        )
        table = pq.read_table(pa.BufferReader(_blob(commit["files"][LEADERBOARD_FILE])))
        table = table.slice(0, rows)
        header = table.column_names
        if export.rename is not None:
            back = {display: source for source, display in export.rename.items()}
            header = [back[name] for name in header]
        _write_csv(target / export.source, table, header, bom=export.date.startswith("2023"))
    for model in builder.ARTICLE_MODELS:
        if model.card is not None:
            commit = _repo(model.repo_id)["commits"][-1]
            (target / model.card).write_bytes(_blob(commit["files"]["README.md"]))
    for repo in _manifest()["repos"]:
        for commit in repo["commits"]:
            if commit["source"].startswith("hf_api/"):
                name = commit["source"].split()[0].removeprefix("hf_api/")
                (target / "hf_api" / name).write_bytes(_blob(commit["api_info"]))
        for item in repo.get("partial_api_info", []):
            name = item["source"].split()[0].removeprefix("hf_api/")
            (target / "hf_api" / name).write_bytes(_blob(item["body"]))


def test_build_is_deterministic(tmp_path: Path) -> None:
    source = tmp_path / "source"
    _source_from_recordings(source, rows=40)
    first, second = tmp_path / "first", tmp_path / "second"
    assert _builder().main(["--source", str(source), "--out", str(first)]) == 0
    # The second run is a fresh process with another hash seed: no output may
    # depend on set or dict iteration order of one interpreter.
    subprocess.run(
        [sys.executable, str(BUILDER), "--source", str(source), "--out", str(second)],
        check=True,
        capture_output=True,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
    )
    assert (first / "manifest.json").read_bytes() == (second / "manifest.json").read_bytes()
    assert (first / "PROVENANCE.md").read_bytes() == (second / "PROVENANCE.md").read_bytes()
    blobs = sorted(p.name for p in (first / "blobs").iterdir())
    assert blobs == sorted(p.name for p in (second / "blobs").iterdir())
    manifest = json.loads((first / "manifest.json").read_text(encoding="utf-8"))
    assert len(manifest["repos"]) == len(_manifest()["repos"])
    # Cards and API bodies pass through byte for byte.
    assert {r["repo_id"] for r in manifest["repos"]} == {r["repo_id"] for r in _manifest()["repos"]}
    zephyr = next(r for r in manifest["repos"] if r["repo_id"] == "HuggingFaceH4/zephyr-7b-beta")
    assert [c["api_info"] for c in zephyr["commits"]] == [
        c["api_info"] for c in _repo("HuggingFaceH4/zephyr-7b-beta")["commits"]
    ]


def test_build_fails_loudly_on_a_missing_source(tmp_path: Path) -> None:
    assert _builder().main(["--source", str(tmp_path), "--out", str(tmp_path / "out")]) == 1
    assert not (tmp_path / "out").exists()
