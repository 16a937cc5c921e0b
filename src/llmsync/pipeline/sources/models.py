"""The model repos: a source of the sync.

Each tracked repo's model info and card (the eval results ride on the same
model requests, `expand[]=evalResults`). Which repos: the curated file's and
`extra_repos`, every model an official benchmark's leaderboard ranks (so the
benchmarks are fetched first), and, for a `leaderboards` population, every
repo the leaderboards' scores name (so those are built first). A model that
fails costs its own row's fields (with the reason), never the run.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from llmsync.hub.ids import is_commit_sha
from llmsync.pipeline.fetchplan import FetchPlan
from llmsync.pipeline.model_fetch import ModelFetch
from llmsync.pipeline.population import fetch_models_at_scale, population_repos
from llmsync.pipeline.sources.base import Fetched, SourceRun, in_raw_order, raw_entry
from llmsync.pipeline.sources.benchmarks import BENCHMARKS, leaderboard_models
from llmsync.pipeline.sources.leaderboards import LEADERBOARDS, built_scores
from llmsync.pipeline.stages import (
    TRANSIENT_MODEL_STATUSES,
    SyncConfig,
    fetch_models,
    tracked_repos,
)
from llmsync.store.raw import RawStore
from llmsync.store.snapshots import Snapshot, SnapshotStore


class Models:
    name = "models"

    def reads(self, config: SyncConfig) -> tuple[str, ...]:
        """The benchmarks (their leaderboards' models join), and for a
        `leaderboards` population the leaderboards (their scores name it)."""
        if config.population == "leaderboards":
            return (LEADERBOARDS.name, BENCHMARKS.name)
        return (BENCHMARKS.name,)

    def fetch(self, run: SourceRun) -> Fetched[list[ModelFetch]]:
        if run.config.population == "leaderboards":
            return self._fetch_population(run)
        tracked = tracked_repos(run.curated, run.config.extra_repos)
        holding, _ = open_result_repos(run.previous)
        order: list[str] = []
        counts: dict[str, Any] = {}

        def ranked() -> list[str]:
            """The benchmarks' ranked models (waiting for the benchmarks), and
            the repos in the order the tables list them."""
            joined, held = _joined_and_held(
                tracked, leaderboard_models(run.landed.data(BENCHMARKS)), holding
            )
            order.extend([*tracked, *joined, *held])
            counts["joined_from_benchmark_leaderboards"] = len(joined)
            if held:
                counts["reread_for_open_results"] = len(held)
            return joined

        # The curated repos and those holding results are known now: fetched
        # while the benchmarks are, the ranked ones joining once they land.
        fetched = run.stage(
            "fetch models",
            fetch_models,
            run.config,
            list(dict.fromkeys([*tracked, *holding])),
            pacer=run.pacer,
            cardless=cardless_commits(run.previous),
            more=ranked,
        )
        by_repo = {item.repo_id: item for item in fetched}
        return _fetched(run, [by_repo[r] for r in order], counts=counts, state=None)

    def _fetch_population(self, run: SourceRun) -> Fetched[list[ModelFetch]]:
        tracked = tracked_repos(run.curated, run.config.extra_repos)
        holding, from_prs = open_result_repos(run.previous)
        joined, held = _joined_and_held(
            tracked, leaderboard_models(run.landed.data(BENCHMARKS)), holding
        )
        counts: dict[str, Any] = {"joined_from_benchmark_leaderboards": len(joined)}
        if held:
            counts["reread_for_open_results"] = len(held)
        fetches, plan, state = _fetch_population(run, [*tracked, *joined, *held], reread=from_prs)
        counts |= _plan_counts(plan, models=len(fetches))
        return _fetched(run, fetches, counts=counts, state=state)


def _joined_and_held(
    tracked: Sequence[str], ranked: Sequence[str], holding: Sequence[str]
) -> tuple[list[str], list[str]]:
    """Every model on an official benchmark's leaderboard joins the tracked
    ones; a repo whose results the previous snapshot holds is read again, off
    the leaderboards or not (a 404 then closes them, `eval_results`)."""
    known = set(tracked)
    joined = [repo_id for repo_id in dict.fromkeys(ranked) if repo_id not in known]
    known.update(joined)
    return joined, [repo_id for repo_id in holding if repo_id not in known]


def open_result_repos(previous: Snapshot | None) -> tuple[list[str], list[str]]:
    """The repos holding an open `eval_results` row in `previous`, and those
    of them holding one from an open PR; each sorted."""
    table = previous.listed_table("eval_results") if previous is not None else None
    if table is None:
        return [], []
    rows = table.select(["repo_id", "pull_request", "valid_to"]).to_pylist()
    holding = [r for r in rows if r["valid_to"] is None]
    from_prs = {r["repo_id"] for r in holding if r["pull_request"] is not None}
    return sorted({r["repo_id"] for r in holding}), sorted(from_prs)


def cardless_commits(previous: Snapshot | None) -> dict[str, str]:
    """The repos read without a card before, by the commit sha the Hub said
    has none (404): a commit's files never change, so it is not asked again
    while the repo stays at that commit."""
    models = (previous.manifest.get("sources") or {}).get("models") if previous else None
    return {
        repo_id: model["sha"]
        for repo_id, model in (models or {}).items()
        if isinstance(model, dict)
        and model.get("status") == "ok"
        and model.get("card_sha256") is None
        and isinstance(model.get("sha"), str)
        and is_commit_sha(model["sha"])
    }


def repos_with_open_results(
    previous: Snapshot | None, *, pull_requests_only: bool = False
) -> list[str]:
    """`open_result_repos`' first list (its second: `pull_requests_only`)."""
    holding, from_prs = open_result_repos(previous)
    return from_prs if pull_requests_only else holding


def _fetched(
    run: SourceRun,
    fetches: list[ModelFetch],
    *,
    counts: dict[str, Any],
    state: dict[str, Any] | None,
) -> Fetched[list[ModelFetch]]:
    said = [
        (item.status, f"{item.repo_id}: {item.status}" + f" ({item.detail})" * bool(item.detail))
        for item in fetches
        if item.status not in (None, "no_card")
    ]
    return Fetched(
        fetches,
        description=describe_models(fetches),
        raw_objects=model_raw_objects(RawStore(run.config.data_dir / "raw"), fetches),
        failures=tuple(line for status, line in said if status != "not_recorded"),
        recording_gaps=tuple(line for status, line in said if status == "not_recorded"),
        partial=any(item.status in TRANSIENT_MODEL_STATUSES for item in fetches),
        counts=counts,
        manifest={
            # Why each model lacks fields, so the tables can be rebuilt from raw alone.
            "model_details": {item.repo_id: item.detail for item in fetches if item.detail},
            # Where a population fetch stands: the next one starts from it.
            **({"population": state} if state is not None else {}),
        },
        state=state,
    )


def _plan_counts(plan: FetchPlan, *, models: int) -> dict[str, Any]:
    """How a population was fetched, for the report."""
    return {
        "kind": plan.kind,
        "models": models,
        "listing_pages": plan.listing_pages,
        "listing_bytes": plan.listing_bytes,
        "model_info_checks": plan.model_info_checks,
        "card_requests": plan.card_requests,
        "reused": plan.reused,
        "open_pr_rereads": plan.open_pr_rereads,
    }


MODELS = Models()


def _fetch_population(
    run: SourceRun, tracked: list[str], *, reread: list[str]
) -> tuple[list[ModelFetch], FetchPlan, dict[str, Any]]:
    """A leaderboards population: read off this run's scores (built first),
    fetched from where the newest earlier fetch left off; `reread`: the repos
    with an open PR's results at the previous sync, read again whatever changed."""
    with run.timed("build scores"):
        scores = built_scores(run).scores
    repos = population_repos(scores, tracked=tracked, population=run.config.population)
    earlier = _previous_population(run.store, run.previous)
    fetches, plan = run.stage(
        "fetch models",
        fetch_models_at_scale,
        run.config,
        repos,
        previous_manifest=run.previous.manifest if run.previous is not None else None,
        previous_state=earlier,
        pacer=run.pacer,
        on_progress=run.on_fetch_progress,
        reread=reread,
    )
    started_at = run.started_at.isoformat()
    state = {
        "mode": run.config.population,
        "fetch": plan.kind,
        # When this sync started (our clock) and the newest change the Hub
        # listed then (its clock): the next incremental fetch reads back to
        # the watermark, less a margin.
        "sync_started_at": started_at,
        "watermark": plan.watermark,
        "reconciled_at": (
            started_at if plan.kind == "full" else (earlier or {}).get("reconciled_at")
        ),
        "requests": run.pacer.requests(),
        "rate_limit_wait_seconds": round(run.pacer.waited(), 2),
    }
    return fetches, plan, state


def _previous_population(store: SnapshotStore, previous: Snapshot | None) -> dict[str, Any] | None:
    """The fetch state the next population fetch starts from: the newest run
    that fetched, whether it published (its manifest has the state too) or
    found nothing new (`unchanged`, only its run record has it)."""
    for earlier in reversed(store.runs()):
        state = earlier.get("population")
        if earlier.get("status") in ("published", "unchanged") and isinstance(state, dict):
            return state
    state = previous.manifest.get("population") if previous is not None else None
    return state if isinstance(state, dict) else None


def describe_models(fetches: Sequence[ModelFetch]) -> dict[str, Any]:
    """Each model's sha and the hashes of the bodies read (`sources.models`)."""
    models: dict[str, Any] = {}
    for fetch in fetches:
        models[fetch.repo_id] = {
            "sha": _info_sha(fetch.info_json),
            "status": fetch.status or "ok",
            "card_sha256": hashlib.sha256(fetch.card).hexdigest() if fetch.card else None,
            # Likes and downloads change at the same sha: the body's hash does too.
            "info_sha256": (
                hashlib.sha256(fetch.info_json).hexdigest() if fetch.info_json else None
            ),
        }
    return models


def model_raw_objects(raw: RawStore, fetches: Sequence[ModelFetch]) -> list[dict[str, Any]]:
    """Each model's landed info (a body, or an item of a listing page) and card."""
    entries: list[dict[str, Any]] = []
    for fetch in fetches:
        sha = _info_sha(fetch.info_json)
        revision = sha if isinstance(sha, str) else None
        if fetch.info_object is not None and fetch.info_item is not None:
            entry = raw_entry(raw, "model_listing", fetch.repo_id, revision, fetch.info_object)
            entries.append(entry | {"item": fetch.info_item})
        elif fetch.info_object is not None:
            entries.append(raw_entry(raw, "model_info", fetch.repo_id, revision, fetch.info_object))
        if fetch.card_object is not None:
            entries.append(raw_entry(raw, "model_card", fetch.repo_id, revision, fetch.card_object))
    return in_raw_order(entries)


def _info_sha(info_json: bytes | None) -> Any:
    """The `sha` an API body names, as it is (None when absent or unreadable)."""
    if not info_json:
        return None
    try:
        data = json.loads(info_json)
    except ValueError:
        return None
    return data.get("sha") if isinstance(data, dict) else None
