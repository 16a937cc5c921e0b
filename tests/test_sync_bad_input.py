"""Whole syncs fed bad upstream data: hostile or huge model cards, broken or
missing leaderboards, a run that would lose rows, hostile repo ids.

A bad card costs its model's fields (the row says why); a bad leaderboard or a
sudden loss of rows publishes nothing and the CLI says why in one line.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from llmsync.pipeline import SyncConfig, SyncFailed, run_sync
from llmsync.replay.faults import FaultPlan, FaultRule
from llmsync.replay.server import ReplayHub
from llmsync.store.snapshots import SnapshotStore
from tests.conftest import FAST_RETRIES, LEADERBOARD_FILE, V2, CleanSync, cli_sync
from tests.recording_edits import edited_recordings, parquet_bytes, v2_table
from tests.tables import latest_manifest, published_tables, snapshot_files, without_repo

DOLLY = "databricks/dolly-v2-12b"
CARD_MAX_BYTES = 1_000_000

# -- hostile and huge model cards ---------------------------------------------------

_LAUGHS = "\n".join(
    f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]"
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
)
BILLION_LAUGHS = (
    f'---\nlicense: mit\na: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n'
    f"{_LAUGHS}\n---\n# dolly\n"
).encode()


def _python_tag_card(marker: Path) -> bytes:
    return (
        f"---\nlicense: !!python/object/apply:os.system [\"touch '{marker}'\"]\n"
        "language: [en]\n---\n# dolly\n"
    ).encode()


NON_UTF8_CARD = b"---\nlicense: mit\x00\nlanguage:\n- en\n---\n# caf\xe9 \xff\xfe\x00 dolly\n"
HUGE_CARD = b"---\nlicense: mit\n---\n" + b"# dolly\n" + b"x" * (3 * 1024 * 1024)


def _sync_edited(
    tmp_path: Path,
    recordings_dir: Path,
    *,
    repo_id: str,
    path: str,
    data: bytes,
    **config: Any,
) -> tuple[Path, ReplayHub, Any]:
    recordings = edited_recordings(
        recordings_dir, tmp_path / "recordings", repo_id=repo_id, path=path, data=data
    )
    data_dir = tmp_path / "data"
    with ReplayHub(recordings=recordings) as hub:
        report = run_sync(
            SyncConfig(data_dir=data_dir, endpoint=hub.url, retry_policy=FAST_RETRIES, **config)
        )
    return data_dir, hub, report


@pytest.mark.parametrize(
    ("card", "status", "detail"),
    [
        (BILLION_LAUGHS, "card_parse_error", "expand"),
        (None, "card_parse_error", "python/object/apply"),
        (NON_UTF8_CARD, "ok", "UTF-8"),
        (HUGE_CARD, "card_too_large", "over the cap of 1,000,000"),
    ],
    ids=["billion-laughs", "python-tag", "non-utf8-nul", "3mb"],
)
def test_a_hostile_or_huge_card_costs_its_row_only(
    tmp_path: Path,
    recordings_dir: Path,
    clean_sync: CleanSync,
    card: bytes | None,
    status: str,
    detail: str,
) -> None:
    marker = tmp_path / "pwned"
    data_dir, hub, report = _sync_edited(
        tmp_path,
        recordings_dir,
        repo_id=DOLLY,
        path="README.md",
        data=card if card is not None else _python_tag_card(marker),
        card_max_bytes=CARD_MAX_BYTES,
    )
    assert not marker.exists()  # the tag was never constructed
    assert report.status == "published"
    tables = published_tables(data_dir)
    row = next(r for r in tables["models"].to_pylist() if r["repo_id"] == DOLLY)
    assert row["status"] == status
    assert detail in (row["status_detail"] or ""), row["status_detail"]
    # The card's fields are gone, the Hub's own word (its parsed cardData) is kept.
    assert row["license"] == "mit"
    card_requests = [r.method for r in hub.requests if f"/{DOLLY}/resolve/" in r.path]
    # One GET at the info's sha, the one way a card is fetched.
    assert card_requests == ["GET"]
    if status == "card_too_large":
        assert row["card_present"] is False
    # A card that is what it is (not a Hub failure) leaves the snapshot complete.
    assert latest_manifest(data_dir)["status"] == "complete"

    assert tables["scores"].equals(clean_sync.tables["scores"])
    assert tables["changes"].equals(clean_sync.tables["changes"])
    for name in ("models", "catalog"):
        assert without_repo(tables[name], DOLLY).equals(
            without_repo(clean_sync.tables[name], DOLLY)
        ), name
    dolly = next(r for r in tables["catalog"].to_pylist() if r["repo_id"] == DOLLY)
    assert dolly["open_llm_v1_average"] == 39.46
    assert dolly["hub_sha"] == "19308160448536e378e3db21a73a751579ee7fdd"


# -- leaderboards that cannot be read -------------------------------------------------


def _copy_of_clean(clean_sync: CleanSync, tmp_path: Path) -> Path:
    """A data directory holding the clean run's snapshot and run log. Its raw
    landing stays behind: a landed revision is immutable and never asked for
    again, and these runs must ask for every file."""
    data_dir = tmp_path / "data"
    shutil.copytree(clean_sync.data_dir, data_dir, ignore=shutil.ignore_patterns("raw"))
    return data_dir


def _assert_failed_cleanly(data_dir: Path, before: dict[str, bytes], reason: str) -> None:
    assert snapshot_files(data_dir) == before
    runs = SnapshotStore(data_dir).runs()
    assert [run["status"] for run in runs] == ["published", "failed"]
    assert reason in runs[-1]["reason"]


def _renamed_math(table: pa.Table) -> pa.Table:
    return table.rename_columns(["MATH" if c == "MATH Lvl 5" else c for c in table.column_names])


def _with_value(table: pa.Table, column: str, row: int, value: Any) -> pa.Table:
    values = table.column(column).to_pylist()
    values[row] = value
    kind = pa.string() if isinstance(value, str) else table.schema.field(column).type
    if isinstance(value, str):
        values = [str(v) if v is not None else None for v in values]
    index = table.column_names.index(column)
    return table.set_column(index, column, pa.array(values, kind))


BROKEN_V2 = {
    "renamed-column": (_renamed_math, "has no column 'MATH Lvl 5'"),
    "score-101": (lambda t: _with_value(t, "IFEval", 3, 101.0), "'IFEval' holds 101.0"),
    "non-numeric": (
        lambda t: _with_value(t, "BBH", 7, "n/a"),
        "'BBH' holds a value that is not a number: 'n/a'",
    ),
    "empty": (lambda t: t.slice(0, 0), "the leaderboard table has no rows"),
}


@pytest.mark.parametrize("case", sorted(BROKEN_V2))
def test_a_broken_leaderboard_export_publishes_nothing(
    tmp_path: Path, recordings_dir: Path, clean_sync: CleanSync, case: str
) -> None:
    edit, reason = BROKEN_V2[case]
    recordings = edited_recordings(
        recordings_dir,
        tmp_path / "recordings",
        repo_id=V2,
        path=LEADERBOARD_FILE,
        data=parquet_bytes(edit(v2_table(recordings_dir))),
    )
    data_dir = _copy_of_clean(clean_sync, tmp_path)
    before = snapshot_files(data_dir)
    with ReplayHub(recordings=recordings) as hub:
        result = cli_sync(hub.url, data_dir)
    assert result.returncode == 1, result.stdout
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("llmsync: sync failed: leaderboard open_llm_v2 at "), last
    assert reason in last and "malformed" in last
    _assert_failed_cleanly(data_dir, before, reason)


@pytest.mark.parametrize(
    ("rule", "reason"),
    [
        (
            FaultRule(
                path=f"^/api/datasets/{V2}/commits/", action="status", status=503, times=None
            ),
            f"leaderboard open_llm_v2 ({V2}) unavailable: commits of dataset {V2}: HTTP 503",
        ),
        (
            FaultRule(path=f"^/datasets/{V2}/resolve/", action="status", status=503, times=None),
            f"{LEADERBOARD_FILE} of dataset {V2}",
        ),
    ],
    ids=["commits-503", "file-503"],
)
def test_an_unavailable_leaderboard_publishes_nothing(
    tmp_path: Path,
    replay_hub_factory: Callable[..., ReplayHub],
    clean_sync: CleanSync,
    rule: FaultRule,
    reason: str,
) -> None:
    plan = FaultPlan([rule])
    hub = replay_hub_factory(faults=plan)
    data_dir = _copy_of_clean(clean_sync, tmp_path)
    before = snapshot_files(data_dir)
    with pytest.raises(SyncFailed) as failed:
        run_sync(SyncConfig(data_dir=data_dir, endpoint=hub.url, retry_policy=FAST_RETRIES))
    assert reason in str(failed.value)
    assert "gave up after 6 attempts" in str(failed.value)
    assert "\n" not in str(failed.value)
    assert plan.fired() == [FAST_RETRIES.max_attempts]
    _assert_failed_cleanly(data_dir, before, reason)


def test_cli_names_the_unavailable_leaderboard(
    tmp_path: Path, replay_hub_factory: Callable[..., ReplayHub], clean_sync: CleanSync
) -> None:
    # The CLI runs the production policy; a rate limit whose window resets now
    # (`Retry-After: 0`) is retried at once, so six refusals take no time.
    rule = FaultRule(
        path=f"^/api/datasets/{V2}/commits/", action="status", status=429, retry_after=0, times=None
    )
    plan = FaultPlan([rule])
    hub = replay_hub_factory(faults=plan)
    data_dir = _copy_of_clean(clean_sync, tmp_path)
    before = snapshot_files(data_dir)
    result = cli_sync(hub.url, data_dir)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last == (
        f"llmsync: sync failed: leaderboard open_llm_v2 ({V2}) unavailable: commits of dataset "
        f"{V2}: HTTP 429: Too Many Requests (gave up after 6 attempts)"
    )
    assert plan.fired() == [6]
    _assert_failed_cleanly(data_dir, before, "HTTP 429")


# -- the row-loss guard ----------------------------------------------------------------


def test_row_loss_is_refused_unless_allowed(
    tmp_path: Path, replay_hub: ReplayHub, clean_sync: CleanSync
) -> None:
    data_dir = _copy_of_clean(clean_sync, tmp_path)
    before = snapshot_files(data_dir)
    rows_before = clean_sync.report.row_counts["scores"]

    # Only the newest revision of each leaderboard: the history is built anew
    # from those three, and every interval that had ended goes.
    assert rows_before == 116_884 + 300  # OpenEvals: 93 aggregates, 207 benchmark scores
    refused = cli_sync(replay_hub.url, data_dir, "--max-revisions", "1")
    assert refused.returncode == 1
    last = refused.stderr.strip().splitlines()[-1]
    assert last.startswith(
        "llmsync: sync failed: scores would lose 30% of its rows (117184 -> 82515)"
    )
    assert "--allow-row-loss" in last
    _assert_failed_cleanly(data_dir, before, "scores would lose")

    allowed = cli_sync(replay_hub.url, data_dir, "--max-revisions", "1", "--allow-row-loss")
    assert allowed.returncode == 0, allowed.stderr
    assert "status: published" in allowed.stdout
    store = SnapshotStore(data_dir)
    assert len(store.snapshots()) == 2
    assert [run["status"] for run in store.runs()] == ["published", "failed", "published"]
    tables = published_tables(data_dir)
    assert tables["scores"].num_rows == 82_215 + 300
    # One revision per leaderboard now; the old snapshot is as it was.
    assert tables["revisions"].column("leaderboard").to_pylist() == [
        "open_llm_v1",
        "open_llm_v2",
        "openevals",
    ]
    starts = (
        tables["scores"]
        .group_by("leaderboard")
        .aggregate([("valid_from_revision", "count_distinct")])
    )
    assert starts.column("valid_from_revision_count_distinct").to_pylist() == [1, 1, 1]
    assert {k: v for k, v in snapshot_files(data_dir).items() if k in before} == before


# -- hostile ids ------------------------------------------------------------------------

HOSTILE_NAMES = ("../../etc/passwd", "/abs/path", "org/na me;rm -rf ~", "..", "a/b/c")
HOSTILE_EXTRA = ("../evil", "/abs/evil", "evil/..")


def _tree(root: Path, skip: Path) -> set[str]:
    return {
        str(p.relative_to(root)) for p in root.rglob("*") if skip not in p.parents and p != skip
    }


def test_hostile_ids_are_never_used(tmp_path: Path, recordings_dir: Path) -> None:
    table = v2_table(recordings_dir)
    names = table.column("fullname").to_pylist()
    for row, name in enumerate(HOSTILE_NAMES):
        names[row] = name
    table = table.set_column(
        table.column_names.index("fullname"), "fullname", pa.array(names, pa.string())
    )
    recordings = edited_recordings(
        recordings_dir,
        tmp_path / "recordings",
        repo_id=V2,
        path=LEADERBOARD_FILE,
        data=parquet_bytes(table),
    )
    data_dir = tmp_path / "work" / "data"
    outside_before = _tree(tmp_path, data_dir)
    with ReplayHub(recordings=recordings) as hub:
        report = run_sync(
            SyncConfig(
                data_dir=data_dir,
                endpoint=hub.url,
                extra_repos=HOSTILE_EXTRA,
                retry_policy=FAST_RETRIES,
            )
        )
        requests = hub.requests
    assert report.status == "published"

    tables = published_tables(data_dir)
    scores = tables["scores"]
    hostile = scores.filter(pc.is_in(scores.column("model_name"), pa.array(HOSTILE_NAMES)))
    assert set(hostile.column("model_name").to_pylist()) == set(HOSTILE_NAMES)
    assert hostile.column("repo_id").null_count == hostile.num_rows
    models = {r["repo_id"]: r for r in tables["models"].to_pylist()}
    for repo_id in HOSTILE_EXTRA:
        assert models[repo_id]["status"] == "invalid_repo_id"
        assert "not a valid Hub repo id" in models[repo_id]["status_detail"]

    # No request named them, and nothing was written beside the data directory.
    assert not [r.path for r in requests if "evil" in r.path or "passwd" in r.path]
    assert _tree(tmp_path, data_dir) == outside_before | {"work"}
    for path in data_dir.rglob("*"):
        assert path.resolve().is_relative_to(data_dir.resolve()), path
    assert not Path("/abs").exists()
