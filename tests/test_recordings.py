"""The replay hub's recordings: format, integrity, provenance and a deterministic build.

Facts checked here come from the real leaderboard history (the git bundle of
210 exports described in the source folder's `history/README.md`); the tests
that read the bundle itself are skipped where it is not at hand.
"""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import io
import json
import os
import re
import subprocess
import sys
from collections import Counter
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from llmsync.replay import rowstore
from llmsync.replay.recordings import RecordingStore

ROOT = Path(__file__).resolve().parents[1]
RECORDINGS = ROOT / "src" / "llmsync" / "replay" / "recordings"
BUILDER = ROOT / "scripts" / "build_recordings.py"
HISTORY = ROOT / "scripts" / "leaderboard_history.py"
# The real source files (see the builder's docstring); `LLMSYNC_HUB_DATA` overrides.
HUB_DATA = Path(os.environ.get("LLMSYNC_HUB_DATA") or ROOT.parent / "shared" / "hub-data")
BUNDLE = HUB_DATA / "history" / "leaderboard-history.bundle"
LEADERBOARD_FILE = "data/train-00000-of-00001.parquet"
V1 = "open-llm-leaderboard-old/contents"
V2 = "open-llm-leaderboard/contents"
PARTIAL_DATES = ["2023-10-04", "2023-10-13", "2023-10-31"]
# The v1 exports of the bundle, less the three partial captures.
V1_SERVED = [
    "2023-05-23",
    "2023-05-26",
    "2023-05-31",
    "2023-06-10",
    "2023-06-19",
    "2023-06-29",
    "2023-07-14",
    "2023-07-24",
    "2023-07-28",
    "2023-08-01",
    "2023-08-09",
    "2023-08-17",
    "2023-08-25",
    "2023-09-04",
    "2023-09-15",
    "2024-06-19",
    "2024-07-07",
]

needs_bundle = pytest.mark.skipif(
    not BUNDLE.is_file(),
    reason=f"the history bundle is not at {BUNDLE} (set LLMSYNC_HUB_DATA to the folder "
    "holding history/leaderboard-history.bundle)",
)


@cache
def _manifest() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((RECORDINGS / "manifest.json").read_text(encoding="utf-8"))
    return data


@cache
def _store() -> RecordingStore:
    return RecordingStore.load(RECORDINGS, serve_partial_captures=True)


def _blob(digest: str) -> bytes:
    return _store().blob_bytes(digest)


def _repo(repo_id: str) -> dict[str, Any]:
    repo: dict[str, Any] = next(r for r in _manifest()["repos"] if r["repo_id"] == repo_id)
    return repo


def _commit(repo_id: str, date: str) -> dict[str, Any]:
    repo = _repo(repo_id)
    commit: dict[str, Any] = next(
        c for c in [*repo["commits"], *repo.get("partial_captures", [])] if c["date"][:10] == date
    )
    return commit


def _table(repo_id: str, date: str) -> pa.Table:
    return pq.read_table(pa.BufferReader(_blob(_commit(repo_id, date)["files"][LEADERBOARD_FILE])))


def _referenced() -> set[str]:
    manifest = _manifest()
    digests: set[str] = set()
    for store in manifest["row_stores"].values():
        digests.update((store["rows"], store["index"]))
    for repo in manifest["repos"]:
        for commit in [*repo["commits"], *repo.get("partial_captures", [])]:
            digests.update(commit["files"].values())
            if commit["api_info"] is not None:
                digests.add(commit["api_info"])
        digests.update(item["body"] for item in repo.get("partial_api_info", []))
    # Pull requests' files (the eval results' timeline) are blobs too.
    evals = json.loads((RECORDINGS / "evals.json").read_text(encoding="utf-8"))
    for pull_request in evals["pull_requests"]:
        for head in pull_request["commits"]:
            digests.update(head["files"].values())
    return digests - set(manifest["built_files"])


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


@cache
def _builder() -> ModuleType:
    return _load("build_recordings", BUILDER)


@cache
def _history() -> ModuleType:
    _builder()  # puts scripts/ on the path and loads `leaderboard_history` as it does
    return sys.modules["leaderboard_history"]


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
    assert manifest["format"] == 2
    for repo in manifest["repos"]:
        assert repo["repo_type"] in ("model", "dataset")
        dates = [commit["date"] for commit in repo["commits"]]
        assert dates == sorted(dates), repo["repo_id"]  # oldest first
        for commit in [*repo["commits"], *repo.get("partial_captures", [])]:
            assert len(commit["sha"]) == 40
            int(commit["sha"], 16)
            assert commit["date"].endswith("T00:00:00Z")
            assert commit["title"] and commit["source"]
    shas = [
        c["sha"] for r in manifest["repos"] for c in [*r["commits"], *r.get("partial_captures", [])]
    ]
    assert len(shas) == len(set(shas))


def test_no_machine_paths_in_recordings() -> None:
    for path in [RECORDINGS / "manifest.json", RECORDINGS / "PROVENANCE.md"]:
        text = path.read_text(encoding="utf-8")
        assert "/work/" not in text and "/home/" not in text and "/tmp/" not in text


def test_all_recordings_fit_in_8_mb() -> None:
    total = sum(path.stat().st_size for path in RECORDINGS.rglob("*") if path.is_file())
    assert total <= 8_000_000, total


# -- leaderboard datasets ----------------------------------------------------------


def test_every_export_but_the_partial_captures_is_a_commit() -> None:
    v1 = _repo(V1)
    assert [c["date"][:10] for c in v1["commits"]] == V1_SERVED
    assert [c["date"][:10] for c in v1["partial_captures"]] == PARTIAL_DATES
    v2 = [c["date"][:10] for c in _repo(V2)["commits"]]
    assert len(v2) == 190 and len(set(v2)) == 190
    assert (v2[0], v2[-1]) == ("2024-07-13", "2025-03-21")
    assert "partial_captures" not in _repo(V2)
    for repo_id in (V1, V2):
        for commit in _repo(repo_id)["commits"]:
            assert set(commit["files"]) == {LEADERBOARD_FILE, "README.md"}
            assert commit["api_info"] is None
            assert commit["files"][LEADERBOARD_FILE] in _manifest()["built_files"]


@pytest.mark.parametrize(
    ("repo_id", "date", "rows"),
    [
        (V1, "2023-05-23", 49),
        (V1, "2023-06-10", 132),
        (V1, "2023-09-04", 1291),
        (V1, "2023-09-15", 1240),
        (V1, "2024-06-19", 7065),
        (V1, "2024-07-07", 7169),
        (V2, "2024-07-13", 237),
        (V2, "2024-10-09", 1436),
        (V2, "2024-12-11", 2209),
        (V2, "2025-03-21", 4576),
    ],
)
def test_row_counts_of_real_exports(repo_id: str, date: str, rows: int) -> None:
    commit = _commit(repo_id, date)
    assert _table(repo_id, date).num_rows == rows
    card = _blob(commit["files"]["README.md"]).decode("utf-8")
    assert card.startswith("---\n") and f"Rows: {rows};" in card


def test_partial_captures_are_kept_apart() -> None:
    for capture, rows in zip(_repo(V1)["partial_captures"], [79, 77, 109], strict=True):
        assert "partial capture" in capture["reason"]
        assert "(partial capture)" in capture["title"]
        assert _table(V1, capture["date"][:10]).num_rows == rows
        card = _blob(capture["files"]["README.md"]).decode("utf-8")
        assert "Not an ordinary revision" in card


def test_every_row_of_a_2023_scrape_is_kept() -> None:
    # No precision column: a model can be listed twice with different scores...
    table = _table(V1, "2023-07-24")
    llama = table.filter(pc.equal(table["Model"], "huggyllama/llama-65b"))
    assert llama["Average"].to_pylist() == [64.2, 62.1]
    # ... and 2023-09-15 repeats 10 rows exactly: all 1,240 are served.
    rows = Counter(tuple(row.values()) for row in _table(V1, "2023-09-15").to_pylist())
    assert sum(rows.values()) == 1240 and len(rows) == 1230


def test_falcon_mmlu_changes_in_july_2023() -> None:
    falcon = "tiiuae/falcon-40b-instruct"
    seen = {}
    for date in V1_SERVED:
        table = _table(V1, date)
        name = "fullname" if "fullname" in table.column_names else "Model"
        mmlu = next(column for column in table.column_names if column.startswith("MMLU"))
        seen[date] = table.filter(pc.equal(table[name], falcon))[mmlu].to_pylist()
    assert seen["2023-05-26"] == []
    assert all(seen[d] == [54.1] for d in ("2023-05-31", "2023-06-10", "2023-06-19", "2023-06-29"))
    assert all(seen[d] == [55.4] for d in V1_SERVED[6:15])  # 2023-07-14 .. 2023-09-15
    assert seen["2024-06-19"] == seen["2024-07-07"] == []


def test_leaderboard_tables_use_display_names() -> None:
    def columns(repo_id: str, date: str) -> list[str]:
        digest = _commit(repo_id, date)["files"][LEADERBOARD_FILE]
        return list(pq.read_schema(pa.BufferReader(_blob(digest))).names)

    # The 2023 scrapes keep their own headers, without the BOM.
    assert columns(V1, "2023-06-19")[:3] == ["Model", "Average", "ARC (25-shot)"]
    assert columns(V1, "2023-06-29")[:3] == ["Model", "Average", "ARC(25-shot)"]
    final_v1 = columns(V1, "2024-07-07")
    for name in ("fullname", "Average ⬆️", "ARC", "GSM8K", "Hub ❤️", "#Params (B)", "Model sha"):
        assert name in final_v1
    display = set(columns(V2, "2024-07-13"))
    assert {"T", "Model", "IFEval", "IFEval Raw", "Not_Merged", "Maintainer's Highlight"} <= display
    assert "Generation" not in display
    assert {"Generation", "Base Model"} <= set(columns(V2, "2024-08-30"))
    assert "CO₂ cost (kg)" in set(columns(V2, "2024-11-15")) - set(columns(V2, "2024-11-14"))
    assert "Official Providers" in set(columns(V2, "2024-12-05"))
    api = set(columns(V2, "2025-03-21"))
    for name in ("fullname", "Average ⬆️", "IFEval", "IFEval Raw", "MATH Lvl 5", "Chat Template"):
        assert name in api
    assert "Merged" in api and "Official Providers" in api
    assert "Maintainer's Highlight" in set(columns(V2, "2024-12-11"))
    for date in ("2024-12-11", "2025-03-21"):
        names = columns(V2, date)
        assert not any(n.startswith(("model_", "metadata_", "features_")) for n in names)


def test_leaderboard_values_keep_their_types() -> None:
    table = _table(V2, "2025-03-21")
    assert table.schema.field("IFEval").type == pa.float64()
    assert table.schema.field("Chat Template").type == pa.bool_()
    assert table.schema.field("Hub ❤️").type == pa.int64()
    assert table.schema.field("Model sha").type == pa.string()
    falcon = table.filter(pc.equal(table.column("fullname"), "tiiuae/falcon-40b-instruct"))
    # Unrounded, as the export had it.
    assert round(falcon.column("MATH Lvl 5")[0].as_py(), 2) == 1.96
    assert falcon.column("MATH Lvl 5")[0].as_py() != 1.96
    # The 2024 display exports were rounded upstream: kept as they were.
    older = _table(V2, "2024-11-09")
    falcon = older.filter(pc.equal(older.column("fullname"), "tiiuae/falcon-40b-instruct"))
    assert falcon.select(["MATH Lvl 5", "MATH Lvl 5 Raw"]).to_pylist() == [
        {"MATH Lvl 5": 1.66, "MATH Lvl 5 Raw": 0.02}
    ]


# -- the real history, export by export ----------------------------------------


@cache
def _bundle_exports() -> list[Any]:
    exports: list[Any] = _history().read_bundle(BUNDLE)
    return exports


def _csv_table(export: Any) -> pa.Table:
    """The export's CSV read by Arrow (not by the builder's reader) under the
    served file's types, its columns renamed as the builder maps them."""
    history = _history()
    data = export.data.removeprefix(b"\xef\xbb\xbf")
    header = next(csv.reader(io.StringIO(data.decode("utf-8").split("\n", 1)[0])))
    fmt = history.detect_format(export.file, header, export.date)
    names = fmt.columns(header, export.date)
    served = _table(export.repo_id, export.date)
    types = {src: served.schema.field(name).type for src, name in zip(header, names, strict=True)}
    table = pacsv.read_csv(
        io.BytesIO(data),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types=types, null_values=[""], strings_can_be_null=True
        ),
    )
    return table.rename_columns(names)


def _sorted(table: pa.Table) -> pa.Table:
    return table.sort_by([(name, "ascending") for name in table.column_names])


@needs_bundle
def test_every_export_serves_the_bundle_rows() -> None:
    """For each of the 210 exports: the served Parquet's rows are the CSV's rows
    (as multisets, after the column mapping), and the served commits are the
    bundle's exports in date order, the partial captures kept apart."""
    exports = _bundle_exports()
    assert len(exports) == 210
    for export in exports:
        served = _table(export.repo_id, export.date)
        expected = _csv_table(export)
        assert served.column_names == expected.column_names, export.date
        assert served.num_rows == expected.num_rows == export.rows, export.date
        assert _sorted(served).equals(_sorted(expected)), (export.repo_id, export.date)
    for repo_id, count in ((V1, 20), (V2, 190)):
        dates = [e.date for e in exports if e.repo_id == repo_id]
        assert len(dates) == count
        served = [c["date"][:10] for c in _repo(repo_id)["commits"]]
        assert served == [d for d in dates if d not in PARTIAL_DATES or repo_id == V2]


@needs_bundle
def test_provenance_names_every_export() -> None:
    text = (RECORDINGS / "PROVENANCE.md").read_text(encoding="utf-8")
    lines = text.splitlines()
    for export in _bundle_exports():
        line = next(line for line in lines if export.bundle_commit in line)
        assert export.upstream_repo in line and export.upstream_commit in line
        assert f"`{export.upstream_path}`" in line and f"| {export.date} |" in line
    assert "generated" in text and "not the Hub's" in text


# -- determinism ---------------------------------------------------------------


@pytest.fixture
def no_built_file_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files built anew in this process, not read from a cache."""
    monkeypatch.setattr(rowstore, "BUILT_FILES", rowstore._BytesCache(limit=1 << 30))
    monkeypatch.setattr(rowstore, "BUILT_ON_DISK", rowstore._DiskCache(None))


@pytest.mark.usefixtures("no_built_file_cache")
def test_built_files_are_the_recorded_bytes() -> None:
    # Built in this process, by the code the replay hub runs: the sha256 and
    # size the builder recorded (in another process, earlier).
    built = _manifest()["built_files"]
    for digest in list(built)[::15]:
        data = _blob(digest)
        assert hashlib.sha256(data).hexdigest() == digest and len(data) == built[digest]["size"]


def test_building_twice_gives_the_same_bytes() -> None:
    blobs = _manifest()["row_stores"][V2]
    rows = (RECORDINGS / "blobs" / blobs["rows"]).read_bytes()
    index = (RECORDINGS / "blobs" / blobs["index"]).read_bytes()
    first = rowstore.RowStore.from_bytes(rows, index)
    second = rowstore.RowStore.from_bytes(rows, index)
    digest = _commit(V2, "2025-03-21")["files"][LEADERBOARD_FILE]
    spec = _store().built[digest]
    one = first.export_file(spec.export, spec.columns)
    two = second.export_file(spec.export, spec.columns)
    assert one == two and hashlib.sha256(one).hexdigest() == digest


def test_other_processes_build_the_same_bytes() -> None:
    picked = [_commit(V1, "2023-09-15"), _commit(V2, "2024-07-13"), _commit(V2, "2025-03-21")]
    digests = [commit["files"][LEADERBOARD_FILE] for commit in picked]
    code = (
        "import hashlib, sys\n"
        "from llmsync.replay.recordings import RecordingStore\n"
        f"store = RecordingStore.load()\n"
        f"for digest in {digests!r}:\n"
        "    print(hashlib.sha256(store.blob_bytes(digest)).hexdigest())\n"
    )
    for seed in ("1", "4242"):
        done = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed, rowstore.CACHE_ENV: "off"},
        )
        assert done.stdout.split() == digests


def test_built_files_are_kept_on_disk_and_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A fresh replay process reads what another built, by sha256; bytes that
    # do not hash to their name are rebuilt, never served.
    digest = _commit(V2, "2025-03-21")["files"][LEADERBOARD_FILE]
    spec = _store().built[digest]
    monkeypatch.setattr(rowstore, "BUILT_ON_DISK", rowstore._DiskCache(tmp_path / "cache"))
    monkeypatch.setattr(rowstore, "BUILT_FILES", rowstore._BytesCache(limit=1 << 30))
    built = _store().blob_bytes(digest)
    kept = tmp_path / "cache" / digest
    assert kept.read_bytes() == built and len(built) == spec.size
    assert [p.name for p in kept.parent.iterdir()] == [digest]  # no temporary file left

    def no_build() -> bytes:
        raise AssertionError("built again")

    monkeypatch.setattr(rowstore, "BUILT_FILES", rowstore._BytesCache(limit=1 << 30))
    assert rowstore.cached_file(digest, no_build) == built

    kept.write_bytes(built[:-1] + b"x")  # altered on disk
    monkeypatch.setattr(rowstore, "BUILT_FILES", rowstore._BytesCache(limit=1 << 30))
    assert rowstore.cached_file(digest, lambda: built) == built
    assert kept.read_bytes() == built


def test_the_built_file_cache_folder_is_chosen_by_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(rowstore.CACHE_ENV, str(tmp_path / "here"))
    assert rowstore.cache_folder() == tmp_path / "here"
    monkeypatch.setenv(rowstore.CACHE_ENV, "off")
    assert rowstore.cache_folder() is None
    monkeypatch.delenv(rowstore.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert rowstore.cache_folder() == tmp_path / "xdg" / "llmsync" / "replay-files"
    # A folder that cannot be written costs only the cache.
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    rowstore._DiskCache(blocked).put("0" * 64, b"data")
    assert rowstore._DiskCache(blocked).get("0" * 64) is None


def test_a_different_pyarrow_announces_what_it_builds(tmp_path: Path) -> None:
    # Recordings built by another pyarrow version: the store builds every file at
    # load and announces those digests (here, the same bytes: one version).
    copy = tmp_path / "recordings"
    copy.mkdir()
    (copy / "blobs").symlink_to(RECORDINGS / "blobs")
    manifest = json.loads((RECORDINGS / "manifest.json").read_text(encoding="utf-8"))
    manifest["built_with"]["pyarrow"] = "0.0.0"
    # One leaderboard commit is enough (and every built file is built at load).
    manifest["repos"] = [r for r in manifest["repos"] if r["repo_id"] != V1]
    v2 = next(r for r in manifest["repos"] if r["repo_id"] == V2)
    v2["commits"] = v2["commits"][-1:]
    kept = v2["commits"][0]["files"][LEADERBOARD_FILE]
    manifest["built_files"] = {kept: manifest["built_files"][kept]}
    (copy / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    store = RecordingStore.load(copy)
    head = store.repos[f"dataset/{V2}"].head.files[LEADERBOARD_FILE]
    assert head.sha256 == _repo(V2)["commits"][-1]["files"][LEADERBOARD_FILE]
    assert hashlib.sha256(store.file_bytes(head)).hexdigest() == head.sha256


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
    # Its newest row is in the v1 archive's export of 2024-07-07 (first published then).
    (alpaca,) = _repo("chavinlo/alpaca-native")["commits"]
    assert alpaca["date"] == "2024-07-07T00:00:00Z"
    assert alpaca["sha"] == "cc7773cac2478231807c56ef2f02292d98f85cf5"
    assert json.loads(_blob(alpaca["api_info"]))["likes"] == 261


def test_cards_are_the_recorded_bytes() -> None:
    fixtures = ROOT / "tests" / "fixtures" / "cards"
    for repo_id in ("tiiuae/falcon-40b-instruct", "lmsys/vicuna-13b-v1.3", "EleutherAI/gpt-j-6b"):
        commit = _repo(repo_id)["commits"][-1]
        expected = (fixtures / (repo_id.replace("/", "__") + ".md")).read_bytes()
        assert _blob(commit["files"]["README.md"]) == expected


def test_models_without_a_recorded_card_mark_it_not_recorded() -> None:
    no_card = [
        "chavinlo/alpaca-native",
        "huggyllama/llama-7b",
        "huggyllama/llama-13b",
        "huggyllama/llama-65b",
        "databricks/dolly-v2-7b",
        "databricks/dolly-v2-3b",
        "tatsu-lab/alpaca-7b-wdiff",
    ]
    for repo_id in no_card:
        commit = _repo(repo_id)["commits"][-1]
        assert commit["files"] == {}
        assert list(commit["not_recorded"]) == ["README.md"]
        info = json.loads(_blob(commit["api_info"]))
        assert "cardData" not in info
        assert info["llmsync_replay_assembled"].startswith("assembled by scripts/build_recordings")
        # Only a card known on the Hub is listed (llama-7b's: 472 bytes at 08637d3).
        known = repo_id == "huggyllama/llama-7b"
        assert info["siblings"] == ([{"rfilename": "README.md"}] if known else [])
    llama = _repo("huggyllama/llama-7b")["commits"][-1]
    assert "472 bytes at commit 08637d3" in llama["not_recorded"]["README.md"]
    # The row's licence and parameters, under the keys the Hub uses.
    info = json.loads(_blob(_repo("huggyllama/llama-13b")["commits"][-1]["api_info"]))
    assert info["tags"] == ["license:other"]
    assert info["safetensors"]["total"] == 13_016_000_000
    # The GitHub Alpaca card is a parsing fixture, not a Hub card.
    fixture = ROOT / "tests" / "fixtures" / "cards" / "stanford_alpaca_model_card.md"
    assert fixture.read_bytes().startswith(b"---\n# Alpaca Model Card")


# -- deterministic build -------------------------------------------------------

_UPSTREAM = re.compile(r"- Upstream: `(?P<repo>[^`]+)`, `(?P<path>[^`]+)`, commit (?P<commit>\w+)")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _git(cwd: Path, *args: str, date: str = "") -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.org",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.org",
    }
    if date:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = f"{date}T12:00:00+00:00"
    subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True)


def _source_from_recordings(target: Path, rows: int) -> None:
    """A source folder in the real files' layout, rebuilt from the recordings.

    A small history bundle: the first export of every column layout and one
    partial capture, `rows` rows each, back under the export's own headers;
    cards and API bodies are the recorded bytes.
    """
    history = _history()
    (target / "hf_api").mkdir(parents=True)
    repo = target / "git"
    repo.mkdir()
    _git(repo, "init", "-q")
    picked: list[tuple[str, dict[str, Any], str]] = []
    for repo_id, store in _manifest()["row_stores"].items():
        layouts = dict(store["layouts"])
        for name in layouts:
            picked.append((repo_id, _commit(repo_id, name.split("/")[1]), name))
    picked.append((V1, _commit(V1, PARTIAL_DATES[0]), "v1-scrape/"))
    formats = {fmt.key: fmt for fmt in history.FORMATS}
    for repo_id, commit, layout in sorted(picked, key=lambda item: item[1]["date"]):
        date = commit["date"][:10]
        fmt = formats[layout.split("/")[0]]
        table = _table(repo_id, date).slice(0, rows)
        header = table.column_names
        if fmt.rename is not None:
            back = {display: source for source, display in fmt.rename.items()}
            header = [back[name] for name in header]
        name = "open_llm_leaderboard_v1.csv" if repo_id == V1 else "open_llm_leaderboard_v2.csv"
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer)
        writer.writerow(header)
        for row in table.to_pylist():
            writer.writerow([_cell(value) for value in row.values()])
        text = buffer.getvalue()
        bom = "\ufeff" if fmt.rename is None else ""
        (repo / name).write_bytes((bom + text).encode("utf-8"))
        card = _blob(commit["files"]["README.md"]).decode("utf-8")
        up = _UPSTREAM.search(card)
        assert up is not None
        board = "v1" if repo_id == V1 else "v2"
        _git(repo, "add", name)
        _git(
            repo,
            "commit",
            "-q",
            "-m",
            f"{board} export of {date}: {table.num_rows} rows",
            "-m",
            f"source: {up['repo']}@{up['commit']} {up['path']}",
            date=date,
        )
    (target / "history").mkdir()
    _git(repo, "bundle", "create", str(target / history.BUNDLE), "--all")
    builder = _builder()
    for model in builder.ARTICLE_MODELS:
        if model.card is not None:
            commit = _repo(model.repo_id)["commits"][-1]
            (target / model.card).write_bytes(_blob(commit["files"]["README.md"]))
    for repo_json in _manifest()["repos"]:
        for commit in repo_json["commits"]:
            if commit["source"].startswith("hf_api/"):
                name = commit["source"].split()[0].removeprefix("hf_api/")
                (target / "hf_api" / name).write_bytes(_blob(commit["api_info"]))
        for item in repo_json.get("partial_api_info", []):
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
    # (the eval results' repos are added from a source folder this one lacks)
    recorded = {r["repo_id"] for r in _manifest()["repos"] if r.get("added_by") != "evals"}
    assert {r["repo_id"] for r in manifest["repos"]} == recorded
    v1 = next(r for r in manifest["repos"] if r["repo_id"] == V1)
    assert [c["date"][:10] for c in v1["partial_captures"]] == [PARTIAL_DATES[0]]
    # Every layout came back under the same display names, 40 rows each.
    store = RecordingStore.load(first, serve_partial_captures=True)
    for repo_id, layouts in ((V1, 3), (V2, 6)):
        commits = store.repos[f"dataset/{repo_id}"].commits
        assert len(commits) == layouts + (repo_id == V1)
        for commit in commits:
            data = store.file_bytes(commit.files[LEADERBOARD_FILE])
            table = pq.read_table(pa.BufferReader(data))
            date = commit.date.date().isoformat()
            assert table.num_rows == 40
            assert table.column_names == _table(repo_id, date).column_names
    # Cards and API bodies pass through byte for byte.
    zephyr = next(r for r in manifest["repos"] if r["repo_id"] == "HuggingFaceH4/zephyr-7b-beta")
    assert [c["api_info"] for c in zephyr["commits"]] == [
        c["api_info"] for c in _repo("HuggingFaceH4/zephyr-7b-beta")["commits"]
    ]


def test_build_fails_loudly_on_a_missing_source(tmp_path: Path) -> None:
    assert _builder().main(["--source", str(tmp_path), "--out", str(tmp_path / "out")]) == 1
    assert not (tmp_path / "out").exists()
