"""The catalog's eval-result columns: per repo, how many readable results hold
and, per official benchmark, the newest main result of each (task, notes)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pyarrow as pa

from llmsync.tables.schemas import CATALOG


def add_eval_columns(
    catalog: pa.Table,
    *,
    eval_results: pa.Table,
    benchmarks: pa.Table,
    hub_ids: Mapping[str, str] | None = None,
) -> pa.Table:
    """`catalog` with `eval_results_count` and `eval_latest` filled in. A repo
    renamed on the Hub (`hub_ids`: catalog id -> the id it answers under)
    holds its results under the new id."""
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
    aliases = hub_ids or {}
    repos = [aliases.get(r, r) for r in catalog.column("repo_id").to_pylist()]
    counts = [len(holding.get(repo_id, [])) for repo_id in repos]
    latest = [_latest(holding.get(repo_id, []), official) for repo_id in repos]
    for name, values in (("eval_results_count", counts), ("eval_latest", latest)):
        field = CATALOG.schema.field(name)
        catalog = catalog.set_column(
            catalog.schema.get_field_index(name), field, pa.array(values, field.type)
        )
    return catalog


def _latest(rows: list[dict[str, Any]], official: list[str]) -> list[dict[str, Any]]:
    """Per official benchmark, one entry per (task, notes) the repo's main
    holds: its newest result (ties: the last file by name); one entry with
    null fields where main holds none."""
    out: list[dict[str, Any]] = []
    for dataset_id in official:
        newest: dict[tuple[str, str], dict[str, Any]] = {}
        mine = [r for r in rows if r["dataset_id"] == dataset_id and r["pull_request"] is None]
        mine.sort(key=lambda r: (r["observed_from"], r["filename"], r["occurrence"]))
        for row in mine:
            # Later (newer) rows replace earlier ones of the same (task, notes).
            newest[(row["task_id"], row["notes"] or "")] = row
        if not newest:
            out.append({"dataset_id": dataset_id, **dict.fromkeys(_FIELDS)})
        out += [
            {"dataset_id": dataset_id, **{name: row[name] for name in _FIELDS}}
            for _, row in sorted(newest.items())
        ]
    return out


_FIELDS = ("task_id", "notes", "value", "valid_from", "filename")
