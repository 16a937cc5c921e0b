"""The one composition of the stages: `run_sync`.

The Prefect flow in `llmsync_flows` runs this same composition with every stage
wrapped as a task (through a `StageRunner`), so the two can never drift apart.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

from llmsync import __version__
from llmsync.pipeline.evals import (
    benchmark_raw_objects,
    build_eval_tables,
    describe_benchmarks,
    fetch_official,
    leaderboard_models,
    observation_day,
    observed_models,
    prior_eval_results,
    with_eval_tables,
)
from llmsync.pipeline.fetchplan import FetchPlan, ProgressFn
from llmsync.pipeline.population import fetch_models_at_scale, population_repos
from llmsync.pipeline.report import SyncFailed, SyncReport, one_line, summarise_changes
from llmsync.pipeline.revision import LeaderboardRevision
from llmsync.pipeline.scores import ScoresBuild, build_scores, read_prior
from llmsync.pipeline.stages import (
    TRANSIENT_MODEL_STATUSES,
    SyncConfig,
    build_models,
    describe_raw_objects,
    describe_sources,
    fetch_leaderboards,
    fetch_models,
    fingerprint,
    make_client,
    make_pacer,
    merge,
    publish,
    tracked_repos,
    validate,
)
from llmsync.store.raw import RawStore
from llmsync.store.snapshots import TABLE_NAMES, RunRecord, Snapshot, SnapshotStore
from llmsync.tables.curated import load_curated
from llmsync.tables.lifecycle import load_leaderboard_facts
from llmsync.tables.revisions import describe_suspect_newest, revision_records, suspect_newest
from llmsync.tables.schemas import SCHEMA_VERSIONS
from llmsync.tables.validation import RowLossGuard

T = TypeVar("T")


# -- composition -------------------------------------------------------------


class StageRunner(Protocol):
    """Runs one named stage. The plain runner calls it; the Prefect runner
    runs it as a task (with retries where the failure may be transient)."""

    def __call__(self, name: str, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T: ...


def run_plain(name: str, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    return fn(*args, **kwargs)


@contextmanager
def _timed(report: SyncReport, stage: str, progress: Callable[[str], None]) -> Iterator[None]:
    progress(f"{stage} ...")
    started = time.perf_counter()
    try:
        yield
    finally:
        report.seconds[stage] = round(time.perf_counter() - started, 2)


def run_sync(
    config: SyncConfig,
    *,
    run_stage: StageRunner = run_plain,
    flow_run_id: str | None = None,
    progress: Callable[[str], None] = lambda message: None,
    on_fetch_progress: ProgressFn | None = None,
) -> SyncReport:
    """One sync: publishes a correct snapshot, records an unchanged run, or
    publishes nothing and raises SyncFailed with a one-line reason.

    `on_fetch_progress` is told how a leaderboards population's fetch stands
    (done/total, requests, time waited for the rate limit) while it runs."""
    store = SnapshotStore(config.data_dir)
    endpoint = make_client(config).endpoint
    with store.lock():
        record: RunRecord = store.start_run(flow_run_id=flow_run_id)
        report = SyncReport(
            run_id=record.run_id, status="running", snapshot=None, endpoint=endpoint
        )
        try:
            _run_stages(
                config,
                store,
                record,
                report,
                run_stage=run_stage,
                progress=progress,
                on_fetch_progress=on_fetch_progress,
            )
        except Exception as exc:
            reason = one_line(exc)
            report.status, report.reason = "failed", reason
            record.failures = report.failures
            store.finish_run(record, status="failed", snapshot=None, reason=reason)
            raise SyncFailed(reason, report=report) from exc
        return report


def _build_scores(
    config: SyncConfig,
    revisions: list[LeaderboardRevision],
    previous: Snapshot | None,
    *,
    run_stage: StageRunner,
) -> ScoresBuild:
    return run_stage(
        "build scores",
        build_scores,
        revisions,
        prior=read_prior(previous),
        suspect_row_loss=config.suspect_row_loss,
    )


def _run_stages(
    config: SyncConfig,
    store: SnapshotStore,
    record: RunRecord,
    report: SyncReport,
    *,
    run_stage: StageRunner,
    progress: Callable[[str], None],
    on_fetch_progress: ProgressFn | None,
) -> None:
    started_at = dt.datetime.now(dt.UTC)
    curated = load_curated(config.curated_path)
    raw = RawStore(config.data_dir / "raw")
    curated_copy = raw.put_curated(curated.source)
    # The leaderboards' upstream facts are kept like the curated file: by hash.
    facts = load_leaderboard_facts()
    facts_copy = raw.put_curated(facts.source)
    previous = store.latest()

    # One pacer for every request of the run: the rate limits are per caller.
    pacer = make_pacer(config)
    with _timed(report, "fetch leaderboards", progress):
        revisions = run_stage("fetch leaderboards", fetch_leaderboards, config, pacer=pacer)
    built: ScoresBuild | None = None
    plan, earlier = None, None
    before = sum(pacer.requests().values())
    with _timed(report, "fetch benchmarks", progress):
        benchmarks = run_stage("fetch benchmarks", fetch_official, config, pacer=pacer)
    # What the benchmarks cost (eval results ride on the model requests).
    report.fetch["benchmark_requests"] = sum(pacer.requests().values()) - before
    # Every model on an official benchmark's leaderboard joins the population.
    tracked = tracked_repos(curated, config.extra_repos)
    joined = [r for r in leaderboard_models(benchmarks) if r not in set(tracked)]
    tracked += joined
    report.fetch["joined_from_benchmark_leaderboards"] = len(joined)
    if config.population == "leaderboards":
        # The population is read off this run's scores: they are built first.
        with _timed(report, "build scores", progress):
            built = _build_scores(config, revisions, previous, run_stage=run_stage)
        repos = population_repos(built.scores, tracked=tracked, population=config.population)
        earlier = _previous_population(store, previous)
        with _timed(report, "fetch models", progress):
            fetches, plan = run_stage(
                "fetch models",
                fetch_models_at_scale,
                config,
                repos,
                previous_manifest=previous.manifest if previous is not None else None,
                previous_state=earlier,
                pacer=pacer,
                on_progress=on_fetch_progress,
            )
    else:
        with _timed(report, "fetch models", progress):
            fetches = run_stage("fetch models", fetch_models, config, tracked, pacer=pacer)
    report.requests = pacer.requests()
    report.throttled = pacer.throttled()
    report.rate_limit_wait_seconds = round(pacer.waited(), 2)
    if plan is not None:
        record.population = _population_state(config, plan, started_at, earlier, report)
        report.fetch |= {
            "kind": plan.kind,
            "models": len(fetches),
            "listing_pages": plan.listing_pages,
            "listing_bytes": plan.listing_bytes,
            "model_info_checks": plan.model_info_checks,
            "card_requests": plan.card_requests,
            "reused": plan.reused,
        }

    said = [
        (item.status, f"{item.repo_id}: {item.status}" + (f" ({item.detail})" * bool(item.detail)))
        for item in fetches
        if item.status not in (None, "no_card")
    ]
    report.failures = [line for status, line in said if status != "not_recorded"]
    report.recording_gaps = [line for status, line in said if status == "not_recorded"]
    report.failures += list(benchmarks.failures)
    report.partial = any(item.status in TRANSIENT_MODEL_STATUSES for item in fetches)
    report.partial = report.partial or bool(benchmarks.failures)
    sources = describe_sources(revisions, fetches, curated_sha256=curated.sha256)
    sources["leaderboard_facts_sha256"] = facts.sha256
    sources["benchmarks"] = describe_benchmarks(benchmarks)
    report.sources = sources
    # The shapes the tables are written in count as a source: the first run of
    # a version that writes them differently publishes, even if upstream is quiet.
    sources_id = fingerprint({**sources, "schema_versions": SCHEMA_VERSIONS})

    if previous is not None and previous.sources_fingerprint == sources_id:
        report.status, report.snapshot = "unchanged", previous.snapshot_id
        report.row_counts = {k: int(v["rows"]) for k, v in previous.manifest["tables"].items()}
        record.row_counts = report.row_counts
        store.finish_run(record, status="unchanged", snapshot=previous.snapshot_id)
        progress(f"unchanged: every upstream revision matches snapshot {previous.snapshot_id}")
        return

    with _timed(report, "build tables", progress):
        if built is None:
            built = _build_scores(config, revisions, previous, run_stage=run_stage)
        models = run_stage("build models", build_models, fetches)
    report.parsed_revisions, report.incremental = built.parsed, built.incremental
    report.not_applied = list(built.not_applied)
    stale = suspect_newest(revision_records(built.revisions))
    report.suspect_newest = [describe_suspect_newest(entry) for entry in stale]
    with _timed(report, "merge", progress):
        merged = run_stage(
            "merge",
            merge,
            curated,
            scores=built.scores,
            revisions=built.revisions,
            models=models,
            previous=previous,
            leaderboard_facts=facts,
        )
    report.conflicts, report.unmatched_aliases = merged.conflicts, merged.unmatched_aliases
    on, prior_evals = observation_day(config), prior_eval_results(previous)
    with _timed(report, "build eval results", progress):
        built_evals = run_stage(
            "build eval results",
            build_eval_tables,
            raw,
            benchmarks,
            observed_models(raw, fetches),
            prior=prior_evals,
            on=on,
        )
    tables = with_eval_tables(
        merged.tables,
        built_evals,
        prior=prior_evals,
        on=on,
        previous_snapshot=previous.snapshot_id if previous is not None else None,
    )
    guard = RowLossGuard(max_loss=config.max_row_loss, allow=config.allow_row_loss)
    with _timed(report, "validate", progress):
        checked = run_stage("validate", validate, tables, previous=previous, guard=guard)
    report.row_counts = {name: checked[name].num_rows for name in TABLE_NAMES}
    report.change_counts, report.change_examples = summarise_changes(checked["changes"])

    manifest = {
        "created_at": dt.datetime.now(dt.UTC).isoformat(),
        "status": "partial" if report.partial else "complete",
        "run_id": record.run_id,
        "flow_run_id": record.flow_run_id,
        "code_version": __version__,
        "hub_endpoint": report.endpoint,
        "previous_snapshot": previous.snapshot_id if previous else None,
        "sources": sources,
        "sources_fingerprint": sources_id,
        # Which curated file built it: the hash is also in `sources`; the copy
        # under data/raw/ is what `verify` rebuilds with.
        "curated": {
            "origin": curated.origin,
            "sha256": curated.sha256,
            "raw_object": raw.relative(curated_copy.path),
        },
        "leaderboard_facts": {"sha256": facts.sha256, "raw_object": raw.relative(facts_copy.path)},
        # Every landed object the tables were built from: `verify` rebuilds from these.
        "raw_objects": describe_raw_objects(raw, revisions, fetches, curated=curated_copy)
        + benchmark_raw_objects(raw, benchmarks),
        # The day the eval results were observed on: `verify` extends with it.
        "observed_on": on.isoformat(),
        # Leaderboards whose newest export was not applied: an older table is in force.
        "suspect_newest": stale,
        # Needed to rebuild the revisions table's statuses from raw.
        "suspect_row_loss": config.suspect_row_loss,
        "failures": report.failures,
        "recording_gaps": report.recording_gaps,
        # Why each model lacks fields, so the tables can be rebuilt from raw alone.
        "model_details": {item.repo_id: item.detail for item in fetches if item.detail},
        "conflicts": report.conflicts,
        "unmatched_aliases": report.unmatched_aliases,
    }
    if record.population is not None:
        manifest["population"] = record.population
    with _timed(report, "publish", progress):
        snapshot = run_stage("publish", publish, store, checked, manifest=manifest)
    report.status, report.snapshot = "published", snapshot.snapshot_id
    record.partial, record.row_counts, record.failures = (
        report.partial,
        report.row_counts,
        report.failures,
    )
    store.finish_run(record, status="published", snapshot=snapshot.snapshot_id)
    progress(f"published snapshot {snapshot.snapshot_id}")


def _previous_population(store: SnapshotStore, previous: Snapshot | None) -> dict[str, Any] | None:
    """The fetch state the next population fetch starts from: the newest run
    that fetched, whether it published (its manifest has the state too) or
    found nothing new (`unchanged`, only its run record has it)."""
    for run in reversed(store.runs()):
        state = run.get("population")
        if run.get("status") in ("published", "unchanged") and isinstance(state, dict):
            return state
    state = previous.manifest.get("population") if previous is not None else None
    return state if isinstance(state, dict) else None


def _population_state(
    config: SyncConfig,
    plan: FetchPlan,
    started_at: dt.datetime,
    earlier: dict[str, Any] | None,
    report: SyncReport,
) -> dict[str, Any]:
    return {
        "mode": config.population,
        "fetch": plan.kind,
        # When this sync started (our clock) and the newest change the Hub
        # listed then (its clock): the next incremental fetch reads back to
        # the watermark, less a margin.
        "sync_started_at": started_at.isoformat(),
        "watermark": plan.watermark,
        "reconciled_at": (
            started_at.isoformat() if plan.kind == "full" else (earlier or {}).get("reconciled_at")
        ),
        "requests": report.requests,
        "rate_limit_wait_seconds": report.rate_limit_wait_seconds,
    }
