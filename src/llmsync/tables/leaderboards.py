"""Leaderboard Parquet (display column names) -> one export's score rows.

One table is one export of the Open LLM Leaderboard's `contents` dataset. The
exports changed shape over the years (four benchmarks with "ARC (25-shot)"
headers in 2023, six plus an average in v1's final table, six with raw and
normalised columns in v2); each known shape is a `_Layout` below, and the one
that matches the table best is the one it must satisfy completely.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from llmsync.tables.export_rows import IDENTITY, ExportRows, identity_codes
from llmsync.tables.schemas import BENCHMARKS

LEADERBOARD_REPOS: dict[str, str] = {
    "open_llm_v1": "open-llm-leaderboard-old/contents",
    "open_llm_v2": "open-llm-leaderboard/contents",
    "openevals": "OpenEvals/leaderboard-data",
}
LEADERBOARD_FILE = "data/train-00000-of-00001.parquet"
# A guard, not a forecast: the largest recorded export is 0.74 MB; one of 100
# MB would be something else than a leaderboard, refused before it is read.
EXPORT_MAX_BYTES = 100_000_000
# Leaderboards that began after the Open LLM Leaderboard's retirement: a Hub
# without the repo (a replay as of an earlier date) is skipped, not a failure.
LEADERBOARDS_SINCE_2026 = frozenset({"openevals"})

# Optional columns, the same display names in every export that has them.
_PRECISION = "Precision"
_MODEL_SHA = "Model sha"


class LeaderboardFormatError(ValueError):
    """The table is not a leaderboard export this parser understands."""

    def __init__(self, message: str, *, column: str | None = None) -> None:
        super().__init__(message)
        self.column = column


@dataclass(frozen=True)
class _Layout:
    name: str
    # Columns that may name the model, in order of preference.
    name_columns: tuple[str, ...]
    # benchmark -> displayed score column
    scores: Mapping[str, str]
    # benchmark -> raw score column, used where the table has it
    raw_scores: Mapping[str, str] = field(default_factory=dict)

    def match_count(self, columns: set[str]) -> int:
        hits = sum(column in columns for column in self.scores.values())
        return hits + any(column in columns for column in self.name_columns)


_V2_SCORES = {
    "ifeval": "IFEval",
    "bbh": "BBH",
    "math_lvl5": "MATH Lvl 5",
    "gpqa": "GPQA",
    "musr": "MUSR",
    "mmlu_pro": "MMLU-PRO",
}

# OpenEvals/leaderboard-data's score columns -> the official benchmark's dataset
# id, by benchmark name (no source shows the code that builds the table). SWE-bench
# Verified's and TerminalBench's ids are the ones Hub-staff results use; no
# eval.yaml of theirs was seen (see the recordings' provenance).
_OPENEVALS_SCORES = {
    "aggregate": "aggregate_score",
    "MathArena/aime_2026": "aime2026_score",
    "FutureMa/EvasionBench": "evasionBench_score",
    "Idavidrein/gpqa": "gpqa_score",
    "openai/gsm8k": "gsm8k_score",
    "cais/hle": "hle_score",
    "MathArena/hmmt_feb_2026": "hmmt2026_score",
    "TIGER-Lab/MMLU-Pro": "mmluPro_score",
    "allenai/olmOCR-bench": "olmOcr_score",
    "ScaleAI/SWE-bench_Pro": "swePro_score",
    "SWE-bench/SWE-bench_Verified": "sweVerified_score",
    "harborframework/terminal-bench-2.0": "terminalBench_score",
}

_LAYOUTS: dict[str, tuple[_Layout, ...]] = {
    "open_llm_v1": (
        _Layout(
            name="v1 display names",
            name_columns=("fullname",),
            scores={
                "average": "Average ⬆️",
                "arc": "ARC",
                "hellaswag": "HellaSwag",
                "mmlu": "MMLU",
                "truthfulqa": "TruthfulQA",
                "winogrande": "Winogrande",
                "gsm8k": "GSM8K",
            },
        ),
        _Layout(
            name="v1 four-benchmark scrape (2023-06)",
            name_columns=("Model", "model"),
            scores={
                "average": "Average",
                "arc": "ARC (25-shot)",
                "hellaswag": "HellaSwag (10-shot)",
                "mmlu": "MMLU (5-shot)",
                "truthfulqa": "TruthfulQA (0-shot)",
            },
        ),
        _Layout(
            name="v1 four-benchmark scrape (2023-09)",
            name_columns=("Model", "model"),
            scores={
                "average": "Average",
                "arc": "ARC(25-shot)",
                "hellaswag": "HellaSwag(10-shot)",
                "mmlu": "MMLU(5-shot)",
                "truthfulqa": "TruthfulQA(0-shot)",
            },
        ),
    ),
    "open_llm_v2": (
        _Layout(
            name="v2 display names",
            name_columns=("fullname",),
            scores={"average": "Average ⬆️", **_V2_SCORES},
            raw_scores={benchmark: f"{column} Raw" for benchmark, column in _V2_SCORES.items()},
        ),
    ),
    "openevals": (
        _Layout(name="OpenEvals columns", name_columns=("model_name",), scores=_OPENEVALS_SCORES),
    ),
}


@dataclass(frozen=True)
class ParsedExport:
    """One export's rows (`ExportRows`), and how many rows its table has."""

    leaderboard: str
    values: ExportRows
    upstream_rows: int

    @functools.cached_property
    def rows(self) -> pa.Table:
        """The `EXPORT_SCORES` rows: one per (upstream row, benchmark) with a value."""
        return self.values.long(self.leaderboard)


def parse_leaderboard(data: bytes | pa.Table, *, leaderboard: str) -> ParsedExport:
    """One export's table as its rows: one per (upstream row, benchmark) with a value.

    A benchmark the row has no value for (an empty cell) gives no row. Raises
    `LeaderboardFormatError` naming the column for a missing column, a score
    that is not a number or lies outside 0-100, and for an empty table.
    """
    if leaderboard not in _LAYOUTS:
        raise ValueError(f"unknown leaderboard: {leaderboard!r}")
    table, layout = _read(data, leaderboard)
    name_column = next(c for c in layout.name_columns if c in table.column_names)

    names = _strings(table, name_column)
    if names.null_count:
        raise LeaderboardFormatError(
            f"column {name_column!r} has {names.null_count} rows without a model name",
            column=name_column,
        )
    per_row = {
        "model_name": names,
        "precision": _optional_strings(table, _PRECISION),
        "model_sha": _optional_strings(table, _MODEL_SHA),
    }
    values: dict[str, tuple[pa.Array, pa.Array]] = {}
    for benchmark, column in layout.scores.items():
        raw_column = layout.raw_scores.get(benchmark)
        raw = (
            _numbers(table, raw_column)
            if raw_column is not None and raw_column in table.column_names
            else pa.nulls(table.num_rows, pa.float64())
        )
        values[benchmark] = (_scores(table, column), raw)
    per_row["occurrence"] = _occurrences(per_row, values)
    # Each row's benchmarks in display order (easy to read).
    order = BENCHMARKS[leaderboard]
    benchmarks = tuple(sorted(values, key=order.index))
    n = table.num_rows
    rows = ExportRows(
        identity=pa.table(per_row, schema=IDENTITY),
        benchmarks=benchmarks,
        # An empty cell is NaN here (`to_numpy` writes a null float as NaN).
        values=_matrix([values[name][0].to_numpy(zero_copy_only=False) for name in benchmarks], n),
        raws=_matrix([values[name][1].fill_null(0.0).to_numpy() for name in benchmarks], n),
        raw_nulls=_matrix(
            [values[name][1].is_null().to_numpy(zero_copy_only=False) for name in benchmarks],
            n,
            dtype=np.bool_,
        ),
    )
    return ParsedExport(leaderboard, rows, table.num_rows)


def _matrix(rows: list[np.ndarray], width: int, *, dtype: type = np.float64) -> np.ndarray:
    """One row per benchmark, also for a layout with no benchmark."""
    return np.vstack(rows).astype(dtype, copy=False) if rows else np.zeros((0, width), dtype)


def _occurrences(
    per_row: Mapping[str, pa.Array], values: Mapping[str, tuple[pa.Array, pa.Array]]
) -> pa.Array:
    """Each row's rank among the export's rows of the same (model_name,
    precision, model_sha), ranked by the row's values, highest first."""
    identity = pa.table({name: per_row[name] for name in ("model_name", "precision", "model_sha")})
    none = np.zeros(identity.num_rows, dtype=np.int64)
    # Rows that differ in name or precision differ (almost every export has
    # no two alike): the long model sha is read only where some are alike.
    if not _repeats(identity_codes(identity, start=none, columns=("model_name", "precision"))[0]):
        return pa.array(none.astype(np.int32))
    code, _, _ = identity_codes(identity, start=none)
    if not _repeats(code):
        return pa.array(none.astype(np.int32))
    # A row's rank: its place among its identity's rows sorted by value (the
    # sort is stable, so equal values keep upstream order).
    ranked = pa.table({"identity": code})
    sort_keys: list[tuple[str, str]] = [("identity", "ascending")]
    for benchmark, (scores, raw) in values.items():
        ranked = ranked.append_column(f"v_{benchmark}", scores).append_column(f"r_{benchmark}", raw)
        sort_keys += [(f"v_{benchmark}", "descending"), (f"r_{benchmark}", "descending")]
    order = pc.sort_indices(ranked, sort_keys).to_numpy()
    in_order = code[order]
    starts = np.ones(len(order), dtype=bool)
    starts[1:] = in_order[1:] != in_order[:-1]
    positions = np.arange(len(order))
    group_start = np.maximum.accumulate(np.where(starts, positions, 0))
    occurrence = np.empty(len(order), dtype=np.int32)
    occurrence[order] = positions - group_start
    return pa.array(occurrence)


def _repeats(codes: np.ndarray) -> bool:
    ascending = np.sort(codes)
    return bool((ascending[1:] == ascending[:-1]).any())


def _read(data: bytes | pa.Table, leaderboard: str) -> tuple[pa.Table, _Layout]:
    """The export's table, with only the columns its layout uses, and the layout."""
    if isinstance(data, pa.Table):
        if data.num_rows == 0:
            raise LeaderboardFormatError("the leaderboard table has no rows")
        return data, _pick_layout(leaderboard, data.column_names)
    try:
        file = pq.ParquetFile(pa.BufferReader(data))
        if file.metadata.num_rows == 0:
            raise LeaderboardFormatError("the leaderboard table has no rows")
        present = file.schema_arrow.names
        layout = _pick_layout(leaderboard, present)
        # Read only what the layout uses: an export has dozens of other columns.
        wanted = {*layout.name_columns, _PRECISION, _MODEL_SHA}
        wanted |= {*layout.scores.values(), *layout.raw_scores.values()}
        return file.read(columns=[c for c in present if c in wanted]), layout
    except (pa.ArrowException, OSError) as exc:
        raise LeaderboardFormatError(f"not a readable Parquet file: {exc}") from exc


def _pick_layout(leaderboard: str, columns: list[str]) -> _Layout:
    """The layout the table matches best; every column of it must be there.

    Picking by overlap is what turns a renamed column into "column X is
    missing" rather than "unknown format".
    """
    present = set(columns)
    layout = max(_LAYOUTS[leaderboard], key=lambda item: item.match_count(present))
    if not any(column in present for column in layout.name_columns):
        wanted = layout.name_columns[0]
        raise LeaderboardFormatError(
            f"{leaderboard} table ({layout.name}) has no model name column {wanted!r}",
            column=wanted,
        )
    for column in layout.scores.values():
        if column not in present:
            raise LeaderboardFormatError(
                f"{leaderboard} table ({layout.name}) has no column {column!r}", column=column
            )
    return layout


def _column(table: pa.Table, name: str) -> pa.Array:
    return table.column(name).combine_chunks()


def _strings(table: pa.Table, name: str) -> pa.Array:
    column = _column(table, name)
    if pa.types.is_dictionary(column.type):
        column = column.dictionary_decode()
    return column.cast(pa.string())


def _optional_strings(table: pa.Table, name: str) -> pa.Array:
    if name not in table.column_names:
        return pa.nulls(table.num_rows, pa.string())
    return _strings(table, name)


def _numbers(table: pa.Table, name: str) -> pa.Array:
    """A column as float64; text is accepted only where every value parses."""
    column = _column(table, name)
    kind = column.type
    if pa.types.is_floating(kind) or pa.types.is_integer(kind) or pa.types.is_decimal(kind):
        return column.cast(pa.float64())
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        try:
            return column.cast(pa.float64())
        except pa.ArrowInvalid:
            bad = _first_non_number(column)
            raise LeaderboardFormatError(
                f"column {name!r} holds a value that is not a number: {bad!r}", column=name
            ) from None
    raise LeaderboardFormatError(f"column {name!r} is not numeric ({kind})", column=name)


def _first_non_number(column: pa.Array) -> str:
    # Only reached on the error path, so a scan in Python is fine here.
    for value in column.to_pylist():
        if value is None:
            continue
        try:
            float(value)
        except ValueError:
            return str(value)[:80]
    return "?"


def _scores(table: pa.Table, name: str) -> pa.Array:
    # The value as the export holds it: exports that carry unrounded scores
    # (v2 from 2024-12-11) keep them unrounded.
    scores = _numbers(table, name)
    if pc.any(pc.is_nan(scores)).as_py():
        raise LeaderboardFormatError(f"column {name!r} holds NaN", column=name)
    low, high = pc.min_max(scores).values()
    if low.as_py() is not None and (low.as_py() < 0 or high.as_py() > 100):
        out = low.as_py() if low.as_py() < 0 else high.as_py()
        raise LeaderboardFormatError(
            f"column {name!r} holds {out!r}, outside the 0-100 score range", column=name
        )
    return scores
