"""The Hub's eval results and official benchmarks: a source of the sync.

What it costs a night:
- eval results: nothing of their own. They ride on the model requests the sync
  makes anyway (`expand[]=evalResults`, see `hub.listing.INFO_QUERY`);
- benchmarks: the `benchmark:official` listing (one request a page), each
  benchmark's `eval.yaml` at the commit the listing names (asked again only
  when that sha changes: a file of a commit, once landed, is read from
  `data/raw/`), and its leaderboard (`base_model=false`), one request each.

Every body lands in `data/raw/` as it came; the tables are built from those
objects (`tables.eval_results`, `tables.benchmarks`), by the sync and by
`llmsync verify` alike. A benchmark request that fails costs that benchmark's
row its fields (the snapshot is then partial), never the run.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pyarrow as pa

from llmsync.hub.client import HubClient
from llmsync.hub.errors import FileNotFound, HubError
from llmsync.hub.landing import StoredObject
from llmsync.hub.pacing import Pacer
from llmsync.hub.secrets import redact
from llmsync.pipeline.model_fetch import ModelFetch
from llmsync.pipeline.stages import SyncConfig, make_client
from llmsync.store.raw import RawStore
from llmsync.store.snapshots import Snapshot
from llmsync.tables.benchmarks import BenchmarkSource, benchmarks_table, listing_ids
from llmsync.tables.eval_catalog import add_eval_columns
from llmsync.tables.eval_changes import eval_changes
from llmsync.tables.eval_results import Observed, extend

__all__ = ["Observed", "build_eval_tables", "fetch_official", "with_eval_tables"]

EVAL_YAML = "eval.yaml"
OFFICIAL_FILTER = "filter=benchmark:official"


@dataclass(frozen=True)
class LandedBenchmark:
    dataset_id: str
    sha: str | None
    eval_yaml: StoredObject | None
    leaderboard: StoredObject | None


@dataclass(frozen=True)
class LandedBenchmarks:
    """What one night read of the official benchmarks (raw objects)."""

    pages: tuple[StoredObject, ...]
    benchmarks: tuple[LandedBenchmark, ...]
    failures: tuple[str, ...] = field(default=())


def fetch_benchmarks(client: HubClient, raw: RawStore) -> LandedBenchmarks:
    failures: list[str] = []
    pages: list[StoredObject] = []
    found: list[tuple[str, str | None]] = []
    url: str | None = f"{client.endpoint}/api/datasets?{OFFICIAL_FILTER}"
    try:
        while url is not None:
            body, url = client.list_page(url, what="the official benchmarks")
            pages.append(raw.put_listing(body))
            found += listing_ids(body)
    except HubError as exc:
        failures.append(redact(f"official benchmarks: {exc}"))
    benchmarks = []
    for dataset_id, sha in found:
        eval_yaml = _eval_yaml(client, dataset_id, sha, failures)
        board = _leaderboard(client, raw, dataset_id, failures)
        benchmarks.append(LandedBenchmark(dataset_id, sha, eval_yaml, board))
    return LandedBenchmarks(tuple(pages), tuple(benchmarks), tuple(failures))


def _eval_yaml(
    client: HubClient, dataset_id: str, sha: str | None, failures: list[str]
) -> StoredObject | None:
    if sha is None:
        return None
    try:
        landed = client.download(dataset_id, EVAL_YAML, repo_type="dataset", revision=sha)
    except FileNotFound:
        return None
    except HubError as exc:
        failures.append(redact(f"{dataset_id} eval.yaml: {exc}"))
        return None
    return StoredObject(landed.path, landed.sha256, landed.size)


def _leaderboard(
    client: HubClient, raw: RawStore, dataset_id: str, failures: list[str]
) -> StoredObject | None:
    url = f"{client.endpoint}/api/datasets/{quote(dataset_id)}/leaderboard?base_model=false"
    try:
        body, _ = client.list_page(url, what=f"leaderboard of {dataset_id}")
    except HubError as exc:
        failures.append(redact(f"{dataset_id} leaderboard: {exc}"))
        return None
    return raw.put_listing(body)


def leaderboard_models(landed: LandedBenchmarks) -> list[str]:
    """Every model the landed leaderboards rank, in first-seen order."""
    seen: dict[str, None] = {}
    for item in landed.benchmarks:
        if item.leaderboard is None:
            continue
        for entry in json.loads(item.leaderboard.path.read_bytes()):
            if isinstance(entry, dict) and isinstance(entry.get("modelId"), str):
                seen.setdefault(entry["modelId"], None)
    return list(seen)


def describe_benchmarks(landed: LandedBenchmarks) -> dict[str, Any]:
    """The benchmarks' part of a snapshot's sources (and so of its fingerprint)."""
    return {
        "pages": [page.sha256 for page in landed.pages],
        "benchmarks": {
            item.dataset_id: {
                "sha": item.sha,
                "eval_yaml_sha256": item.eval_yaml.sha256 if item.eval_yaml else None,
                "leaderboard_sha256": item.leaderboard.sha256 if item.leaderboard else None,
            }
            for item in landed.benchmarks
        },
    }


def benchmark_raw_objects(raw: RawStore, landed: LandedBenchmarks) -> list[dict[str, Any]]:
    """The manifest's `raw_objects` for the benchmarks."""

    def entry(kind: str, repo_id: str | None, revision: str | None, obj: StoredObject) -> Any:
        return {
            "kind": kind,
            "repo_id": repo_id,
            "revision": revision,
            "path": raw.relative(obj.path),
            "sha256": obj.sha256,
            "bytes": obj.size,
        }

    entries = [entry("benchmark_listing", None, None, page) for page in landed.pages]
    for item in landed.benchmarks:
        if item.eval_yaml is not None:
            entries.append(entry("eval_yaml", item.dataset_id, item.sha, item.eval_yaml))
        if item.leaderboard is not None:
            entries.append(entry("benchmark_leaderboard", item.dataset_id, None, item.leaderboard))
    return entries


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


def prior_eval_results(previous: Snapshot | None) -> pa.Table | None:
    """The previous snapshot's eval results, if it has them in this shape."""
    if previous is None or "eval_results" not in previous.manifest.get("tables", {}):
        return None
    return previous.read_table("eval_results")


def build_eval_tables(
    raw: RawStore,
    landed: LandedBenchmarks,
    observed: Sequence[Observed],
    *,
    prior: pa.Table | None,
    on: dt.date,
) -> EvalTables:
    results = extend(prior, observed, on=on)
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
    return EvalTables(results, benchmarks_table(sources, result_tasks=sorted(tasks)))


def observed_models(raw: RawStore, fetches: Sequence[ModelFetch]) -> list[Observed]:
    """Each model whose body this run read, as `Observed` (its eval results)."""
    return [
        Observed(fetch.repo_id, raw.relative(fetch.info_object.path), fetch.info_json)
        for fetch in fetches
        if fetch.info_json is not None and fetch.info_object is not None
    ]


def fetch_official(config: SyncConfig, *, pacer: Pacer | None = None) -> LandedBenchmarks:
    """The benchmarks stage: a client of the run's pacer, the run's raw landing."""
    return fetch_benchmarks(make_client(config, pacer=pacer), RawStore(config.data_dir / "raw"))


def observation_day(config: SyncConfig) -> dt.date:
    """The day this sync observes the eval results on (UTC)."""
    return config.observed_on or dt.datetime.now(dt.UTC).date()


def with_eval_tables(
    tables: Mapping[str, pa.Table],
    built: EvalTables,
    *,
    prior: pa.Table | None,
    on: dt.date,
    previous_snapshot: str | None,
) -> dict[str, pa.Table]:
    """The merged tables with the eval results and benchmarks in: their own
    tables, the catalog's eval columns, and their changes."""
    out = dict(tables)
    out["eval_results"], out["benchmarks"] = built.eval_results, built.benchmarks
    out["catalog"] = add_eval_columns(
        tables["catalog"], eval_results=built.eval_results, benchmarks=built.benchmarks
    )
    # Against a snapshot without eval results (none, or an older llmsync's),
    # nothing is reported: as on a first sync.
    if previous_snapshot is not None and prior is not None:
        changes = eval_changes(
            built.eval_results, prior=prior, on=on, previous_snapshot=previous_snapshot
        )
        out["changes"] = pa.concat_tables([tables["changes"], changes])
    return out
