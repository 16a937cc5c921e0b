"""Small tables of real rows, for tests of the store and the validator.

The values are rows of the real Open LLM Leaderboard v1 final table (Dolly v2
12B and GPT-J 6B) and the Dolly model card. The store does not care which
commit a revision names, so a readable stand-in is used for it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from llmsync.store.snapshots import TABLE_NAMES, SnapshotStore
from llmsync.tables.schemas import CATALOG, CHANGES, MODELS, SCORES

V1_FINAL_DATE = dt.date(2024, 6, 19)
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


def load_fixture_scores() -> pa.Table:
    """The score rows the parser must give for the article's repos, transcribed
    from the upstream CSVs (tests/fixtures/catalog/README.md), without the
    columns that say where each value was read."""
    options = pcsv.ConvertOptions(
        column_types=SCORES.schema,
        include_columns=SCORES.schema.names,
        strings_can_be_null=True,
        true_values=["true"],
        false_values=["false"],
    )
    table = pcsv.read_csv(FIXTURES / "catalog" / "scores_rows.csv", convert_options=options)
    return table.select(SCORES.schema.names).cast(SCORES.schema)


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
    records = []
    for row_index, (name, precision, sha, benchmarks) in enumerate(rows or V1_ROWS):
        for benchmark, score in benchmarks.items():
            records.append(
                {
                    "leaderboard": "open_llm_v1",
                    "source_revision": revision,
                    "source_date": V1_FINAL_DATE,
                    "row_index": row_index,
                    "model_name": name,
                    "repo_id": name,
                    "benchmark": benchmark,
                    "score": score,
                    "raw_score": None,
                    "precision": precision,
                    "model_sha": sha,
                    "chat_template": None,
                    "submitted_on": dt.date(2023, 9, 9),
                }
            )
    return pa.Table.from_pylist(records, schema=SCORES.schema)


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
        "changes": CHANGES.schema.empty_table(),
    }


def published_tables(data_dir: Path) -> dict[str, pa.Table]:
    """The four tables of the latest snapshot in `data_dir`, as read back."""
    latest = SnapshotStore(data_dir).latest()
    assert latest is not None, f"no snapshot in {data_dir}"
    return {name: pq.read_table(latest.table_path(name)) for name in TABLE_NAMES}


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
