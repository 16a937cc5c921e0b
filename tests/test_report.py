"""The HTML report of a real snapshot: the full history the replay hub serves,
synced once (`clean_sync`). Values asserted are the real exports' values."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from llmsync.report.data import ReportError
from llmsync.report.page import write_report
from llmsync.store.snapshots import SnapshotStore
from tests.conftest import CleanSync
from tests.tables import ARTICLE_PRIMARIES

VIEWS = ("history", "population", "distributions", "changes", "evals", "health")


def _sections(page: str) -> dict[str, str]:
    found = re.findall(r'<section id="(\w+)" data-view="\w+">(.*?)</section>', page, re.S)
    return dict(found)


@pytest.fixture(scope="module")
def page(clean_sync: CleanSync, tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("report") / "report.html"
    assert write_report(clean_sync.data_dir, out=out) == out
    return out.read_text(encoding="utf-8")


def test_every_view_is_drawn_or_skipped_with_its_reason(page: str) -> None:
    sections = _sections(page)
    assert tuple(sections) == VIEWS
    for view in VIEWS:
        assert 'class="mark"' in sections[view], view
    assert "Views skipped for this snapshot:" not in page


def test_the_article_models_values_over_time(page: str) -> None:
    history = _sections(page)["history"]
    for name, repo in ARTICLE_PRIMARIES.items():
        assert f"<title>{name} ({repo}" in history
    # Dolly v2 12B on the v1 leaderboard: 39.46 from the export of 2024-06-19 to
    # the last one (2024-07-07); 44.9 in the first export (2023-05-23).
    assert (
        "Dolly (databricks/dolly-v2-12b, float16) · v1 average: 39.46 · from the export of "
        "2024-06-19, still held at the newest export (2024-07-07)"
    ) in history
    assert "v1 average: 44.90 · from the export of 2023-05-23, until 2023-07-24" in history
    # v2's change of format is marked in every panel that draws v2 (7 of the 11
    # families; the four v1-only panels' axes end with v1, on 2024-07-07).
    assert history.count("2024-12-11: v2 exports carry unrounded") == 7


def test_the_population_and_the_distributions(page: str) -> None:
    sections = _sections(page)
    # 17 v1 exports (2023-05-23 .. 2024-07-07) and 190 v2 exports, one dot each.
    assert sections["population"].count("<title>v1 export of ") == 17
    assert sections["population"].count("<title>v2 export of ") == 190
    assert "<title>v1 export of 2024-07-07: 7,169 rows</title>" in sections["population"]
    assert "No export was set aside in this snapshot" in sections["population"]
    distributions = sections["distributions"]
    assert "v1: averages in the newest export (7,169 rows)" in distributions
    assert "v2: averages in the newest export (4,576 rows)" in distributions
    assert "Dolly (databricks/dolly-v2-12b): v1 average 39.46" in distributions


def test_changes_and_health_of_a_first_snapshot(page: str) -> None:
    sections = _sections(page)
    assert "first snapshot: nothing to compare with" in sections["changes"]
    # Every curated repo is served; seven cards were never recorded (a gap, not a 404).
    health = sections["health"]
    assert health.count("<td>not_found</td>") == 0
    # The gaps are listed apart from the models' own states (none here).
    assert health.count("<td>not_recorded</td>") == 0
    gaps = health.split("Gaps in the replay hub's recordings (not facts about the Hub)")[1]
    assert gaps.count("<tr><td>") == 7
    assert "<td>huggyllama/llama-7b</td>" in gaps
    assert "Every current eval result could be read." in health
    assert "This snapshot is <b>complete</b>." in health


def test_the_page_is_self_contained_and_small(page: str) -> None:
    assert len(page.encode()) < 5_000_000
    assert "<script" not in page
    assert not re.search(r'(src|href)="(https?:)?//', page)


def _copy_snapshot(clean_sync: CleanSync, data_dir: Path) -> Path:
    snapshot = SnapshotStore(clean_sync.data_dir).latest()
    assert snapshot is not None
    target = data_dir / "processed" / snapshot.path.name
    shutil.copytree(snapshot.path, target)
    return target


def test_a_snapshot_lacking_tables_renders_what_it_can(
    clean_sync: CleanSync, tmp_path: Path
) -> None:
    folder = _copy_snapshot(clean_sync, tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text())
    for name in ("revisions", "changes"):
        del manifest["tables"][name]
        (folder / f"{name}.parquet").unlink()
    (folder / "manifest.json").write_text(json.dumps(manifest))
    sections = _sections(write_report(tmp_path).read_text(encoding="utf-8"))
    assert "Skipped: the snapshot has no changes table." in sections["changes"]
    assert "Skipped: the snapshot has no revisions table" in sections["population"]
    assert 'class="mark"' in sections["history"]
    assert "Dolly (databricks/dolly-v2-12b, float16) · v1 average: 39.46" in sections["history"]


def test_scores_of_the_old_shape_skip_the_views_that_need_intervals(
    clean_sync: CleanSync, tmp_path: Path
) -> None:
    folder = _copy_snapshot(clean_sync, tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text())
    del manifest["schema_versions"]  # as llmsync wrote before it recorded versions
    (folder / "manifest.json").write_text(json.dumps(manifest))
    sections = _sections(write_report(tmp_path).read_text(encoding="utf-8"))
    assert "per-export shape of schema version 1" in sections["history"]
    assert "Skipped: the snapshot has no scores as validity intervals" in sections["distributions"]
    assert 'class="mark"' in sections["population"]


def test_a_partial_or_missing_snapshot_is_a_clear_error(
    clean_sync: CleanSync, tmp_path: Path
) -> None:
    folder = _copy_snapshot(clean_sync, tmp_path)
    out = tmp_path / "out" / "report.html"
    (folder / "scores.parquet").unlink()
    with pytest.raises(ReportError, match=r"partial or damaged: .*scores\.parquet is missing"):
        write_report(tmp_path, out=out)
    with pytest.raises(ReportError, match="no snapshot 20990101T000000Z"):
        write_report(tmp_path, snapshot_id="20990101T000000Z", out=out)
    (folder / "manifest.json").unlink()
    with pytest.raises(ReportError, match=r"is partial: .*manifest\.json is missing"):
        write_report(tmp_path, snapshot_id=folder.name.removeprefix("snapshot="), out=out)
    # Nothing half-written is left behind.
    assert not out.parent.exists() or list(out.parent.iterdir()) == []


def test_eval_results_are_drawn_from_the_real_files(page: str) -> None:
    evals = _sections(page)["evals"]
    # gemma-4-12B-it's AIME 2026 result (its real .eval_results file, "No tools")
    # beside Ternary-Bonsai's, each benchmark a chart of its own with badges.
    assert "MathArena/aime_2026: top 10 and the article" in evals
    assert "google/gemma-4-12B-it · MathArena/aime_2026: 77.5 (community, PR #6, open)" in evals
    assert "prism-ml/Ternary-Bonsai-27B-gguf · mmmu_pro_vision: 68.96 (community)" in evals


def test_a_snapshot_without_eval_results_skips_their_view(
    clean_sync: CleanSync, tmp_path: Path
) -> None:
    # As a snapshot written before llmsync read the Hub's eval results.
    folder = _copy_snapshot(clean_sync, tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text())
    del manifest["tables"]["eval_results"]
    (folder / "eval_results.parquet").unlink()
    (folder / "manifest.json").write_text(json.dumps(manifest))
    page = write_report(tmp_path).read_text(encoding="utf-8")
    assert "Skipped: the snapshot has no eval_results table." in _sections(page)["evals"]
    assert "Views skipped for this snapshot:" in page


def test_the_report_command(clean_sync: CleanSync, tmp_path: Path, capsys: Any) -> None:
    from llmsync.cli import main

    out = tmp_path / "r.html"
    assert main(["report", "--data-dir", str(clean_sync.data_dir), "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    assert (
        main(["report", "--data-dir", str(clean_sync.data_dir), "--snapshot", "20990101T000000Z"])
        == 2
    )
    assert "no snapshot 20990101T000000Z" in capsys.readouterr().err
    # A folder with no data at all: tests/test_cli_messages.py.


def test_a_sync_keeps_a_current_page_and_draws_a_stale_one_again(
    clean_sync: CleanSync, tmp_path: Path
) -> None:
    snapshot_id = _copy_snapshot(clean_sync, tmp_path).name.removeprefix("snapshot=")
    store = SnapshotStore(tmp_path)
    drawn = write_report(tmp_path, snapshot_id=snapshot_id, keep_current=True)
    first = drawn.stat()
    # An unchanged night changes nothing the page shows: the page is kept.
    store.finish_run(store.start_run(), status="unchanged", snapshot=snapshot_id)
    assert write_report(tmp_path, snapshot_id=snapshot_id, keep_current=True) == drawn
    kept = drawn.stat()
    assert (kept.st_ino, kept.st_mtime_ns) == (first.st_ino, first.st_mtime_ns)
    # A failed run since is named in the health view: the page is drawn again,
    # as a page drawn from scratch.
    failed = store.finish_run(
        store.start_run(), status="failed", snapshot=None, reason="the Hub kept failing"
    )
    page = write_report(tmp_path, snapshot_id=snapshot_id, keep_current=True).read_text()
    assert drawn.stat().st_ino != first.st_ino
    assert f"<td>{failed.run_id}</td><td>failed</td>" in _sections(page)["health"]
    fresh = write_report(tmp_path, snapshot_id=snapshot_id, out=tmp_path / "fresh.html")
    assert fresh.read_text() == page
    # A page without a key (an older llmsync's) is drawn again too.
    drawn.write_text(page.replace("llmsync-report-key", "other"), encoding="utf-8")
    again = write_report(tmp_path, snapshot_id=snapshot_id, keep_current=True)
    assert again.read_text() == page
