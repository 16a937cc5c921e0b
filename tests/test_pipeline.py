"""The whole sync, composed without Prefect, against the replay hub."""

from __future__ import annotations

import collections
import datetime as dt
import hashlib
import itertools
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from llmsync.cli import main
from llmsync.pipeline import (
    SOURCES,
    SyncConfig,
    SyncFailed,
    compare_with_snapshot,
    rebuild_from_raw,
    run_sync,
)
from llmsync.pipeline.revision import LeaderboardRevision
from llmsync.pipeline.scores import ParseAhead, build_scores
from llmsync.replay.server import ReplayHub
from llmsync.store.raw import RawStore
from llmsync.store.snapshots import TABLE_NAMES, SnapshotStore
from llmsync.tables.intervals import as_of
from llmsync.tables.leaderboards import LEADERBOARD_FILE, parse_leaderboard
from tests.conftest import V1, V2, CleanSync
from tests.readme_recipes import run_recipes
from tests.recording_edits import without_repo
from tests.tables import ARTICLE_PRIMARIES

AS_OF_2024_11_10 = dt.date(2024, 11, 10)
OPENEVALS = "OpenEvals/leaderboard-data"


@pytest.fixture(scope="module")
def synced_twice(
    tmp_path_factory: pytest.TempPathFactory, replay_hub_factory: Callable[..., Any]
) -> dict[str, Any]:
    """The issue's scenario: as of 2024-11-10, then today's Hub, then again."""
    data_dir = tmp_path_factory.mktemp("data")
    old_hub = replay_hub_factory(as_of=AS_OF_2024_11_10)
    new_hub = replay_hub_factory()
    first = run_sync(SyncConfig(data_dir=data_dir, endpoint=old_hub.url))
    second = run_sync(SyncConfig(data_dir=data_dir, endpoint=new_hub.url))
    listed = [_commit_pages(new_hub)]
    new_hub.clear_requests()
    processed_before = {
        str(p): p.read_bytes() for p in (data_dir / "processed").rglob("*") if p.is_file()
    }
    third = run_sync(SyncConfig(data_dir=data_dir, endpoint=new_hub.url))
    listed.append(_commit_pages(new_hub))
    return {
        "data_dir": data_dir,
        "reports": [first, second, third],
        "processed_before_third": processed_before,
        "commit_pages": listed,
        "third_cards": [r.path for r in new_hub.requests if r.path.endswith("/README.md")],
    }


def _commit_pages(hub: ReplayHub) -> collections.Counter[str]:
    """How many commit-list pages the hub served, per repo."""
    return collections.Counter(
        r.path.split("/api/datasets/")[1].split("/commits/")[0]
        for r in hub.requests
        if "/commits/" in r.path
    )


def _latest_table(data_dir: Path, name: str) -> Any:
    latest = SnapshotStore(data_dir).latest()
    assert latest is not None
    return pq.read_table(latest.table_path(name)).to_pandas()


def test_two_snapshots_and_three_runs(synced_twice: dict[str, Any]) -> None:
    data_dir = synced_twice["data_dir"]
    first, second, third = synced_twice["reports"]
    assert (first.status, second.status, third.status) == ("published", "published", "unchanged")
    # The first run parses the 95 exports served as of 2024-11-10 (17 of v1, 78 of
    # v2); the second only the 112 v2 exports since and OpenEvals' one (2026-03-25),
    # extending the first's intervals; the third has nothing to parse.
    assert [r.parsed_revisions for r in (first, second, third)] == [95, 113, 0]
    assert [r.incremental for r in (first, second)] == [False, True]
    assert third.snapshot == second.snapshot
    folders = sorted(p.name for p in (data_dir / "processed").glob("snapshot=*"))
    assert folders == [f"snapshot={first.snapshot}", f"snapshot={second.snapshot}"]
    runs = SnapshotStore(data_dir).runs()
    assert [(r["status"], r["snapshot"]) for r in runs] == [
        ("published", first.snapshot),
        ("published", second.snapshot),
        ("unchanged", second.snapshot),
    ]


def test_a_night_lists_each_leaderboard_until_what_it_read(
    synced_twice: dict[str, Any], clean_sync: CleanSync
) -> None:
    """A listing stops at the first commit the previous snapshot read and
    takes the older history from it: the tables are those of a sync that
    listed every commit (the shared clean sync, of the same Hub)."""
    second, third = synced_twice["commit_pages"]
    # The second run: v2's 112 commits since 2024-11-10 and the first one it
    # had read fill three pages of 50; v1's 17 commits one; OpenEvals, new
    # since, is listed in full (one page). The unchanged night: one page each.
    assert second == {V1: 1, V2: 3, OPENEVALS: 1}
    assert third == {V1: 1, V2: 1, OPENEVALS: 1}
    latest = SnapshotStore(synced_twice["data_dir"]).latest()
    clean = SnapshotStore(clean_sync.data_dir).latest()
    assert latest is not None and clean is not None
    leaderboards = latest.manifest["sources"]["leaderboards"]
    assert leaderboards == clean.manifest["sources"]["leaderboards"]
    counts = {name: len(entry["revisions"]) for name, entry in leaderboards.items()}
    assert counts == {"open_llm_v1": 17, "open_llm_v2": 190, "openevals": 1}
    assert latest.manifest["complete_histories"] == ["open_llm_v1", "open_llm_v2", "openevals"]
    for name in ("scores", "revisions"):
        mine = pq.read_table(latest.table_path(name))
        assert _canonical(mine).equals(_canonical(clean_sync.tables[name])), name


def test_a_night_asks_no_card_of_a_commit_known_to_have_none(
    synced_twice: dict[str, Any],
) -> None:
    latest = SnapshotStore(synced_twice["data_dir"]).latest()
    assert latest is not None
    models = latest.manifest["sources"]["models"]
    # The Hub answered 404 for these two repos' README.md at their commits.
    cardless = {r for r, m in models.items() if m["status"] == "ok" and not m["card_sha256"]}
    assert cardless == {"google/gemma-4-12B-it", "prism-ml/Ternary-Bonsai-27B-gguf"}
    # The unchanged night asks again only the cards the replay's recordings
    # lack (a gap is not an answer); the two commits without one, not at all.
    gaps = {r for r, m in models.items() if m["status"] == "not_recorded"}
    asked = {path.split("/resolve/")[0][1:] for path in synced_twice["third_cards"]}
    assert asked == gaps and len(gaps) == 7


def test_unchanged_run_writes_no_table_files(synced_twice: dict[str, Any]) -> None:
    data_dir = synced_twice["data_dir"]
    now = {str(p): p.read_bytes() for p in (data_dir / "processed").rglob("*") if p.is_file()}
    assert now == synced_twice["processed_before_third"]


def test_catalog_has_the_six_article_models_with_v1_scores(synced_twice: dict[str, Any]) -> None:
    catalog = _latest_table(synced_twice["data_dir"], "catalog")
    primaries = catalog[catalog.role == "primary"].set_index("article_model")
    assert primaries["repo_id"].to_dict() == ARTICLE_PRIMARIES
    assert primaries["open_llm_v1_average"].notna().all()
    assert primaries.loc["Dolly", "open_llm_v1_average"] == 39.46
    assert primaries.loc["Dolly", "open_llm_v1_arc"] == 42.41
    assert primaries.loc["GPT-J", "open_llm_v1_average"] == 40.10
    # Falcon-40B-Instruct left the v1 table before its final export: its
    # latest v1 score is the 2023-09-04 one.
    assert primaries.loc["Falcon-40B-Instruct", "open_llm_v1_average"] == 63.47
    # Exactly as the 2025 export holds it (upstream text 1.96374622356495).
    assert primaries.loc["Falcon-40B-Instruct", "open_llm_v2_math_lvl5"] == 1.96374622356495
    # First listed by the 2023-05-31 scrape (not by those of 2023-05-23 and -26).
    assert primaries.loc["Falcon-40B-Instruct", "open_llm_v1_first_seen"] == dt.date(2023, 5, 31)
    assert primaries.loc["Dolly", "hub_license"] == "mit"


def test_scores_as_of_each_export_give_that_export_back(synced_twice: dict[str, Any]) -> None:
    """For every export the hub served, the published intervals filtered to its
    date hold exactly its rows (as multisets: repeated rows are kept)."""
    data_dir = synced_twice["data_dir"]
    latest = SnapshotStore(data_dir).latest()
    assert latest is not None
    scores = pq.read_table(latest.table_path("scores"))
    raw = RawStore(data_dir / "raw")
    served = 0
    for leaderboard, entry in latest.manifest["sources"]["leaderboards"].items():
        mine = scores.filter(pc.equal(scores.column("leaderboard"), leaderboard))
        for item in entry["revisions"]:
            landed = raw.get(
                entry["repo_id"], LEADERBOARD_FILE, repo_type="dataset", revision=item["revision"]
            )
            assert landed is not None
            rows = parse_leaderboard(landed.path.read_bytes(), leaderboard=leaderboard).rows
            state = as_of(mine, dt.date.fromisoformat(item["date"]))
            # Occurrences aside: a duplicate's number is its interval's.
            assert _canonical(state.drop_columns(["occurrence"])).equals(
                _canonical(rows.drop_columns(["occurrence"]))
            ), (leaderboard, item["date"])
            served += 1
    assert served == 17 + 190 + 1  # and OpenEvals/leaderboard-data's one
    assert scores.num_rows == 116_884 + 300  # OpenEvals: 93 aggregates, 207 benchmark scores
    revisions = pq.read_table(latest.table_path("revisions")).to_pylist()
    seen = [(r["leaderboard"], str(r["date"]), r["rows"], r["status"]) for r in revisions]
    # Dates and row counts as the history bundle's commits name them.
    assert seen[:17] == [("open_llm_v1", date, rows, "ok") for date, rows in V1_EXPORTS]
    v2 = [row for row in seen[17:] if row[0] == "open_llm_v2"]
    assert [row[0] for row in seen[17:]].count("openevals") == 1
    assert {(leaderboard, status) for leaderboard, _, _, status in v2} == {("open_llm_v2", "ok")}
    assert (len(v2), sum(rows for _, _, rows, _ in v2)) == (190, 432_921)
    assert (v2[0][1:3], v2[-1][1:3]) == (("2024-07-13", 237), ("2025-03-21", 4576))


# v1's served exports (the three partial October 2023 captures are not served).
V1_EXPORTS = [
    ("2023-05-23", 49),
    ("2023-05-26", 58),
    ("2023-05-31", 84),
    ("2023-06-10", 132),
    ("2023-06-19", 142),
    ("2023-06-29", 142),
    ("2023-07-14", 150),
    ("2023-07-24", 384),
    ("2023-07-28", 472),
    ("2023-08-01", 501),
    ("2023-08-09", 542),
    ("2023-08-17", 813),
    ("2023-08-25", 1069),
    ("2023-09-04", 1291),
    ("2023-09-15", 1240),
    ("2024-06-19", 7065),
    ("2024-07-07", 7169),
]


def _canonical(table: pa.Table) -> pa.Table:
    return table.sort_by([(name, "ascending") for name in table.column_names])


def test_changes_show_falcon_math_going_up(synced_twice: dict[str, Any]) -> None:
    changes = _latest_table(synced_twice["data_dir"], "changes")
    falcon = changes[
        changes.change_kind.isin(["score_changed", "score_reformatted"])
        & (changes.repo_id == "tiiuae/falcon-40b-instruct")
        & (changes.benchmark == "math_lvl5")
    ]
    newest_v2 = SnapshotStore(synced_twice["data_dir"]).latest()
    assert newest_v2 is not None
    revisions = newest_v2.manifest["sources"]["leaderboards"]["open_llm_v2"]["revisions"]
    by_date = {item["date"]: item["revision"] for item in revisions}
    # Since 2024-11-10, two changes, each named by the revision (and date) of the
    # export that made it (values read from the upstream CSVs): 2024-12-11 is the
    # first export of the JSON API, unrounded (1.66 was 1.66163141993958 rounded:
    # a reformatting); 2025-02-14 re-scored MATH (a change).
    assert falcon[["change_kind", "old_score", "new_score", "revision"]].to_numpy().tolist() == [
        ["score_changed", 1.66163141993958, 1.96374622356495, by_date["2025-02-14"]],
        ["score_reformatted", 1.66, 1.66163141993958, by_date["2024-12-11"]],
    ]
    assert falcon["date"].tolist() == [dt.date(2025, 2, 14), dt.date(2024, 12, 11)]


# The curated repos whose card the recordings lack (no copy was found): the
# replay hub answers their README.md 404 `NotRecorded`, a gap in its recordings.
NOT_RECORDED = [
    "chavinlo/alpaca-native",
    "databricks/dolly-v2-3b",
    "databricks/dolly-v2-7b",
    "huggyllama/llama-13b",
    "huggyllama/llama-65b",
    "huggyllama/llama-7b",
    "tatsu-lab/alpaca-7b-wdiff",
]


def test_models_say_why_fields_are_missing(synced_twice: dict[str, Any]) -> None:
    models = _latest_table(synced_twice["data_dir"], "models").set_index("repo_id")
    assert models.loc["databricks/dolly-v2-12b", "status"] == "ok"
    assert models.loc["databricks/dolly-v2-12b", "license"] == "mit"
    statuses = models.status.to_dict()
    assert {repo for repo, status in statuses.items() if status == "ok"} == {
        "tiiuae/falcon-40b-instruct",
        "tiiuae/falcon-40b",
        "tiiuae/falcon-7b-instruct",
        "lmsys/vicuna-13b-v1.3",
        "lmsys/vicuna-7b-v1.3",
        "lmsys/vicuna-7b-v1.5",
        "EleutherAI/gpt-j-6b",
        "EleutherAI/pythia-12b",
        "databricks/dolly-v2-12b",
    }
    # No Hub card was ever recorded for the two models the official benchmarks'
    # leaderboards bring in; the curated repos without one are recording gaps.
    assert {repo for repo, status in statuses.items() if status == "no_card"} == {
        "google/gemma-4-12B-it",
        "prism-ml/Ternary-Bonsai-27B-gguf",
    }
    gaps = models[models.status == "not_recorded"]
    assert sorted(gaps.index) == NOT_RECORDED
    assert set(statuses.values()) == {"ok", "not_recorded", "no_card"}
    # The info is served (the row's sha), the card is not: no card fields.
    assert not gaps.card_present.any()
    assert gaps.sha.notna().all()
    assert "HTTP 404 NotRecorded" in gaps.loc["huggyllama/llama-7b", "status_detail"]


def test_manifest_records_sources_and_hashes(synced_twice: dict[str, Any]) -> None:
    latest = SnapshotStore(synced_twice["data_dir"]).latest()
    assert latest is not None
    manifest = json.loads((latest.path / "manifest.json").read_text())
    v2 = manifest["sources"]["leaderboards"]["open_llm_v2"]
    dates = [r["date"] for r in v2["revisions"]]
    assert (len(dates), dates[:3], dates[-1]) == (
        190,
        ["2025-03-21", "2025-03-20", "2025-03-19"],
        "2024-07-13",
    )
    assert manifest["sources"]["models"]["databricks/dolly-v2-12b"]["sha"] == (
        "19308160448536e378e3db21a73a751579ee7fdd"
    )
    assert manifest["status"] == "complete"
    assert SnapshotStore(synced_twice["data_dir"]).verify(latest) == []

    # The raw objects the tables were built from: every leaderboard revision,
    # and each model's info body and card, by path under data/raw and sha256.
    objects = manifest["raw_objects"]
    kinds = collections.Counter(entry["kind"] for entry in objects)
    # Every curated repo answers, 9 of them with a recorded card (and the
    # official benchmarks' listing, eval.yaml files and leaderboards, and the
    # two models those leaderboards bring in).
    assert kinds == {
        "leaderboard": 208,
        "model_info": 16 + 2,
        "model_card": 9,
        "curated": 1,
        "benchmark_listing": 1,
        "eval_yaml": 9,
        "benchmark_leaderboard": 9,
    }
    # The sources registry is what the manifest holds: one `sources` entry per
    # source, and every source's landed objects after the curated file's, in
    # the registry's order (the run names no source).
    assert set(manifest["sources"]) == {source.name for source in SOURCES} | {
        "curated_sha256",
        "leaderboard_facts_sha256",
    }
    owner = {"curated": "curated", "leaderboard": "leaderboards", "model_info": "models"}
    owner |= {"model_card": "models", "benchmark_listing": "benchmarks"}
    owner |= {"eval_yaml": "benchmarks", "benchmark_leaderboard": "benchmarks"}
    grouped = [name for name, _ in itertools.groupby(owner[e["kind"]] for e in objects)]
    assert grouped == ["curated", "leaderboards", "benchmarks", "models"]
    assert [source.name for source in SOURCES] == grouped[1:]
    dolly = {e["kind"]: e for e in objects if e["repo_id"] == "databricks/dolly-v2-12b"}
    sha = "19308160448536e378e3db21a73a751579ee7fdd"
    assert dolly["model_card"]["path"] == f"models/databricks/dolly-v2-12b/{sha}/README.md"
    assert dolly["model_card"]["bytes"] == 10_746
    source = manifest["sources"]["models"]["databricks/dolly-v2-12b"]
    assert dolly["model_card"]["sha256"] == source["card_sha256"]
    assert dolly["model_info"]["sha256"] == source["info_sha256"]
    assert dolly["model_info"]["path"] == (
        f"api-info/models/databricks/dolly-v2-12b/{sha}/{source['info_sha256']}.json"
    )
    raw = synced_twice["data_dir"] / "raw"
    for entry in objects:
        assert hashlib.sha256((raw / entry["path"]).read_bytes()).hexdigest() == entry["sha256"]


def test_duckdb_and_polars_read_across_snapshots(synced_twice: dict[str, Any]) -> None:
    pattern = str(synced_twice["data_dir"] / "processed" / "snapshot=*" / "catalog.parquet")
    rows = duckdb.sql(
        f"SELECT snapshot, open_llm_v2_math_lvl5 FROM read_parquet('{pattern}', "
        "hive_partitioning = true) WHERE repo_id = 'tiiuae/falcon-40b-instruct' "
        "ORDER BY snapshot"
    ).fetchall()
    assert [value for _, value in rows] == [1.66, 1.96374622356495]
    # As the README reads it: the snapshot id as written. Without `hive_schema`
    # polars guesses a datetime format from the ids, which fails on some days.
    frame = pl.scan_parquet(
        pattern, hive_partitioning=True, hive_schema={"snapshot": pl.String}
    ).collect()
    assert frame.get_column("snapshot").n_unique() == 2


def test_readme_recipes_on_two_syncs(synced_twice: dict[str, Any], tmp_path: Path) -> None:
    """The README's recipes on the data it shows them on (`dev.sh demo --as-of
    2024-11-10`, then `dev.sh demo`; the fixture's first sync observes today
    rather than 2024-11-10, which only eval results would show, and these
    recipes read none) print exactly what it shows under each."""
    found = run_recipes("two-syncs", synced_twice["data_dir"], tmp_path)
    assert list(found) == ["v1-ranking", "v2-by-snapshot", "scores-as-of", "falcon-history"]
    for name, (printed, shown) in found.items():
        assert printed == shown, f"README recipe {name} prints:\n{printed}"


def test_missing_leaderboard_publishes_nothing(tmp_path: Path, recordings_dir: Path) -> None:
    # The v1 leaderboard's dataset is gone upstream: the Hub answers as for no repo.
    recordings = without_repo(recordings_dir, tmp_path / "recordings", repo_id=V1)
    with (
        ReplayHub(recordings=recordings) as hub,
        pytest.raises(SyncFailed, match="leaderboard open_llm_v1"),
    ):
        run_sync(SyncConfig(data_dir=tmp_path, endpoint=hub.url))
    assert SnapshotStore(tmp_path).snapshots() == []
    assert [r["status"] for r in SnapshotStore(tmp_path).runs()] == ["failed"]


def test_every_snapshot_rebuilds_from_raw_alone(synced_twice: dict[str, Any]) -> None:
    store = SnapshotStore(synced_twice["data_dir"])
    # The second snapshot's scores extend the first's (112 exports parsed); the
    # rebuild makes them from all 207 raw exports at once: the same table.
    assert synced_twice["reports"][1].incremental
    for snapshot in store.snapshots():
        rebuilt = rebuild_from_raw(store, snapshot)
        assert compare_with_snapshot(snapshot, rebuilt) == dict.fromkeys(TABLE_NAMES, True)
    # ...and the CLI says so, offline.
    result = main(["verify", "--data-dir", str(synced_twice["data_dir"])])
    assert result == 0


def test_verify_rebuilds_a_snapshot_from_before_raw_objects_were_recorded(
    tmp_path: Path, clean_sync: CleanSync, capsys: pytest.CaptureFixture[str]
) -> None:
    """A data directory of llmsync 0.1: manifests without `raw_objects` or
    `info_sha256`, model info landed as `<sha>/api-info.json`."""
    data_dir = clean_sync.copy_to(tmp_path / "data")
    snapshot = SnapshotStore(data_dir).latest()
    assert snapshot is not None
    manifest = dict(snapshot.manifest)
    for entry in manifest.pop("raw_objects"):
        if entry["kind"] == "model_info":
            old = data_dir / "raw" / "models" / entry["repo_id"] / entry["revision"]
            old.mkdir(parents=True, exist_ok=True)
            (old / "api-info.json").write_bytes((data_dir / "raw" / entry["path"]).read_bytes())
    for model in manifest["sources"]["models"].values():
        del model["info_sha256"]
    shutil.rmtree(data_dir / "raw" / "api-info")
    (snapshot.path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")

    capsys.readouterr()
    assert main(["verify", "--data-dir", str(data_dir)]) == 0
    out = capsys.readouterr().out
    assert "published before raw objects were recorded (llmsync < 0.2)" in out
    assert "models: rebuilt from raw, identical" in out
    # Its sources hold each card's sha256: a changed card is still named.
    card = data_dir / "raw" / "models" / "databricks" / "dolly-v2-12b"
    (readme,) = card.glob("*/README.md")
    readme.write_bytes(readme.read_bytes().replace(b"license: mit", b"license: gpl", 1))
    assert main(["verify", "--data-dir", str(data_dir)]) == 1
    named = f"raw object {readme.relative_to(data_dir / 'raw')}: sha256 is"
    assert named in capsys.readouterr().out


def test_verify_notices_a_tampered_snapshot(
    tmp_path: Path, clean_sync: CleanSync, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = clean_sync.copy_to(tmp_path / "data")
    latest = SnapshotStore(data_dir).latest()
    assert latest is not None
    catalog = pq.read_table(latest.table_path("catalog"))
    scores = catalog.column("open_llm_v1_average").to_pylist()
    scores[0] = 99.99
    index = catalog.schema.get_field_index("open_llm_v1_average")
    tampered = catalog.set_column(index, catalog.schema.field(index), pa.array(scores))
    pq.write_table(tampered, latest.table_path("catalog"))
    assert main(["verify", "--data-dir", str(data_dir)]) == 1
    out = capsys.readouterr().out
    assert "catalog.parquet does not match its hash" in out
    assert "catalog: DIFFERS when rebuilt" in out
    assert "scores: rebuilt from raw, identical" in out
    assert "revisions: rebuilt from raw, identical" in out


def test_exports_parsed_as_they_land_build_the_same_scores(
    synced_twice: dict[str, Any],
) -> None:
    # The sync parses each export while the fetch waits on the Hub; the build
    # takes those parses. Built from v1's 17 landed exports both ways, the
    # intervals and revisions are the same, and every parse made ahead is used.
    data_dir = synced_twice["data_dir"]
    latest = SnapshotStore(data_dir).latest()
    assert latest is not None
    entry = latest.manifest["sources"]["leaderboards"]["open_llm_v1"]
    raw = RawStore(data_dir / "raw")
    revisions = []
    for item in entry["revisions"]:
        stored = raw.get(
            entry["repo_id"], LEADERBOARD_FILE, repo_type="dataset", revision=item["revision"]
        )
        assert stored is not None
        revisions.append(
            LeaderboardRevision(
                "open_llm_v1",
                entry["repo_id"],
                item["revision"],
                dt.date.fromisoformat(item["date"]),
                stored.path,
                stored,
            )
        )
    plain = build_scores(revisions, prior=None, suspect_row_loss=0.5)
    ahead = ParseAhead()
    try:
        for item in revisions:
            ahead.landed(item)
            ahead.landed(item)  # landed twice (a retried fetch): parsed once
        built = build_scores(revisions, prior=None, suspect_row_loss=0.5, ahead=ahead)
        assert all(ahead.take(item) is None for item in revisions)  # each one taken
    finally:
        ahead.close()
    assert plain.parsed == built.parsed == 17
    assert built.scores.equals(plain.scores) and built.revisions.equals(plain.revisions)
    assert built.scores.num_rows == plain.scores.num_rows > 0
    ahead.landed(revisions[0])  # closed: nothing more is parsed
    assert ahead.take(revisions[0]) is None
