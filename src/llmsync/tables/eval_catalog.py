"""The catalog's eval-result columns: per repo, how many results hold and the
latest value per official benchmark (null where the repo has none)."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from llmsync.tables.schemas import CATALOG


def add_eval_columns(
    catalog: pa.Table, *, eval_results: pa.Table, benchmarks: pa.Table
) -> pa.Table:
    """`catalog` with `eval_results_count` and `eval_latest` filled in."""
    official = sorted(
        {
            row["dataset_id"]
            for row in benchmarks.select(["dataset_id", "official"]).to_pylist()
            if row["official"]
        }
    )
    holding: dict[str, list[dict[str, Any]]] = {}
    for row in eval_results.to_pylist():
        if row["valid_to"] is None and row["error"] is None:
            holding.setdefault(row["repo_id"], []).append(row)
    repos = catalog.column("repo_id").to_pylist()
    counts = [len(holding.get(repo_id, [])) for repo_id in repos]
    latest = [_latest(holding.get(repo_id, []), official) for repo_id in repos]
    for name, values in (("eval_results_count", counts), ("eval_latest", latest)):
        field = CATALOG.schema.field(name)
        catalog = catalog.set_column(
            catalog.schema.get_field_index(name), field, pa.array(values, field.type)
        )
    return catalog


def _latest(rows: list[dict[str, Any]], official: list[str]) -> list[dict[str, Any]]:
    """One entry per official benchmark: the newest holding result on it
    (main before an open PR on the same day), else a null value."""
    out = []
    for dataset_id in official:
        mine = [row for row in rows if row["dataset_id"] == dataset_id]
        mine.sort(key=lambda row: (row["valid_from"], row["pull_request"] is None))
        best = mine[-1] if mine else None
        out.append(
            {
                "dataset_id": dataset_id,
                "task_id": best["task_id"] if best else None,
                "value": best["value"] if best else None,
                "valid_from": best["valid_from"] if best else None,
            }
        )
    return out
