"""The eval results and the official benchmarks' tables: built from what
their sources landed (`sources.models`, `sources.benchmarks`), by the sync and
by `llmsync verify` alike (`tables.eval_results`, `tables.benchmarks`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from llmsync.hub.landing import StoredObject
from llmsync.pipeline.model_fetch import ModelFetch
from llmsync.pipeline.sources.benchmarks import LandedBenchmark, LandedBenchmarks
from llmsync.pipeline.stages import SyncConfig
from llmsync.store.raw import RawStore
from llmsync.store.snapshots import Snapshot
from llmsync.tables.benchmarks import BenchmarkSource, benchmarks_table
from llmsync.tables.eval_catalog import add_eval_columns
from llmsync.tables.eval_changes import eval_changes
from llmsync.tables.eval_results import Observed, extend, midnight, renames
from llmsync.tables.eval_results import observation_time as eval_time

__all__ = ["Observed", "build_eval_tables", "with_eval_tables"]


def benchmarks_from_manifest(raw: RawStore, manifest: Mapping[str, Any]) -> LandedBenchmarks:
    """The benchmarks a snapshot was built from, read back from its raw objects."""
    pages: list[StoredObject] = []
    by_repo: dict[tuple[str, str], StoredObject] = {}
    for item in manifest.get("raw_objects", []):
        kind = item["kind"]
        if kind not in ("benchmark_listing", "eval_yaml", "benchmark_leaderboard"):
            continue
        stored = raw.check_object(str(item["path"]), sha256=str(item["sha256"]))
        if kind == "benchmark_listing":
            pages.append(stored)
        else:
            by_repo[(kind, str(item["repo_id"]))] = stored
    benchmarks = tuple(
        LandedBenchmark(
            dataset_id,
            item.get("sha"),
            by_repo.get(("eval_yaml", dataset_id)),
            by_repo.get(("benchmark_leaderboard", dataset_id)),
        )
        for dataset_id, item in manifest["sources"]
        .get("benchmarks", {})
        .get("benchmarks", {})
        .items()
    )
    return LandedBenchmarks(tuple(pages), benchmarks)


def _described(manifest: Mapping[str, Any]) -> dict[str, Any]:
    described = manifest["sources"].get("benchmarks") or {}
    return dict(described.get("benchmarks") or {})


# -- build --------------------------------------------------------------------


@dataclass(frozen=True)
class EvalTables:
    eval_results: pa.Table
    benchmarks: pa.Table
    # Repos that answered 404 this run: their results were closed.
    gone: frozenset[str] = frozenset()
    # Repos renamed (id asked: id answered): their results moved to the new id.
    renamed: Mapping[str, str] = field(default_factory=dict)


def prior_eval_results(previous: Snapshot | None) -> pa.Table | None:
    """The previous snapshot's eval results, if it has them in this shape."""
    return previous.listed_table("eval_results") if previous is not None else None


def build_eval_tables(
    raw: RawStore,
    landed: LandedBenchmarks,
    observed: Sequence[Observed],
    *,
    prior: pa.Table | None,
    at: dt.datetime,
    gone: frozenset[str] = frozenset(),
) -> EvalTables:
    results = extend(prior, observed, at=at, gone=gone)
    holding = results.filter(results["valid_to"].is_null())
    tasks = {
        (d, t)
        for d, t in zip(
            holding["dataset_id"].to_pylist(), holding["task_id"].to_pylist(), strict=True
        )
        if d is not None and t is not None
    }
    sources = [
        BenchmarkSource(
            item.dataset_id,
            item.sha,
            raw.read_object(raw.relative(item.eval_yaml.path), sha256=item.eval_yaml.sha256)
            if item.eval_yaml
            else None,
            raw.read_object(raw.relative(item.leaderboard.path), sha256=item.leaderboard.sha256)
            if item.leaderboard
            else None,
        )
        for item in landed.benchmarks
    ]
    return EvalTables(
        results, benchmarks_table(sources, result_tasks=sorted(tasks)), gone, renames(observed)
    )


def gone_models(fetches: Sequence[ModelFetch]) -> frozenset[str]:
    """The repos that answered 404 (`not_found`): their results are closed.
    (Gated, unavailable or unrecorded repos are not judged: unknown is not gone.)"""
    return frozenset(fetch.repo_id for fetch in fetches if fetch.status == "not_found")


def observed_models(raw: RawStore, fetches: Sequence[ModelFetch]) -> list[Observed]:
    """Each model whose body this run read, as `Observed` (its eval results)."""
    return [
        Observed(fetch.repo_id, raw.relative(fetch.info_object.path), fetch.info_json)
        for fetch in fetches
        if fetch.info_json is not None and fetch.info_object is not None
    ]


def observation_time(config: SyncConfig) -> dt.datetime:
    """The instant this sync observes the eval results at (UTC, whole seconds):
    `observed_at`, else midnight of `observed_on` (a replay as of a day), else now."""
    if config.observed_at is not None:
        return eval_time(config.observed_at)
    if config.observed_on is not None:
        return midnight(config.observed_on)
    return eval_time(dt.datetime.now(dt.UTC))


def with_eval_tables(
    tables: Mapping[str, pa.Table],
    built: EvalTables,
    *,
    prior: pa.Table | None,
    at: dt.datetime,
    previous_snapshot: str | None,
) -> dict[str, pa.Table]:
    """The merged tables with the eval results and benchmarks in: their own
    tables, the catalog's eval columns, and their changes."""
    out = dict(tables)
    out["eval_results"], out["benchmarks"] = built.eval_results, built.benchmarks
    out["catalog"] = add_eval_columns(
        tables["catalog"],
        eval_results=built.eval_results,
        benchmarks=built.benchmarks,
        hub_ids=built.renamed,
    )
    # Against a snapshot without eval results (none, or an older llmsync's),
    # nothing is reported: as on a first sync.
    if previous_snapshot is not None and prior is not None:
        changes = eval_changes(
            built.eval_results,
            prior=prior,
            on=at.date(),
            previous_snapshot=previous_snapshot,
            gone=built.gone,
            renamed=built.renamed,
        )
        out["changes"] = pa.concat_tables([tables["changes"], changes])
    return out
