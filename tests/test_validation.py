"""The checks every snapshot passes before it is published."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest

from llmsync.tables.validation import RowLossError, RowLossGuard, ValidationError, validate_tables
from tests.tables import snapshot_tables


def _with_scores(table: pa.Table) -> dict[str, pa.Table]:
    tables = snapshot_tables()
    tables["scores"] = table
    return tables


def test_real_tables_pass_and_keep_their_values() -> None:
    checked = validate_tables(snapshot_tables())
    scores = checked["scores"].to_pandas()
    assert scores.loc[scores.benchmark == "average", "value"].tolist() == [39.46, 40.1]


def test_score_outside_range_is_refused() -> None:
    scores = snapshot_tables()["scores"]
    values = scores.column("value").to_pylist()
    values[0] = 139.46
    broken = scores.set_column(scores.schema.get_field_index("value"), "value", pa.array(values))
    with pytest.raises(ValidationError, match=r"column value .*outside 0-100"):
        validate_tables(_with_scores(broken))


def test_duplicate_key_is_refused() -> None:
    scores = snapshot_tables()["scores"]
    with pytest.raises(ValidationError, match="duplicate key"):
        validate_tables(_with_scores(pa.concat_tables([scores, scores.slice(0, 1)])))


def test_keys_match_whole_with_null_equal_to_null() -> None:
    from llmsync.tables.table_spec import TableSpec
    from llmsync.tables.validation import _check_unique_key

    # Eight columns of 300 values each: their codes combined would pass
    # int64's end, so they are renumbered on the way; nulls are one value.
    columns = {f"c{i}": [(row * (i + 1)) % 300 for row in range(300)] for i in range(8)}
    columns["c7"] = [None if row % 2 else value for row, value in enumerate(columns["c7"])]
    table = pa.table(columns)
    spec = TableSpec("wide", table.schema, tuple(columns))
    _check_unique_key(spec, table)  # every row differs in c0
    twice = pa.concat_tables([table, table.slice(5, 1), table.slice(8, 1)])
    example = {name: values[5] for name, values in columns.items()}
    with pytest.raises(ValidationError) as raised:
        _check_unique_key(spec, twice)
    assert str(raised.value) == (
        f"wide: 2 duplicate key(s) on ({', '.join(columns)}), e.g. {example}"
    )
    # A null and a value are two keys.
    one_column = TableSpec("one", pa.schema([("a", pa.string())]), ("a",))
    _check_unique_key(one_column, pa.table({"a": ["x", None, "y"]}))
    with pytest.raises(
        ValidationError, match=r"one: 1 duplicate key\(s\) on \(a\), e.g. \{'a': None\}"
    ):
        _check_unique_key(one_column, pa.table({"a": ["x", None, "y", None]}))


def test_missing_column_is_named() -> None:
    scores = snapshot_tables()["scores"].drop_columns(["model_sha"])
    with pytest.raises(ValidationError, match=r"missing column.*model_sha"):
        validate_tables(_with_scores(scores))


def test_null_in_a_required_column_is_refused() -> None:
    scores = snapshot_tables()["scores"]
    names = scores.column("model_name").to_pylist()
    names[3] = None
    index = scores.schema.get_field_index("model_name")
    broken = scores.set_column(index, scores.schema.field(index), pa.array(names))
    with pytest.raises(ValidationError, match="model_name has 1 null"):
        validate_tables(_with_scores(broken))


def test_unknown_benchmark_is_refused() -> None:
    scores = snapshot_tables()["scores"]
    names = ["mmlu_redux", *scores.column("benchmark").to_pylist()[1:]]
    index = scores.schema.get_field_index("benchmark")
    broken = scores.set_column(index, scores.schema.field(index), pa.array(names))
    with pytest.raises(ValidationError, match="mmlu_redux"):
        validate_tables(_with_scores(broken))


def test_an_interval_ending_on_or_before_its_start_is_refused() -> None:
    scores = snapshot_tables()["scores"]
    ends = [dt.date(2024, 6, 18)] + [None] * (scores.num_rows - 1)
    revisions = ["v1-earlier"] + [None] * (scores.num_rows - 1)
    broken = scores.set_column(
        scores.schema.get_field_index("valid_to"), "valid_to", pa.array(ends, pa.date32())
    )
    broken = broken.set_column(
        broken.schema.get_field_index("valid_to_revision"), "valid_to_revision", pa.array(revisions)
    )
    with pytest.raises(ValidationError, match=r"1 interval\(s\) end on or before their start"):
        validate_tables(_with_scores(broken))


def test_an_interval_end_without_its_revision_is_refused() -> None:
    scores = snapshot_tables()["scores"]
    ends = [dt.date(2025, 1, 1)] + [None] * (scores.num_rows - 1)
    broken = scores.set_column(
        scores.schema.get_field_index("valid_to"), "valid_to", pa.array(ends, pa.date32())
    )
    with pytest.raises(ValidationError, match="only one of valid_to and valid_to_revision"):
        validate_tables(_with_scores(broken))


def test_unknown_revision_status_is_refused() -> None:
    tables = snapshot_tables()
    revisions = tables["revisions"]
    tables["revisions"] = revisions.set_column(
        revisions.schema.get_field_index("status"), "status", pa.array(["partial"])
    )
    with pytest.raises(ValidationError, match="revisions: unknown status partial"):
        validate_tables(tables)


def test_row_loss_guard() -> None:
    guard = RowLossGuard(max_loss=0.10)
    guard.check(previous_rows={"scores": 7169}, current_rows={"scores": 6500})  # 9.3%
    with pytest.raises(RowLossError, match=r"scores would lose 50% of its rows \(7169 -> 3584\)"):
        guard.check(previous_rows={"scores": 7169}, current_rows={"scores": 3584})
    # `changes` is a diff: it shrinks to nothing on a quiet night.
    guard.check(previous_rows={"changes": 500}, current_rows={"changes": 0})
    RowLossGuard(max_loss=0.10, allow=True).check(
        previous_rows={"scores": 7169}, current_rows={"scores": 0}
    )


def test_a_table_published_before_byte_for_byte_is_not_checked_again(tmp_path: Path) -> None:
    from llmsync import __version__
    from llmsync.pipeline.stages import validate
    from llmsync.store.snapshots import TABLE_NAMES, SnapshotStore

    store, guard, tables = SnapshotStore(tmp_path), RowLossGuard(), snapshot_tables()
    previous = store.publish(tables, manifest={"code_version": __version__})
    checked = validate(dict(tables), previous=previous, guard=guard)
    assert checked.proven == set(TABLE_NAMES)
    # What was validated is what is published: the same bytes, each file linked.
    again = store.publish(checked.tables, manifest={}, encoded=checked.encoded)
    for name in TABLE_NAMES:
        assert again.manifest["tables"][name] == previous.manifest["tables"][name]
        assert (again.path / f"{name}.parquet").stat().st_ino == (
            previous.path / f"{name}.parquet"
        ).stat().st_ino
    # A table with other bytes is checked in full; the others are not.
    scores = tables["scores"]
    twice = {**tables, "scores": pa.concat_tables([scores, scores.slice(0, 1)])}
    with pytest.raises(ValidationError, match="scores: 1 duplicate key"):
        validate(twice, previous=previous, guard=guard)
    # Published by another llmsync (other rules, maybe): every table is checked.
    older = store.publish(tables, manifest={"code_version": "0.1.0"})
    assert validate(dict(tables), previous=older, guard=guard).proven == frozenset()
