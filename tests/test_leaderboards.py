"""Parsing the recorded leaderboard exports into `scores` rows.

Every value checked here is read from the recordings shipped in
`src/llmsync/replay/recordings/` (real exports), not typed in from elsewhere.
"""

from __future__ import annotations

import datetime as dt
import time
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
    parse_leaderboard,
)
from llmsync.tables.schemas import BENCHMARKS, SCORES
from tests.tables import load_fixture_scores

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


def _parse(leaderboard: str, date: str, data: bytes | pa.Table | None = None) -> pd.DataFrame:
    sha, raw = _commit(leaderboard, date)
    table = parse_leaderboard(
        raw if data is None else data,
        leaderboard=leaderboard,
        source_revision=sha,
        source_date=dt.date.fromisoformat(date),
    )
    assert table.schema.equals(SCORES.schema)
    return table.to_pandas()


def _score(frame: pd.DataFrame, model: str, benchmark: str) -> float:
    values = frame[(frame.model_name == model) & (frame.benchmark == benchmark)].score
    assert len(values) == 1, (model, benchmark, list(values))
    return float(values.iloc[0])


def _table(leaderboard: str, date: str) -> pa.Table:
    return pq.read_table(pa.BufferReader(_commit(leaderboard, date)[1]))


# -- real values ---------------------------------------------------------------


def test_row_counts_of_v1_exports() -> None:
    assert _parse("open_llm_v1", "2024-07-07").row_index.nunique() == 7169
    assert _parse("open_llm_v1", "2024-06-19").row_index.nunique() == 7065
    assert _parse("open_llm_v1", "2023-06-10").row_index.nunique() == 132


def test_v1_final_scores_of_article_models() -> None:
    scores = _parse("open_llm_v1", "2024-07-07")
    assert _score(scores, "databricks/dolly-v2-12b", "average") == 39.46
    assert _score(scores, "databricks/dolly-v2-12b", "arc") == 42.41
    assert _score(scores, "EleutherAI/gpt-j-6b", "average") == 40.10
    dolly = scores[scores.model_name == "databricks/dolly-v2-12b"].iloc[0]
    assert dolly.model_sha == "19308160448536e378e3db21a73a751579ee7fdd"
    assert dolly.precision == "float16"
    # v1's `date` is the eval request's submission time.
    assert dolly.submitted_on == dt.date(2023, 9, 9)
    assert set(scores.benchmark) == set(BENCHMARKS["open_llm_v1"])


@pytest.mark.parametrize(
    "revision",
    [
        "v1-2023-06-10",
        "v1-2023-09-04",
        "v1-2024-06-19",
        "v2-2024-10-09",
        "v2-2024-11-10",
        "v2-2025-03-21",
    ],
)
def test_rows_of_the_article_models_match_the_upstream_csv(revision: str) -> None:
    """Every score, raw score, precision, sha, chat template and date the parser
    reads for the article's repos (and a few other names) from a recorded export
    equals the value transcribed from the upstream CSV with the csv module
    (tests/fixtures/catalog): a swapped or misnamed column cannot pass."""
    expected = load_fixture_scores()
    expected = expected.filter(pc.equal(expected.column("source_revision"), revision))
    leaderboard = "open_llm_v1" if revision.startswith("v1-") else "open_llm_v2"
    date = revision.removeprefix("v1-").removeprefix("v2-")
    _, raw = _commit(leaderboard, date)
    parsed = parse_leaderboard(
        raw,
        leaderboard=leaderboard,
        source_revision=revision,
        source_date=dt.date.fromisoformat(date),
    )
    names = pc.unique(expected.column("model_name"))
    parsed = parsed.filter(pc.is_in(parsed.column("model_name"), value_set=names))
    order = [("row_index", "ascending"), ("benchmark", "ascending")]
    assert parsed.sort_by(order).to_pylist() == expected.sort_by(order).to_pylist()


def test_falcon_math_moves_between_v2_exports() -> None:
    falcon = "tiiuae/falcon-40b-instruct"
    assert _score(_parse("open_llm_v2", "2024-10-09"), falcon, "math_lvl5") == 1.51
    assert _score(_parse("open_llm_v2", "2024-11-09"), falcon, "math_lvl5") == 1.66
    # The 2025 export holds 1.9637...; the leaderboard displayed it as 1.96.
    assert _score(_parse("open_llm_v2", "2025-03-21"), falcon, "math_lvl5") == 1.96


def test_v2_final_has_every_benchmark_for_every_row() -> None:
    scores = _parse("open_llm_v2", "2025-03-21")
    assert scores.row_index.nunique() == 4576
    per_row = scores.groupby("row_index").benchmark.nunique()
    assert set(per_row) == {7}
    assert scores.score.between(0, 100).all()
    # Raw 0-1 values exist for the six benchmarks, never for the average.
    assert scores[scores.benchmark != "average"].raw_score.notna().all()
    assert scores[scores.benchmark == "average"].raw_score.isna().all()
    assert scores.raw_score.dropna().between(0, 1).all()


def test_v2_raw_scores_are_not_rounded() -> None:
    scores = _parse("open_llm_v2", "2025-03-21")
    table = _table("open_llm_v2", "2025-03-21")
    first = scores[(scores.row_index == 0) & (scores.benchmark == "ifeval")].iloc[0]
    assert first.raw_score == table.column("IFEval Raw")[0].as_py()
    assert first.score == round(table.column("IFEval")[0].as_py(), 2)


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
    last = scores[scores.row_index == 131]
    assert set(last.model_name) == {"vicgalle/gpt2-alpaca-gpt4"}
    assert list(last.benchmark) == ["average", "arc", "hellaswag", "mmlu"]
    assert len(scores) == 132 * 5 - 1


def test_variants_of_one_model_are_all_kept() -> None:
    scores = _parse("open_llm_v1", "2024-07-07")
    vicuna = scores[(scores.model_name == "lmsys/vicuna-7b-v1.5") & (scores.benchmark == "average")]
    assert sorted(vicuna.precision) == ["bfloat16", "float16"]
    assert vicuna.row_index.nunique() == 2


# (leaderboard, date) -> (rows, non-empty score cells) of the upstream CSV the
# recording was built from (tests/fixtures/catalog/README.md names each file), counted
# with the csv module: 2023-06-10 has one empty TruthfulQA cell, the others none.
UPSTREAM_COUNTS = {
    ("open_llm_v1", "2023-06-10"): (132, 659),
    ("open_llm_v1", "2023-09-04"): (1291, 6455),
    ("open_llm_v1", "2024-06-19"): (7169, 50183),
    ("open_llm_v2", "2024-10-09"): (1445, 10115),
    ("open_llm_v2", "2024-11-10"): (1793, 12551),
    ("open_llm_v2", "2025-03-21"): (4576, 32032),
}


@pytest.mark.parametrize(("leaderboard", "date"), sorted(UPSTREAM_COUNTS))
def test_every_export_shape_parses(leaderboard: str, date: str) -> None:
    scores = _parse(leaderboard, date)
    assert (scores.row_index.nunique(), len(scores)) == UPSTREAM_COUNTS[leaderboard, date]
    assert scores.score.between(0, 100).all()
    assert set(scores.leaderboard) == {leaderboard}


def test_the_2024_10_09_export_takes_names_from_fullname() -> None:
    # Its `Model` column is an HTML anchor; `fullname` (line 2 of the CSV) is the name.
    v2 = _parse("open_llm_v2", "2024-10-09")
    first = v2[v2.row_index == 0]
    assert set(first.model_name) == {"dfurman/CalmeRys-78B-Orpo-v0.1"}
    assert set(first.chat_template) == {True}
    assert not v2.model_name.str.contains("<a ").any()
    assert v2.chat_template.notna().all()


def test_every_served_export_parses() -> None:
    # All 207 commits of both leaderboards, every column layout of their history.
    benchmarks = {
        "open_llm_v1": [{"average", "arc", "hellaswag", "mmlu", "truthfulqa"}],
        "open_llm_v2": [set(BENCHMARKS["open_llm_v2"])],
    }
    benchmarks["open_llm_v1"].append(set(BENCHMARKS["open_llm_v1"]))
    parsed = 0
    for leaderboard, repo_id in LEADERBOARD_REPOS.items():
        for commit in _store().repos[f"dataset/{repo_id}"].commits:
            table = pq.read_table(
                pa.BufferReader(_store().file_bytes(commit.files[LEADERBOARD_FILE]))
            )
            scores = parse_leaderboard(
                table,
                leaderboard=leaderboard,
                source_revision=commit.sha,
                source_date=commit.date.date(),
            )
            assert pc.count_distinct(scores["row_index"]).as_py() == table.num_rows
            assert pc.min(scores["score"]).as_py() >= 0 and pc.max(scores["score"]).as_py() <= 100
            assert set(scores["benchmark"].to_pylist()) in benchmarks[leaderboard]
            name = "fullname" if "fullname" in table.column_names else "Model"
            # The display exports' `Model` is link text; the name is `fullname`.
            assert set(scores["model_name"].to_pylist()) == set(table[name].to_pylist())
            parsed += 1
    assert parsed == 17 + 190


def test_table_and_bytes_give_the_same_rows() -> None:
    from_bytes = _parse("open_llm_v2", "2024-11-09")
    from_table = _parse("open_llm_v2", "2024-11-09", _table("open_llm_v2", "2024-11-09"))
    pd.testing.assert_frame_equal(from_bytes, from_table)


def test_parsing_is_vectorised() -> None:
    _, raw = _commit("open_llm_v1", "2024-07-07")
    start = time.perf_counter()
    parse_leaderboard(
        raw, leaderboard="open_llm_v1", source_revision="x" * 40, source_date=dt.date(2024, 6, 19)
    )
    # 7,169 rows x 7 benchmarks; a per-row Python loop takes far longer.
    assert time.perf_counter() - start < 2.0


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
        parse_leaderboard(
            b"not parquet",
            leaderboard="open_llm_v1",
            source_revision="x" * 40,
            source_date=dt.date(2024, 1, 1),
        )


def test_format_error_is_a_value_error() -> None:
    # The pipeline catches ValueError around parsing.
    assert issubclass(LeaderboardFormatError, ValueError)
