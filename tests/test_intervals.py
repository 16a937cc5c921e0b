"""Score intervals built from the recorded exports (real data): the as-of view
gives every export back, one interval spans every export that holds a value,
and applying exports one at a time builds the same table as all at once."""

from __future__ import annotations

import datetime as dt
import itertools
import random

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from llmsync.tables import intervals
from llmsync.tables.intervals import Export, as_of, empty_scores, extend
from llmsync.tables.schemas import EXPORT_SCORES, SCORES
from llmsync.tables.validation import ValidationError, validate_tables
from tests.interval_reference import extend_sequentially
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
    # Every served export: 17 of v1, 190 of v2 and OpenEvals' one.
    assert len(recorded_exports()) == 17 + 190 + 1
    # As multisets of rows without `occurrence`: a duplicate's number is the
    # interval's (see intervals.py), not necessarily the one the export's parse gave.
    for item in recorded_exports():
        state = as_of(of_leaderboard(scores, item.leaderboard), item.date)
        rows = item.parsed.rows
        assert canonical(state.drop_columns(["occurrence"])).equals(
            canonical(rows.drop_columns(["occurrence"]))
        ), item.label
    # Before its first export, a leaderboard has no rows.
    assert as_of(scores, dt.date(2023, 5, 22)).num_rows == 0


def test_sizes_of_the_recorded_history() -> None:
    scores, _ = recorded_scores()
    # The Open LLM Leaderboard's 207 exports hold 454,224 rows and 3,165,429 (row,
    # benchmark) values (3,030,447 of them in v2's 190); unchanged values are stored
    # once: 116,884 intervals. OpenEvals' one export adds 93 rows and 300 values.
    exports = recorded_exports()
    assert sum(item.parsed.upstream_rows for item in exports) == 454_224 + 93
    assert sum(item.parsed.rows.num_rows for item in exports) == 3_165_429 + 300
    assert scores.num_rows == 116_884 + 300
    # The open intervals are the newest exports: 7,169 x 7, 4,576 x 7 and OpenEvals' 300.
    assert scores.column("valid_to").null_count == 50_183 + 32_032 + 300


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
    # Read from the 2023 scrapes with the csv module: listed from 2023-05-31 to
    # 2023-09-15, absent from the 2024 tables (the first is of 2024-06-19).
    first, july, august = dt.date(2023, 5, 31), dt.date(2023, 7, 14), dt.date(2023, 8, 9)
    gone = dt.date(2024, 6, 19)
    # ARC held 61.6 in every scrape: one interval. MMLU went 54.1 -> 55.4 on 2023-07-14.
    # The 2024 v1 tables no longer list the model: every interval ends there.
    assert runs == [
        ("arc", 61.6, first, gone),
        ("average", 63.2, first, july),
        ("average", 63.4, july, august),
        ("average", 63.47, august, gone),
        ("hellaswag", 84.3, july, gone),
        ("hellaswag", 84.4, first, july),
        ("mmlu", 54.1, first, july),
        ("mmlu", 55.4, july, gone),
        ("truthfulqa", 52.5, first, gone),
    ]
    mmlu = next(r for r in falcon.to_pylist() if r["value"] == 54.1)
    assert mmlu["valid_from_revision"] == revision_of("v1-2023-05-31")
    assert mmlu["valid_to_revision"] == revision_of("v1-2023-07-14")


def _same_day_reopenings(scores: pa.Table) -> int:
    """Intervals that end on the day another of the same (leaderboard, model_name,
    precision, model_sha, benchmark) and the same value starts."""
    import duckdb

    [(found,)] = duckdb.sql(
        """
        SELECT count(*) FROM scores a JOIN scores b
          ON a.leaderboard = b.leaderboard AND a.model_name = b.model_name
         AND a.precision IS NOT DISTINCT FROM b.precision
         AND a.model_sha IS NOT DISTINCT FROM b.model_sha
         AND a.benchmark = b.benchmark AND a.value = b.value
         AND a.raw_value IS NOT DISTINCT FROM b.raw_value AND a.valid_to = b.valid_from
        """
    ).fetchall()
    return int(found)


def test_no_value_is_closed_and_reopened_on_one_day() -> None:
    scores, _ = recorded_scores()
    # Over the whole history (ranking duplicates jointly across benchmarks made 112,
    # all in v1): 0 same-day reopenings, 0 empty intervals.
    assert _same_day_reopenings(scores) == 0
    empty = pc.less_equal(scores.column("valid_to"), scores.column("valid_from"))
    assert pc.sum(pc.fill_null(empty, False)).as_py() == 0
    # Aspik101/llama-30b-instruct-2048-PL-lora: listed once from 2023-08-17, twice on
    # 2023-08-25 with a new, higher-ranked row. The first row keeps its intervals
    # (occurrence 0); the new one takes occurrence 1.
    lora = scores.filter(
        pc.and_(
            pc.equal(scores.column("model_name"), "Aspik101/llama-30b-instruct-2048-PL-lora"),
            pc.equal(scores.column("benchmark"), "average"),
        )
    )
    assert sorted(
        (r["occurrence"], r["value"], str(r["valid_from"]), str(r["valid_to"]))
        for r in lora.to_pylist()
    ) == [
        (0, 59.82, "2024-06-19", "None"),
        (0, 65.74, "2023-08-17", "2024-06-19"),
        (1, 65.83, "2023-08-25", "2024-06-19"),
    ]


def test_a_second_export_of_one_day_leaves_no_empty_interval() -> None:
    # 2024-12-11 rewrote almost every v2 value (unrounded): served on 2024-12-10's
    # date, the values only 2024-12-10 held would hold for no day.
    first, second = recorded("v2-2024-12-10"), recorded("v2-2024-12-11")
    same_day = Export(second.leaderboard, second.revision, first.date, second.parsed.rows)
    scores = extend(empty_scores(), [first.export(), same_day])
    assert pc.sum(pc.is_valid(scores.column("valid_to"))).as_py() == 0
    assert scores.num_rows == second.parsed.rows.num_rows
    assert canonical(as_of(scores, first.date)).equals(canonical(second.parsed.rows))


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


def _synthetic_export(rng: random.Random, leaderboard: str, number: int, day: dt.date) -> Export:
    """An export of a few groups, each holding 0-3 rows of values drawn from a
    small set (so values repeat, continue, and come back), occurrences ranked
    as the parser ranks them, rows shuffled. Generated, not recorded."""
    rows = []
    for name, precision in itertools.product(("a/x", "b/y", "c"), (None, "bfloat16")):
        values = sorted(
            (rng.choice([1.0, 2.0, 0.0, -0.0]) for _ in range(rng.choice([0, 1, 1, 2, 3]))),
            reverse=True,
        )
        for occurrence, value in enumerate(values):
            raw = rng.choice([None, 0.5])
            rows.append(
                {
                    "leaderboard": leaderboard,
                    "model_name": name,
                    "repo_id": None,
                    "precision": precision,
                    "model_sha": None,
                    "occurrence": occurrence,
                    "benchmark": "average",
                    "value": value,
                    "raw_value": raw,
                }
            )
    rng.shuffle(rows)
    table = pa.Table.from_pylist(rows, schema=EXPORT_SCORES.schema)
    return Export(leaderboard, f"{leaderboard}-{number}", day, table)


@pytest.mark.parametrize("batch_rows", [1, 25, intervals.BATCH_ROWS])
def test_the_columnar_pass_equals_applying_exports_in_turn(
    batch_rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Duplicates that arrive, change and leave, two exports of one day, and two
    # leaderboards interleaved: the columnar pass, in batches of any size and
    # cut anywhere into two syncs, gives the table the sequential rules give.
    monkeypatch.setattr(intervals, "BATCH_ROWS", batch_rows)
    for seed in range(60):
        rng = random.Random(seed)
        day = {"p": dt.date(2024, 1, 1), "q": dt.date(2024, 1, 1)}
        exports = []
        for number in range(rng.randint(1, 12)):
            leaderboard = rng.choice("pq")
            day[leaderboard] += dt.timedelta(days=rng.choice([0, 1, 1, 2]))
            exports.append(_synthetic_export(rng, leaderboard, number, day[leaderboard]))
        expected = extend_sequentially(empty_scores(), exports)
        assert extend(empty_scores(), exports).equals(expected), seed
        cut = rng.randint(0, len(exports))
        assert extend(extend(empty_scores(), exports[:cut]), exports[cut:]).equals(expected), seed
