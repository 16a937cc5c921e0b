"""Small tables of real rows, for tests of the store and the validator.

The values are rows of the real Open LLM Leaderboard v1 final table (Dolly v2
12B and GPT-J 6B) and the Dolly model card. The store does not care which
commit a revision names, so a readable stand-in is used for it. Score tables
for the catalog and changes tests are built from rows transcribed from the
upstream CSVs (`fixture_scores`); tables built from whole recorded exports, as
the parser reads them, are in `tests.recorded`.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from llmsync.store.snapshots import TABLE_NAMES, SnapshotStore
from llmsync.tables.intervals import Export, empty_scores, extend
from llmsync.tables.lifecycle import leaderboards_table, load_leaderboard_facts
from llmsync.tables.revisions import RevisionRecord
from llmsync.tables.revisions import revisions_table as records_table
from llmsync.tables.schemas import (
    BENCHMARKS,
    BENCHMARKS_TABLE,
    CATALOG,
    CHANGES,
    EVAL_RESULTS,
    EXPORT_SCORES,
    MODELS,
    REVISIONS,
    SCORES,
)

V1_FINAL_DATE = dt.date(2024, 7, 7)
FIXTURES = Path(__file__).parent / "fixtures"

# The article's models and the Hub repo each one means (data/curated).
ARTICLE_PRIMARIES = {
    "Falcon-40B-Instruct": "tiiuae/falcon-40b-instruct",
    "Vicuna": "lmsys/vicuna-13b-v1.3",
    "Alpaca": "chavinlo/alpaca-native",
    "LLaMA": "huggyllama/llama-7b",
    "GPT-J": "EleutherAI/gpt-j-6b",
    "Dolly": "databricks/dolly-v2-12b",
}


# The catalog's key: one row per (article model, repo) of data/curated, 18 rows for
# 16 repos (huggyllama/llama-7b and -13b serve two article models each).
CATALOG_KEYS = {
    ("Alpaca", "chavinlo/alpaca-native"),
    ("Alpaca", "huggyllama/llama-7b"),
    ("Alpaca", "tatsu-lab/alpaca-7b-wdiff"),
    ("Dolly", "EleutherAI/pythia-12b"),
    ("Dolly", "databricks/dolly-v2-12b"),
    ("Dolly", "databricks/dolly-v2-3b"),
    ("Dolly", "databricks/dolly-v2-7b"),
    ("Falcon-40B-Instruct", "tiiuae/falcon-40b"),
    ("Falcon-40B-Instruct", "tiiuae/falcon-40b-instruct"),
    ("Falcon-40B-Instruct", "tiiuae/falcon-7b-instruct"),
    ("GPT-J", "EleutherAI/gpt-j-6b"),
    ("LLaMA", "huggyllama/llama-13b"),
    ("LLaMA", "huggyllama/llama-65b"),
    ("LLaMA", "huggyllama/llama-7b"),
    ("Vicuna", "huggyllama/llama-13b"),
    ("Vicuna", "lmsys/vicuna-13b-v1.3"),
    ("Vicuna", "lmsys/vicuna-7b-v1.3"),
    ("Vicuna", "lmsys/vicuna-7b-v1.5"),
}

# The transcribed fixture's columns (tests/fixtures/catalog/README.md): one row per
# upstream row and benchmark of an export, as an earlier `scores` held them.
FIXTURE_SCHEMA = pa.schema(
    [
        pa.field("leaderboard", pa.string()),
        pa.field("source_revision", pa.string()),
        pa.field("source_date", pa.date32()),
        pa.field("row_index", pa.int32()),
        pa.field("model_name", pa.string()),
        pa.field("repo_id", pa.string()),
        pa.field("benchmark", pa.string()),
        pa.field("score", pa.float64()),
        pa.field("raw_score", pa.float64()),
        pa.field("precision", pa.string()),
        pa.field("model_sha", pa.string()),
        pa.field("chat_template", pa.bool_()),
        pa.field("submitted_on", pa.date32()),
    ]
)
# The fixture's exports, oldest first per leaderboard, and the rows of each
# upstream CSV (counted with the csv module; the fixture holds only some).
FIXTURE_EXPORTS = {
    "v1-2023-06-10": 132,
    "v1-2023-09-04": 1291,
    "v1-2024-07-07": 7169,
    "v2-2024-10-09": 1436,
    "v2-2024-11-09": 1793,
    "v2-2025-03-21": 4576,
}


@cache
def load_fixture_scores() -> pa.Table:
    """The score rows the parser must give for the article's repos, transcribed
    from the upstream CSVs (tests/fixtures/catalog/README.md), without the
    columns that say where each value was read."""
    options = pcsv.ConvertOptions(
        column_types=FIXTURE_SCHEMA,
        include_columns=FIXTURE_SCHEMA.names,
        strings_can_be_null=True,
        true_values=["true"],
        false_values=["false"],
    )
    table = pcsv.read_csv(FIXTURES / "catalog" / "scores_rows.csv", convert_options=options)
    return table.select(FIXTURE_SCHEMA.names).cast(FIXTURE_SCHEMA)


def fixture_rows(label: str) -> pa.Table:
    """The transcribed rows of export `label` as `EXPORT_SCORES`: each upstream
    row's scores, rows of one (name, precision, sha) numbered by `occurrence`
    as the schema defines it (ranked by their values, highest average first)."""
    everything = load_fixture_scores()
    rows = everything.filter(pc.equal(everything.column("source_revision"), label))
    cells: dict[int, list[dict[str, Any]]] = {}
    for cell in rows.to_pylist():
        cells.setdefault(cell["row_index"], []).append(cell)
    leaderboard = rows.column("leaderboard")[0].as_py()

    def rank(index: int) -> tuple[Any, ...]:
        by_benchmark = {cell["benchmark"]: cell for cell in cells[index]}
        key: list[tuple[int, float]] = []
        for benchmark in BENCHMARKS[leaderboard]:
            cell = by_benchmark.get(benchmark, {})
            for name in ("score", "raw_score"):
                value = cell.get(name)
                key.append((1, 0.0) if value is None else (0, -value))
        return tuple(key)

    groups: dict[tuple[Any, ...], list[int]] = {}
    for index, row_cells in cells.items():
        first = row_cells[0]
        identity = (first["model_name"], first["precision"], first["model_sha"])
        groups.setdefault(identity, []).append(index)
    occurrence = {
        index: position
        for indexes in groups.values()
        for position, index in enumerate(sorted(indexes, key=rank))
    }
    out = [
        {
            "leaderboard": cell["leaderboard"],
            "model_name": cell["model_name"],
            "repo_id": cell["repo_id"],
            "precision": cell["precision"],
            "model_sha": cell["model_sha"],
            "occurrence": occurrence[cell["row_index"]],
            "benchmark": cell["benchmark"],
            "value": cell["score"],
            "raw_value": cell["raw_score"],
        }
        for cell in rows.to_pylist()
    ]
    return pa.Table.from_pylist(out, schema=EXPORT_SCORES.schema)


@cache
def fixture_scores(*labels: str) -> tuple[pa.Table, pa.Table]:
    """(scores, revisions) built from the transcribed rows of the named exports
    (all six when none is named); each label stands in for the commit sha."""
    chosen = [label for label in FIXTURE_EXPORTS if not labels or label in labels]
    exports, records = [], []
    for label in chosen:
        leaderboard = "open_llm_v1" if label.startswith("v1-") else "open_llm_v2"
        date = dt.date.fromisoformat(label[3:])
        exports.append(Export(leaderboard, label, date, fixture_rows(label)))
        records.append(RevisionRecord(leaderboard, label, date, FIXTURE_EXPORTS[label], "ok"))
    return extend(empty_scores(), exports), records_table(records)


# (model_name, precision, model_sha, {benchmark: score}) from the v1 final table.
V1_ROWS = [
    (
        "databricks/dolly-v2-12b",
        "float16",
        "19308160448536e378e3db21a73a751579ee7fdd",
        {"average": 39.46, "arc": 42.41, "hellaswag": 72.53, "mmlu": 25.92},
    ),
    (
        "EleutherAI/gpt-j-6b",
        "float16",
        "47e169305d2e8376be1d31e765533382721b2cc1",
        {"average": 40.1, "arc": 41.38, "hellaswag": 67.54, "mmlu": 26.78},
    ),
]


def scores_table(*, revision: str = "v1-final", rows: list[tuple] | None = None) -> pa.Table:  # type: ignore[type-arg]
    """Intervals opened by one export (`revision`) that still hold."""
    records = []
    for name, precision, sha, benchmarks in rows or V1_ROWS:
        for benchmark, score in benchmarks.items():
            records.append(
                {
                    "leaderboard": "open_llm_v1",
                    "model_name": name,
                    "repo_id": name,
                    "precision": precision,
                    "model_sha": sha,
                    "occurrence": 0,
                    "benchmark": benchmark,
                    "value": score,
                    "raw_value": None,
                    "valid_from": V1_FINAL_DATE,
                    "valid_from_revision": revision,
                    "valid_to": None,
                    "valid_to_revision": None,
                }
            )
    return pa.Table.from_pylist(records, schema=SCORES.schema)


def revisions_table(*, revision: str = "v1-final") -> pa.Table:
    row = {
        "leaderboard": "open_llm_v1",
        "revision": revision,
        "date": V1_FINAL_DATE,
        "rows": 7169,
        "status": "ok",
        "reason": None,
    }
    return pa.Table.from_pylist([row], schema=REVISIONS.schema)


def models_table() -> pa.Table:
    return pa.Table.from_pylist(
        [
            {
                "repo_id": "databricks/dolly-v2-12b",
                "status": "ok",
                "license": "mit",
                "languages": ["en"],
                "datasets": ["databricks/databricks-dolly-15k"],
                "library_name": "transformers",
                "card_present": True,
            }
        ],
        schema=MODELS.schema,
    )


def catalog_table() -> pa.Table:
    return pa.Table.from_pylist(
        [
            {
                "article_model": "Dolly",
                "repo_id": "databricks/dolly-v2-12b",
                "role": "primary",
                "model_status": "ok",
                "card_present": True,
                "open_llm_v1_average": 39.46,
                "open_llm_v1_arc": 42.41,
            }
        ],
        schema=CATALOG.schema,
    )


def snapshot_tables(*, revision: str = "v1-final") -> dict[str, pa.Table]:
    return {
        "catalog": catalog_table(),
        "models": models_table(),
        "scores": scores_table(revision=revision),
        "revisions": revisions_table(revision=revision),
        "changes": CHANGES.schema.empty_table(),
        "leaderboards": leaderboards_table(
            load_leaderboard_facts(), revisions=revisions_table(revision=revision)
        ),
        "eval_results": EVAL_RESULTS.schema.empty_table(),
        "benchmarks": BENCHMARKS_TABLE.schema.empty_table(),
    }


def published_tables(data_dir: Path) -> dict[str, pa.Table]:
    """The tables of the latest snapshot in `data_dir`, as read back."""
    latest = SnapshotStore(data_dir).latest()
    assert latest is not None, f"no snapshot in {data_dir}"
    return {name: pq.read_table(latest.table_path(name)) for name in TABLE_NAMES}


# The columns that hold a run's own time: two runs that saw the same Hub differ there.
RUN_TIME_COLUMNS = ("observed_from", "observed_to")


def without_run_time(table: pa.Table) -> pa.Table:
    """`table` less the columns that say when a run observed it."""
    return table.drop_columns([c for c in RUN_TIME_COLUMNS if c in table.column_names])


def latest_manifest(data_dir: Path) -> dict[str, Any]:
    latest = SnapshotStore(data_dir).latest()
    assert latest is not None, f"no snapshot in {data_dir}"
    manifest: dict[str, Any] = latest.manifest
    return manifest


def without_repo(table: pa.Table, repo_id: str) -> pa.Table:
    """`table` minus the rows about `repo_id` (rows with a null repo_id stay)."""
    column = table.column("repo_id")
    keep = pc.or_kleene(pc.is_null(column), pc.not_equal(column, repo_id))
    return table.filter(keep)


def snapshot_files(data_dir: Path) -> dict[str, bytes]:
    """Every published file under `processed/`, by relative path: to prove a
    failed run left the existing snapshots byte for byte as they were."""
    processed = data_dir / "processed"
    return {
        str(path.relative_to(processed)): path.read_bytes()
        for path in sorted(processed.glob("snapshot=*/*"))
        if path.is_file()
    }
