"""The one composition of the stages: `run_sync`.

A run fetches every source listed in `llmsync.pipeline.sources.SOURCES`,
fingerprints what they read, and when anything changed builds the tables,
validates them, and publishes them with their manifest. Each step is one
function below; none names a source but where the build reads its data.

The Prefect flow in `llmsync_flows` runs this same composition with every stage
wrapped as a task (through a `StageRunner`), so the two can never drift apart.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from llmsync import __version__
from llmsync.hub.landing import StoredObject
from llmsync.hub.pacing import Pacer
from llmsync.pipeline.evals import (
    build_eval_tables,
    gone_models,
    observation_time,
    observed_models,
    prior_eval_results,
    with_eval_tables,
)
from llmsync.pipeline.fetchplan import ProgressFn
from llmsync.pipeline.report import SyncFailed, SyncReport, one_line, summarise_changes
from llmsync.pipeline.scores import ScoresBuild
from llmsync.pipeline.sources import (
    BENCHMARKS,
    MODELS,
    SOURCES,
    SourceRun,
    StageRunner,
    built_scores,
    run_plain,
)
from llmsync.pipeline.sources.base import raw_entry
from llmsync.pipeline.sources.fetching import fetch_sources
from llmsync.pipeline.stages import (
    Checked,
    Merged,
    SyncConfig,
    build_models,
    fingerprint,
    make_client,
    make_pacer,
    merge,
    publish,
    validate,
)
from llmsync.store.raw import RawStore
from llmsync.store.snapshots import TABLE_NAMES, RunRecord, SnapshotStore
from llmsync.tables.curated import Curated, load_curated
from llmsync.tables.lifecycle import LeaderboardFacts, load_leaderboard_facts
from llmsync.tables.revisions import describe_suspect_newest, revision_records, suspect_newest
from llmsync.tables.schemas import SCHEMA_VERSIONS
from llmsync.tables.validation import RowLossGuard

__all__ = ["StageRunner", "run_plain", "run_sync"]


def run_sync(
    config: SyncConfig,
    *,
    run_stage: StageRunner = run_plain,
    flow_run_id: str | None = None,
    progress: Callable[[str], None] = lambda message: None,
    on_fetch_progress: ProgressFn | None = None,
    pacer: Pacer | None = None,
) -> SyncReport:
    """One sync: publishes a correct snapshot, records an unchanged run, or
    publishes nothing and raises SyncFailed with a one-line reason.

    `pacer` paces every request of the run (default: one made from the
    config's rate tier); a caller that passes its own can read its timeline.

    `on_fetch_progress` is told how a leaderboards population's fetch stands
    (done/total, requests, time waited for the rate limit) while it runs."""
    store = SnapshotStore(config.data_dir)
    endpoint = make_client(config).endpoint
    with store.lock():
        record: RunRecord = store.start_run(flow_run_id=flow_run_id)
        report = SyncReport(
            run_id=record.run_id, status="running", snapshot=None, endpoint=endpoint
        )
        run: SourceRun | None = None
        try:
            run = SourceRun(
                started_at=dt.datetime.now(dt.UTC),
                config=config,
                # One pacer for every request of the run: the rate limits are per caller.
                pacer=pacer if pacer is not None else make_pacer(config),
                curated=load_curated(config.curated_path),
                store=store,
                previous=store.latest(),
                report=report,
                run_stage=run_stage,
                progress=progress,
                on_fetch_progress=on_fetch_progress,
            )
            _run_stages(run, record)
        except Exception as exc:
            reason = one_line(exc)
            report.status, report.reason = "failed", reason
            record.failures = report.failures
            store.finish_run(record, status="failed", snapshot=None, reason=reason)
            raise SyncFailed(reason, report=report) from exc
        finally:
            if run is not None:
                run.close()
        return report


@dataclass(frozen=True)
class Ours:
    """What a run reads besides its upstream sources, kept in `data/raw/` by
    hash: the curated file and the leaderboards' upstream facts."""

    raw: RawStore
    curated: Curated
    curated_copy: StoredObject
    facts: LeaderboardFacts
    facts_copy: StoredObject


@dataclass(frozen=True)
class Built:
    scores: ScoresBuild
    merged: Merged
    tables: dict[str, pa.Table]
    observed_at: dt.datetime
    # Leaderboards whose newest export was not applied: an older table is in force.
    suspect_newest: list[dict[str, Any]]


def _run_stages(run: SourceRun, record: RunRecord) -> None:
    ours = _keep_ours(run)
    _fetch(run, record)
    sources = _describe(run, ours)
    # The shapes the tables are written in count as a source: the first run of
    # a version that writes them differently publishes, even if upstream is quiet.
    sources_id = fingerprint({**sources, "schema_versions": SCHEMA_VERSIONS})
    if run.previous is not None and run.previous.sources_fingerprint == sources_id:
        _finish_unchanged(run, record)
        return
    built = _build(run, ours)
    _summarise(run.report, built)
    checked = _validate(run, built)
    manifest = _manifest(run, record, ours, built, sources=sources, sources_id=sources_id)
    _publish(run, record, checked, manifest=manifest)


def _keep_ours(run: SourceRun) -> Ours:
    raw = RawStore(run.config.data_dir / "raw")
    curated_copy = raw.put_curated(run.curated.source)
    facts = load_leaderboard_facts()
    facts_copy = raw.put_curated(facts.source)
    return Ours(raw, run.curated, curated_copy, facts, facts_copy)


def _fetch(run: SourceRun, record: RunRecord) -> None:
    """Every source at once (one reading another's result waits for it where
    it reads it); then what the fetches cost and what went wrong, in the report."""
    report = run.report
    fetch_sources(run, SOURCES)
    for _, fetched in run.landed.items():
        report.fetch |= fetched.counts
        if fetched.state is not None:
            record.population = fetched.state
    report.requests = run.pacer.requests()
    report.throttled = run.pacer.throttled()
    report.rate_limit_wait_seconds = round(run.pacer.waited(), 2)
    every = [fetched for _, fetched in run.landed.items()]
    report.failures = [line for fetched in every for line in fetched.failures]
    report.recording_gaps = [line for fetched in every for line in fetched.recording_gaps]
    report.partial = any(fetched.partial for fetched in every)


def _describe(run: SourceRun, ours: Ours) -> dict[str, Any]:
    """Every upstream revision a snapshot is built from (the manifest's
    `sources`, fingerprinted), and the hashes of our own inputs."""
    sources: dict[str, Any] = {name: fetched.description for name, fetched in run.landed.items()}
    sources |= {
        "curated_sha256": ours.curated.sha256,
        "leaderboard_facts_sha256": ours.facts.sha256,
    }
    run.report.sources = sources
    return sources


def _finish_unchanged(run: SourceRun, record: RunRecord) -> None:
    previous, report = run.previous, run.report
    assert previous is not None
    report.status, report.snapshot = "unchanged", previous.snapshot_id
    report.row_counts = {k: int(v["rows"]) for k, v in previous.manifest["tables"].items()}
    record.row_counts = report.row_counts
    run.store.finish_run(record, status="unchanged", snapshot=previous.snapshot_id)
    run.progress(f"unchanged: every upstream revision matches snapshot {previous.snapshot_id}")


def _build(run: SourceRun, ours: Ours) -> Built:
    """The sources' landed bytes -> tidy tables -> merged with the curated file."""
    fetches = run.landed.data(MODELS)
    with run.timed("build tables"):
        scores = built_scores(run)
        models = run.run_stage("build models", build_models, fetches)
    previous = run.previous
    merged = run.stage(
        "merge",
        merge,
        ours.curated,
        scores=scores.scores,
        revisions=scores.revisions,
        models=models,
        previous=previous,
        leaderboard_facts=ours.facts,
    )
    at, prior_evals = observation_time(run.config), prior_eval_results(previous)
    built_evals = run.stage(
        "build eval results",
        build_eval_tables,
        ours.raw,
        run.landed.data(BENCHMARKS),
        observed_models(ours.raw, fetches),
        prior=prior_evals,
        at=at,
        gone=gone_models(fetches),
    )
    tables = with_eval_tables(
        merged.tables,
        built_evals,
        prior=prior_evals,
        at=at,
        previous_snapshot=previous.snapshot_id if previous is not None else None,
    )
    stale = suspect_newest(revision_records(scores.revisions))
    return Built(scores, merged, tables, at, stale)


def _summarise(report: SyncReport, built: Built) -> None:
    """What the build found, in the report."""
    report.parsed_revisions, report.incremental = built.scores.parsed, built.scores.incremental
    report.not_applied = list(built.scores.not_applied)
    report.suspect_newest = [describe_suspect_newest(entry) for entry in built.suspect_newest]
    report.conflicts = built.merged.conflicts
    report.unmatched_aliases = built.merged.unmatched_aliases


def _validate(run: SourceRun, built: Built) -> Checked:
    config, report = run.config, run.report
    guard = RowLossGuard(max_loss=config.max_row_loss, allow=config.allow_row_loss)
    checked = run.stage("validate", validate, built.tables, previous=run.previous, guard=guard)
    report.row_counts = {name: checked.tables[name].num_rows for name in TABLE_NAMES}
    report.change_counts, report.change_examples = summarise_changes(checked.tables["changes"])
    return checked


def _manifest(
    run: SourceRun,
    record: RunRecord,
    ours: Ours,
    built: Built,
    *,
    sources: dict[str, Any],
    sources_id: str,
) -> dict[str, Any]:
    report, previous, raw = run.report, run.previous, ours.raw
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
            "origin": ours.curated.origin,
            "sha256": ours.curated.sha256,
            "raw_object": raw.relative(ours.curated_copy.path),
        },
        "leaderboard_facts": {
            "sha256": ours.facts.sha256,
            "raw_object": raw.relative(ours.facts_copy.path),
        },
        # Every landed object the tables were built from: `verify` rebuilds from these.
        "raw_objects": [raw_entry(raw, "curated", None, None, ours.curated_copy)]
        + [entry for _, fetched in run.landed.items() for entry in fetched.raw_objects],
        # When the eval results were observed (UTC): `verify` extends with it.
        "observed_on": built.observed_at.date().isoformat(),
        "observed_at": built.observed_at.isoformat(),
        "suspect_newest": built.suspect_newest,
        # Needed to rebuild the revisions table's statuses from raw.
        "suspect_row_loss": run.config.suspect_row_loss,
        "failures": report.failures,
        "recording_gaps": report.recording_gaps,
        "conflicts": report.conflicts,
        "unmatched_aliases": report.unmatched_aliases,
    }
    for _, fetched in run.landed.items():
        manifest |= fetched.manifest
    return manifest


def _publish(
    run: SourceRun, record: RunRecord, checked: Checked, *, manifest: dict[str, Any]
) -> None:
    report = run.report
    snapshot = run.stage("publish", publish, run.store, checked, manifest=manifest)
    report.status, report.snapshot = "published", snapshot.snapshot_id
    record.partial, record.row_counts, record.failures = (
        report.partial,
        report.row_counts,
        report.failures,
    )
    run.store.finish_run(record, status="published", snapshot=snapshot.snapshot_id)
    run.progress(f"published snapshot {snapshot.snapshot_id}")
