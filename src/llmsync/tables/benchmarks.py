"""The official benchmarks' listing, eval.yaml files and leaderboards -> `benchmarks`."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import yaml

from llmsync.tables.schemas import BENCHMARKS_TABLE


@dataclass(frozen=True)
class BenchmarkSource:
    """One official benchmark as landed: its sha, eval.yaml bytes, leaderboard body."""

    dataset_id: str
    sha: str | None
    eval_yaml: bytes | None
    leaderboard: bytes | None


def listing_ids(listing: bytes) -> list[tuple[str, str | None]]:
    """(dataset id, sha) of each item of the `benchmark:official` listing."""
    data = json.loads(listing)
    items = data if isinstance(data, list) else []
    return [
        (str(item["id"]), item.get("sha") if isinstance(item.get("sha"), str) else None)
        for item in items
        if isinstance(item, dict) and isinstance(item.get("id"), str)
    ]


def parse_eval_yaml(data: bytes | None) -> dict[str, Any]:
    """name, evaluation_framework and task ids of an eval.yaml ({} if unreadable)."""
    if data is None:
        return {}
    try:
        loaded = yaml.safe_load(data.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError):
        return {}
    if not isinstance(loaded, dict):
        return {}
    tasks = loaded.get("tasks")
    tasks = tasks if isinstance(tasks, list) else []
    return {
        "name": _text(loaded.get("name")),
        "evaluation_framework": _text(loaded.get("evaluation_framework")),
        "tasks": [str(t["id"]) for t in tasks if isinstance(t, dict) and t.get("id") is not None],
    }


def leaderboard_entries(data: bytes) -> tuple[list[dict[str, Any]], int]:
    """The readable entries of a leaderboard body (a `modelId` that is text, a
    `value` that is a finite number) and how many others it holds (skipped:
    one odd entry costs only itself)."""
    try:
        loaded = json.loads(data)
    except ValueError:
        return [], 0
    items = loaded if isinstance(loaded, list) else []
    good = [item for item in items if _readable_entry(item)]
    return good, len(items) - len(good)


def _readable_entry(item: Any) -> bool:
    if not isinstance(item, dict) or not isinstance(item.get("modelId"), str):
        return False
    value = item.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return isinstance(value, int) or math.isfinite(value)  # an int never overflows here


def leaderboard_size(data: bytes | None) -> int | None:
    if data is None:
        return None
    try:
        loaded = json.loads(data)
    except ValueError:
        return None
    return len(leaderboard_entries(data)[0]) if isinstance(loaded, list) else None


def benchmarks_table(
    sources: Iterable[BenchmarkSource], *, result_tasks: Iterable[tuple[str, str]] = ()
) -> pa.Table:
    """One row per (dataset, task): the official ones from their eval.yaml, then
    every (dataset, task) an eval result names that no eval.yaml declares
    (`official` false unless its dataset is listed)."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    official: dict[str, Mapping[str, Any]] = {}
    for source in sources:
        parsed = parse_eval_yaml(source.eval_yaml)
        common = {
            "dataset_id": source.dataset_id,
            "name": parsed.get("name"),
            "evaluation_framework": parsed.get("evaluation_framework"),
            "official": True,
            "leaderboard_entries": leaderboard_size(source.leaderboard),
            "eval_yaml_sha": source.sha if source.eval_yaml is not None else None,
        }
        official[source.dataset_id] = common
        for task in parsed.get("tasks") or []:
            rows[(source.dataset_id, task)] = {**common, "task_id": task}
    for dataset_id, task_id in result_tasks:
        if (dataset_id, task_id) in rows:
            continue
        known = official.get(dataset_id)
        rows[(dataset_id, task_id)] = {
            **(known or _unofficial(dataset_id)),
            "task_id": task_id,
        }
    ordered = [rows[key] for key in sorted(rows)]
    columns = {name: [row[name] for row in ordered] for name in BENCHMARKS_TABLE.columns}
    return pa.table(columns, schema=BENCHMARKS_TABLE.schema)


def _unofficial(dataset_id: str) -> dict[str, Any]:
    return {
        "dataset_id": dataset_id,
        "name": None,
        "evaluation_framework": None,
        "official": False,
        "leaderboard_entries": None,
        "eval_yaml_sha": None,
    }


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
