"""Score intervals built from the recorded exports (real data): the as-of view
gives every export back, one interval spans every export that holds a value,
and applying exports one at a time builds the same table as all at once."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from llmsync.tables.intervals import Export, as_of, empty_scores, extend
from llmsync.tables.schemas import EXPORT_SCORES, SCORES
from llmsync.tables.validation import ValidationError, validate_tables
from tests.recorded import recorded, recorded_exports, recorded_scores, revision_of
from tests.tables import snapshot_tables

FALCON = "tiiuae/falcon-40b-instruct"


def canonical(table: pa.Table) -> pa.Table:
    """`table` in one order of all its columns: equal as multisets iff equal."""
    return table.sort_by([(name, "ascending") for name in table.column_names])


def of_leaderboard(scores: pa.Table, leaderboard: str) -> pa.Table:
    return scores.filter(pc.equal(scores.column("leaderboard"), leaderboard))


def test_as_of_each_export_date_gives_that_export_back() -> None:
    scores, _ = recorded_scores()
    assert scores.schema.equals(SCORES.schema)
    assert len(recorded_exports()) == 6
    for item in recorded_exports():
        state = as_of(of_leaderboard(scores, item.leaderboard), item.date)
        assert canonical(state).equals(canonical(item.parsed.rows)), item.label
    # Before its first export, a leaderboard has no rows.
    assert as_of(scores, dt.date(2023, 6, 9)).num_rows == 0


def test_sizes_of_the_recorded_history() -> None:
    scores, _ = recorded_scores()
    # 6 exports hold 111,995 rows x benchmarks; unchanged values are stored once.
    assert sum(item.parsed.rows.num_rows for item in recorded_exports()) == 111_995
    assert scores.num_rows == 103_753
    # The open intervals are the two newest exports: 7,169 x 7 and 4,576 x 7.
    assert scores.column("valid_to").null_count == 50_183 + 32_032


def test_one_interval_per_run_of_an_unchanged_value() -> None:
    scores, _ = recorded_scores()
    falcon = scores.filter(
        pc.and_(
            pc.equal(scores.column("model_name"), FALCON),
            pc.equal(scores.column("leaderboard"), "open_llm_v1"),
        )
    )
    runs = sorted(
        (r["benchmark"], r["value"], r["valid_from"], r["valid_to"]) for r in falcon.to_pylist()
    )
    june, september, final = dt.date(2023, 6, 10), dt.date(2023, 9, 4), dt.date(2024, 6, 19)
    # ARC held 61.6 in both 2023 scrapes: one interval. MMLU went 54.1 -> 55.4.
    # The final v1 table no longer lists the model: every interval ends there.
    assert runs == [
        ("arc", 61.6, june, final),
        ("average", 63.2, june, september),
        ("average", 63.47, september, final),
        ("hellaswag", 84.3, september, final),
        ("hellaswag", 84.4, june, september),
        ("mmlu", 54.1, june, september),
        ("mmlu", 55.4, september, final),
        ("truthfulqa", 52.5, june, final),
    ]
    mmlu = next(r for r in falcon.to_pylist() if r["value"] == 54.1)
    assert mmlu["valid_from_revision"] == revision_of("v1-2023-06-10")
    assert mmlu["valid_to_revision"] == revision_of("v1-2023-09-04")


def test_repeated_rows_of_one_export_are_all_kept() -> None:
    # The 2023-09-04 scrape lists WizardLM-30B-V1.0 three times, identically.
    rows = recorded("v1-2023-09-04").parsed.rows
    wizard = rows.filter(pc.equal(rows.column("model_name"), "WizardLM/WizardLM-30B-V1.0"))
    averages = wizard.filter(pc.equal(wizard.column("benchmark"), "average"))
    assert averages.column("occurrence").to_pylist() == [0, 1, 2]
    assert averages.column("value").to_pylist() == [31.27, 31.27, 31.27]
    scores, _ = recorded_scores()
    state = as_of(of_leaderboard(scores, "open_llm_v1"), dt.date(2023, 9, 4))
    again = state.filter(
        pc.and_(
            pc.equal(state.column("model_name"), "WizardLM/WizardLM-30B-V1.0"),
            pc.equal(state.column("benchmark"), "average"),
        )
    )
    assert sorted(again.column("occurrence").to_pylist()) == [0, 1, 2]


def test_one_export_at_a_time_equals_all_at_once() -> None:
    exports = [item.export() for item in recorded_exports()]
    chained = empty_scores()
    for export in exports:
        chained = extend(chained, [export])
    assert chained.equals(extend(empty_scores(), exports))
    assert chained.equals(recorded_scores()[0])


def test_reordered_rows_change_nothing() -> None:
    item = recorded("v1-2023-09-04")
    scores = extend(empty_scores(), [item.export()])
    rows = item.parsed.rows
    reversed_rows = rows.take(pa.array(range(rows.num_rows - 1, -1, -1)))
    again = Export(item.leaderboard, "b" * 40, dt.date(2023, 9, 5), reversed_rows)
    assert extend(scores, [again]).equals(scores)


def test_a_value_change_closes_one_interval_and_opens_one() -> None:
    item = recorded("v2-2025-03-21")
    rows = item.parsed.rows
    cell = pc.and_(
        pc.equal(rows.column("model_name"), FALCON), pc.equal(rows.column("benchmark"), "gpqa")
    )
    raised = rows.set_column(
        rows.schema.get_field_index("value"),
        EXPORT_SCORES.schema.field("value"),
        pc.if_else(cell, pa.scalar(99.0), rows.column("value")),
    )
    before = extend(empty_scores(), [item.export()])
    after = extend(before, [Export(item.leaderboard, "c" * 40, dt.date(2025, 3, 22), raised)])
    assert after.num_rows == before.num_rows + 1
    closed = after.filter(pc.is_valid(after.column("valid_to")))
    assert [(r["model_name"], r["benchmark"], r["value"]) for r in closed.to_pylist()] == [
        (FALCON, "gpqa", 0.0)
    ]


def test_validation_refuses_two_open_intervals_of_one_key() -> None:
    tables = snapshot_tables()
    scores = tables["scores"]
    tables["scores"] = pa.concat_tables(
        [
            scores,
            scores.slice(0, 1).set_column(
                scores.schema.get_field_index("valid_from_revision"),
                SCORES.schema.field("valid_from_revision"),
                pa.array(["another"], pa.string()),
            ),
        ]
    )
    with pytest.raises(ValidationError, match=r"scores \(open intervals\): 1 duplicate key"):
        validate_tables(tables)
