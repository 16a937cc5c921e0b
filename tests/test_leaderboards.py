"""Parsing the recorded leaderboard exports into one export's score rows.

Every value checked here is read from the recordings shipped in
`src/llmsync/replay/recordings/` (real exports), not typed in from elsewhere.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from llmsync.replay.recordings import RecordingStore
from llmsync.tables.leaderboards import (
    LEADERBOARD_FILE,
    LEADERBOARD_REPOS,
    LeaderboardFormatError,
    ParsedExport,
    parse_leaderboard,
)
from llmsync.tables.schemas import BENCHMARKS, EXPORT_SCORES
from tests.tables import FIXTURE_EXPORTS, fixture_rows

RECORDINGS = Path(__file__).resolve().parents[1] / "src" / "llmsync" / "replay" / "recordings"


@cache
def _store() -> RecordingStore:
    return RecordingStore.load(RECORDINGS)


@cache
def _commit(leaderboard: str, date: str) -> tuple[str, bytes]:
    """(commit sha, table bytes) of a leaderboard's recorded commit of that day."""
    repo = _store().repos[f"dataset/{LEADERBOARD_REPOS[leaderboard]}"]
    commit = next(c for c in repo.commits if c.date.date().isoformat() == date)
    return commit.sha, _store().file_bytes(commit.files[LEADERBOARD_FILE])


def _parsed(leaderboard: str, date: str, data: bytes | pa.Table | None = None) -> ParsedExport:
    _, raw = _commit(leaderboard, date)
    parsed = parse_leaderboard(raw if data is None else data, leaderboard=leaderboard)
    assert parsed.rows.schema.equals(EXPORT_SCORES.schema)
    return parsed


def _parse(leaderboard: str, date: str, data: bytes | pa.Table | None = None) -> pd.DataFrame:
    return _parsed(leaderboard, date, data).rows.to_pandas()


def _score(frame: pd.DataFrame, model: str, benchmark: str) -> float:
    values = frame[(frame.model_name == model) & (frame.benchmark == benchmark)].value
    assert len(values) == 1, (model, benchmark, list(values))
    return float(values.iloc[0])


def _table(leaderboard: str, date: str) -> pa.Table:
    return pq.read_table(pa.BufferReader(_commit(leaderboard, date)[1]))


# -- real values ---------------------------------------------------------------


def test_row_counts_of_v1_exports() -> None:
    assert _parsed("open_llm_v1", "2024-07-07").upstream_rows == 7169
    assert _parsed("open_llm_v1", "2024-06-19").upstream_rows == 7065
    assert _parsed("open_llm_v1", "2023-06-10").upstream_rows == 132
    # Every row has the average, and each (name, precision, sha, occurrence) is one row.
    final = _parse("open_llm_v1", "2024-07-07")
    assert len(final[final.benchmark == "average"]) == 7169


def test_v1_final_scores_of_article_models() -> None:
    scores = _parse("open_llm_v1", "2024-07-07")
    assert _score(scores, "databricks/dolly-v2-12b", "average") == 39.46
    assert _score(scores, "databricks/dolly-v2-12b", "arc") == 42.41
    assert _score(scores, "EleutherAI/gpt-j-6b", "average") == 40.10
    dolly = scores[scores.model_name == "databricks/dolly-v2-12b"].iloc[0]
    assert dolly.model_sha == "19308160448536e378e3db21a73a751579ee7fdd"
    assert dolly.precision == "float16"
    assert dolly.occurrence == 0
    assert set(scores.benchmark) == set(BENCHMARKS["open_llm_v1"])


@pytest.mark.parametrize("revision", sorted(FIXTURE_EXPORTS))
def test_rows_of_the_article_models_match_the_upstream_csv(revision: str) -> None:
    """Every score, raw score, precision and sha the parser reads for the
    article's repos (and a few other names) from a recorded export equals the
    value transcribed from the upstream CSV with the csv module
    (tests/fixtures/catalog), as a multiset: a swapped or misnamed column
    cannot pass."""
    expected = fixture_rows(revision)
    leaderboard = "open_llm_v1" if revision.startswith("v1-") else "open_llm_v2"
    date = revision.removeprefix("v1-").removeprefix("v2-")
    parsed = _parsed(leaderboard, date).rows
    names = pc.unique(expected.column("model_name"))
    parsed = parsed.filter(pc.is_in(parsed.column("model_name"), value_set=names))
    order = [(name, "ascending") for name in EXPORT_SCORES.columns]
    assert parsed.sort_by(order).to_pylist() == expected.sort_by(order).to_pylist()


def test_falcon_math_moves_between_v2_exports() -> None:
    falcon = "tiiuae/falcon-40b-instruct"
    assert _score(_parse("open_llm_v2", "2024-11-09"), falcon, "math_lvl5") == 1.66
    # Exactly as the 2025 export holds it (the leaderboard displayed it as 1.96).
    assert _score(_parse("open_llm_v2", "2025-03-21"), falcon, "math_lvl5") == 1.96374622356495


def test_v2_final_has_every_benchmark_for_every_row() -> None:
    parsed = _parsed("open_llm_v2", "2025-03-21")
    scores = parsed.rows.to_pandas()
    assert parsed.upstream_rows == 4576
    assert len(scores) == 4576 * 7
    # v2 lists each (name, precision, sha) once: no row needs an occurrence above 0.
    assert set(scores.occurrence) == {0}
    per_row = scores.groupby(["model_name", "precision", "model_sha"]).benchmark.nunique()
    assert set(per_row) == {7}
    assert scores.value.between(0, 100).all()
    # Raw 0-1 values exist for the six benchmarks, never for the average.
    assert scores[scores.benchmark != "average"].raw_value.notna().all()
    assert scores[scores.benchmark == "average"].raw_value.isna().all()
    assert scores.raw_value.dropna().between(0, 1).all()


def test_v2_scores_are_not_rounded() -> None:
    scores = _parse("open_llm_v2", "2025-03-21")
    table = _table("open_llm_v2", "2025-03-21")
    name = table.column("fullname")[0].as_py()
    first = scores[(scores.model_name == name) & (scores.benchmark == "ifeval")].iloc[0]
    assert first.raw_value == table.column("IFEval Raw")[0].as_py()
    assert first.value == table.column("IFEval")[0].as_py()
    average = scores[(scores.model_name == name) & (scores.benchmark == "average")].iloc[0]
    assert average.value == table.column("Average ⬆️")[0].as_py()


def test_bare_model_names_get_no_repo_id() -> None:
    for date in ("2023-06-10", "2023-09-04"):
        scores = _parse("open_llm_v1", date)
        llama = scores[scores.model_name == "llama-7b"]
        # One row with the average and four benchmarks, under no repo.
        assert len(llama) == 5
        assert llama.repo_id.isna().all()
        falcon = scores[scores.model_name == "tiiuae/falcon-40b-instruct"]
        assert set(falcon.repo_id) == {"tiiuae/falcon-40b-instruct"}
        # The 2023 scrapes have four benchmarks and the average, nothing else.
        assert set(scores.benchmark) == {"average", "arc", "hellaswag", "mmlu", "truthfulqa"}


def test_an_empty_cell_gives_no_row() -> None:
    # The 2023-06-10 CSV's last row (line 133, vicgalle/gpt2-alpaca-gpt4) has an
    # empty `TruthfulQA (0-shot)` cell, its only empty score cell.
    assert _table("open_llm_v1", "2023-06-10").column("TruthfulQA (0-shot)").null_count == 1
    scores = _parse("open_llm_v1", "2023-06-10")
    last = scores[scores.model_name == "vicgalle/gpt2-alpaca-gpt4"]
    assert list(last.benchmark) == ["average", "arc", "hellaswag", "mmlu"]
    assert len(scores) == 132 * 5 - 1


def test_variants_of_one_model_are_all_kept() -> None:
    scores = _parse("open_llm_v1", "2024-07-07")
    vicuna = scores[(scores.model_name == "lmsys/vicuna-7b-v1.5") & (scores.benchmark == "average")]
    assert sorted(zip(vicuna.precision, vicuna.value, strict=True)) == [
        ("bfloat16", 51.99),
        ("float16", 52.06),
    ]
    # Told apart by precision: each is the first (and only) of its kind.
    assert set(vicuna.occurrence) == {0}


def test_repeats_of_one_model_are_ranked_by_their_values() -> None:
    # The 2023-09-04 scrape lost the precision column and lists vicuna-7b-v1.5 twice.
    scores = _parse("open_llm_v1", "2023-09-04")
    vicuna = scores[scores.model_name == "lmsys/vicuna-7b-v1.5"]
    by_occurrence = {
        occurrence: dict(zip(rows.benchmark, rows.value, strict=True))
        for occurrence, rows in vicuna.groupby("occurrence")
    }
    # Higher average first; a row's benchmarks keep its occurrence.
    assert by_occurrence == {
        0: {"average": 58.0, "arc": 53.2, "hellaswag": 77.4, "mmlu": 51.0, "truthfulqa": 50.3},
        1: {"average": 57.95, "arc": 53.2, "hellaswag": 77.4, "mmlu": 50.8, "truthfulqa": 50.3},
    }


def test_occurrences_do_not_depend_on_row_order() -> None:
    table = _table("open_llm_v1", "2023-09-04")
    reversed_table = table.take(pa.array(range(table.num_rows - 1, -1, -1)))
    key = ["model_name", "occurrence", "benchmark"]
    forward = _parse("open_llm_v1", "2023-09-04").sort_values(key).reset_index(drop=True)
    backward = _parse("open_llm_v1", "2023-09-04", reversed_table)
    pd.testing.assert_frame_equal(forward, backward.sort_values(key).reset_index(drop=True))


# (leaderboard, date) -> (rows, non-empty score cells) of the upstream CSV the
# recording was built from (tests/fixtures/catalog/README.md names each file; the
# 2024 v2 ones are the history bundle's), counted with the csv module: 2023-06-10
# has one empty TruthfulQA cell, the others none.
UPSTREAM_COUNTS = {
    ("open_llm_v1", "2023-06-10"): (132, 659),
    ("open_llm_v1", "2023-09-04"): (1291, 6455),
    ("open_llm_v1", "2024-07-07"): (7169, 50183),
    ("open_llm_v2", "2024-10-09"): (1436, 10052),
    ("open_llm_v2", "2024-11-09"): (1793, 12551),
    ("open_llm_v2", "2025-03-21"): (4576, 32032),
}


@pytest.mark.parametrize(("leaderboard", "date"), sorted(UPSTREAM_COUNTS))
def test_every_export_shape_parses(leaderboard: str, date: str) -> None:
    parsed = _parsed(leaderboard, date)
    scores = parsed.rows.to_pandas()
    assert (parsed.upstream_rows, len(scores)) == UPSTREAM_COUNTS[leaderboard, date]
    assert scores.value.between(0, 100).all()
    assert set(scores.leaderboard) == {leaderboard}


def test_the_2024_10_09_export_takes_names_from_fullname() -> None:
    # Its `Model` column is an HTML anchor; `fullname` (line 2 of the CSV) is the name.
    v2 = _parse("open_llm_v2", "2024-10-09")
    # Rows keep the upstream order: the first is line 2's.
    assert v2.model_name.iloc[0] == "dfurman/CalmeRys-78B-Orpo-v0.1"
    assert not v2.model_name.str.contains("<a ").any()


def test_table_and_bytes_give_the_same_rows() -> None:
    from_bytes = _parse("open_llm_v2", "2024-11-09")
    from_table = _parse("open_llm_v2", "2024-11-09", _table("open_llm_v2", "2024-11-09"))
    pd.testing.assert_frame_equal(from_bytes, from_table)


# -- format errors ---------------------------------------------------------------


def _replace(table: pa.Table, name: str, values: pa.Array) -> pa.Table:
    return table.set_column(table.column_names.index(name), name, values)


def _error(leaderboard: str, date: str, table: pa.Table) -> LeaderboardFormatError:
    with pytest.raises(LeaderboardFormatError) as info:
        _parse(leaderboard, date, table)
    return info.value


def test_renamed_score_column_is_named() -> None:
    table = _table("open_llm_v1", "2024-07-07")
    renamed = table.rename_columns(["ARC score" if c == "ARC" else c for c in table.column_names])
    error = _error("open_llm_v1", "2024-07-07", renamed)
    assert error.column == "ARC"
    assert "'ARC'" in str(error)


def test_renamed_name_column_is_named() -> None:
    table = _table("open_llm_v2", "2024-11-09")
    names = ["model_id" if c == "fullname" else c for c in table.column_names]
    error = _error("open_llm_v2", "2024-11-09", table.rename_columns(names))
    assert error.column == "fullname"


def test_missing_column_in_2023_shape_is_named() -> None:
    table = _table("open_llm_v1", "2023-09-04")
    error = _error("open_llm_v1", "2023-09-04", table.drop_columns(["MMLU(5-shot)"]))
    assert error.column == "MMLU(5-shot)"


def test_non_numeric_score_is_named() -> None:
    table = _table("open_llm_v1", "2024-07-07")
    text = pc.cast(table.column("GSM8K"), pa.string()).combine_chunks().to_pylist()
    text[3] = "n/a"
    error = _error("open_llm_v1", "2024-07-07", _replace(table, "GSM8K", pa.array(text)))
    assert error.column == "GSM8K"
    assert "n/a" in str(error)


def test_numeric_text_scores_are_accepted() -> None:
    table = _table("open_llm_v1", "2024-07-07")
    text = pc.cast(table.column("GSM8K"), pa.string())
    scores = _parse("open_llm_v1", "2024-07-07", _replace(table, "GSM8K", text))
    assert _score(scores, "databricks/dolly-v2-12b", "arc") == 42.41


def test_score_above_100_is_named() -> None:
    table = _table("open_llm_v2", "2024-11-09")
    values = table.column("BBH").to_pylist()
    values[10] = 101.0
    error = _error("open_llm_v2", "2024-11-09", _replace(table, "BBH", pa.array(values)))
    assert error.column == "BBH"
    assert "101.0" in str(error)


def test_negative_score_is_named() -> None:
    table = _table("open_llm_v1", "2023-06-10")
    values = table.column("Average").to_pylist()
    values[0] = -1.0
    error = _error("open_llm_v1", "2023-06-10", _replace(table, "Average", pa.array(values)))
    assert error.column == "Average"


def test_empty_table_is_rejected() -> None:
    table = _table("open_llm_v2", "2025-03-21").slice(0, 0)
    error = _error("open_llm_v2", "2025-03-21", table)
    assert "no rows" in str(error)


def test_unreadable_bytes_are_a_format_error() -> None:
    with pytest.raises(LeaderboardFormatError):
        parse_leaderboard(b"not parquet", leaderboard="open_llm_v1")


def test_format_error_is_a_value_error() -> None:
    # The pipeline catches ValueError around parsing.
    assert issubclass(LeaderboardFormatError, ValueError)
