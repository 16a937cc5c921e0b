"""The sync's stages as plain functions of their inputs: fetch (Hub -> raw
landing), build (raw bytes -> tidy tables), merge (tables + curated ->
catalog, changes), validate, publish. `llmsync.pipeline.run` composes them."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pyarrow as pa

from llmsync.hub.client import HubClient
from llmsync.hub.endpoint import resolve_endpoint
from llmsync.hub.errors import CommitRef, FileNotFound, HubError, RepoNotFound
from llmsync.hub.ids import InvalidIdError, require_repo_id
from llmsync.hub.landing import StoredObject
from llmsync.hub.pacing import RATE_TIERS, Pacer, default_tier
from llmsync.hub.retry import DEFAULT_POLICY, RetryPolicy
from llmsync.pipeline.model_fetch import ModelFetch, fetch_info, with_card
from llmsync.pipeline.report import SyncFailed
from llmsync.pipeline.revision import LeaderboardRevision
from llmsync.store.raw import RawStore
from llmsync.store.snapshots import TABLE_NAMES, Snapshot, SnapshotStore, schema_versions
from llmsync.tables.catalog import build_catalog
from llmsync.tables.changes import PreviousState, diff_snapshot
from llmsync.tables.curated import Curated
from llmsync.tables.leaderboards import (
    LEADERBOARD_FILE,
    LEADERBOARD_REPOS,
    LEADERBOARDS_SINCE_2026,
)
from llmsync.tables.lifecycle import LeaderboardFacts, leaderboards_table
from llmsync.tables.models import model_record, models_table
from llmsync.tables.revisions import DEFAULT_SUSPECT_ROW_LOSS
from llmsync.tables.schemas import LEADERBOARDS, TABLES
from llmsync.tables.validation import RowLossGuard, ValidationError, validate_tables

T = TypeVar("T")

# Statuses that mean the Hub failed us (5xx, 429, resets that outlasted the
# retries), not that the model is as reported: a snapshot holding one of them
# is published, but labelled partial. A gated or missing repo or card
# (`gated`, `card_gated`, `not_found`, `no_card`) is the model's true state,
# and leaves the snapshot complete.
TRANSIENT_MODEL_STATUSES = frozenset({"unavailable", "card_unavailable"})
DEFAULT_CARD_MAX_BYTES = 1_000_000


@dataclass(frozen=True)
class SyncConfig:
    """What one sync needs. The token is not here: the Hub client reads
    `HF_TOKEN` from the environment, so it never travels as a parameter."""

    data_dir: Path
    endpoint: str | None = None
    leaderboards: tuple[str, ...] = LEADERBOARDS
    extra_repos: tuple[str, ...] = ()
    max_revisions: int | None = None
    max_row_loss: float = 0.10
    allow_row_loss: bool = False
    # A leaderboard revision that loses more than this share of the previous
    # applied revision's rows is `suspect` and not applied (see tables.revisions).
    suspect_row_loss: float = DEFAULT_SUSPECT_ROW_LOSS
    # Leaderboard revisions downloaded at once on a backfill.
    download_workers: int = 4
    card_max_bytes: int = DEFAULT_CARD_MAX_BYTES
    curated_path: Path | None = None
    # How the Hub client retries. Production keeps the default (which honours
    # `Retry-After` up to its cap); tests pass a policy with tiny delays so a
    # run through dozens of injected faults takes a second, not minutes.
    retry_policy: RetryPolicy = DEFAULT_POLICY
    # Which models to fetch: `curated` (the curated file's repos and
    # `extra_repos`) or `leaderboards` (also every repo either leaderboard names).
    population: str = "curated"
    # The rate-limit tier assumed until the server's RateLimit headers say
    # otherwise: none | anonymous | free | pro; None: on huggingface.co free
    # with a token, else anonymous; on any other endpoint none (no pacing).
    rate_tier: str | None = None
    # Requests in flight at once, all under one pacer.
    concurrency: int = 8
    # A leaderboards sync reads every author's listing again at least this
    # often; between, it reads only what the Hub lists as changed.
    reconcile_days: float = 7.0
    # How far before the previous sync's watermark the changed listing is read.
    since_margin_hours: float = 1.0
    # The day eval results are observed on (`eval_results` intervals open and
    # close on it); None: today (UTC). A replay as of a date passes that date.
    observed_on: dt.date | None = None

    def __post_init__(self) -> None:
        if self.population not in ("curated", "leaderboards"):
            raise ValueError(f"population must be curated or leaderboards, not {self.population!r}")
        if self.rate_tier is not None and self.rate_tier not in RATE_TIERS:
            raise ValueError(f"rate tier must be one of {RATE_TIERS}, not {self.rate_tier!r}")
        if self.concurrency < 1 or self.reconcile_days < 0 or self.since_margin_hours < 0:
            raise ValueError("concurrency must be >= 1; reconcile_days and margin >= 0")


@dataclass(frozen=True)
class Merged:
    tables: dict[str, pa.Table]
    conflicts: list[str]
    unmatched_aliases: list[str]


# -- stages ----------------------------------------------------------------


def make_pacer(config: SyncConfig) -> Pacer:
    """One pacer per run: every request of the run goes through it."""
    token = bool(os.environ.get("HF_TOKEN"))
    endpoint = resolve_endpoint(config.endpoint)
    return Pacer(config.rate_tier or default_tier(token=token, endpoint=endpoint))


def make_client(config: SyncConfig, *, pacer: Pacer | None = None) -> HubClient:
    return HubClient(
        endpoint=config.endpoint,
        raw_store=RawStore(config.data_dir / "raw"),
        policy=config.retry_policy,
        pacer=pacer,
    )


def fetch_leaderboards(
    config: SyncConfig, *, pacer: Pacer | None = None
) -> list[LeaderboardRevision]:
    """Land every revision of each leaderboard's table (newest first).

    Revisions are immutable, so one landed before is read from `data/raw/`
    without asking the Hub. A leaderboard that cannot be listed or fetched
    fails the run: a snapshot without it would be a lie by omission.
    """
    client = make_client(config, pacer=pacer)
    raw = RawStore(config.data_dir / "raw")
    landed: list[LeaderboardRevision] = []
    for leaderboard in config.leaderboards:
        repo_id = LEADERBOARD_REPOS[leaderboard]
        try:
            commits = client.list_commits(repo_id, repo_type="dataset")
        except HubError as exc:
            if isinstance(exc, RepoNotFound) and leaderboard in LEADERBOARDS_SINCE_2026:
                continue  # not there yet (a replay as of an earlier date)
            raise SyncFailed(f"leaderboard {leaderboard} ({repo_id}) unavailable: {exc}") from exc
        if config.max_revisions is not None:
            commits = commits[: config.max_revisions]
        found = _land_all(
            client, raw, leaderboard, repo_id, commits, workers=config.download_workers
        )
        if not found:
            raise SyncFailed(f"leaderboard {leaderboard} ({repo_id}) has no table to read")
        landed.extend(found)
    return landed


def _land_all(
    client: HubClient,
    raw: RawStore,
    leaderboard: str,
    repo_id: str,
    commits: Sequence[CommitRef],
    *,
    workers: int,
) -> list[LeaderboardRevision]:
    """Each commit's table, in the commits' order. The newest is fetched alone
    first, so a Hub that refuses fails once, not once per worker; the rest go
    `workers` at a time. On a failure the downloads not yet started are
    dropped; every file that landed stays landed for the next run."""
    if not commits:
        return []
    results: list[LeaderboardRevision | None] = [
        _land_one(client, raw, leaderboard, repo_id, commits[0])
    ]
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures: list[Future[LeaderboardRevision | None]] = [
            pool.submit(_land_one, client, raw, leaderboard, repo_id, commit)
            for commit in commits[1:]
        ]
        try:
            results.extend(future.result() for future in futures)
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    return [item for item in results if item is not None]


def _land_one(
    client: HubClient, raw: RawStore, leaderboard: str, repo_id: str, commit: CommitRef
) -> LeaderboardRevision | None:
    stored = raw.get(repo_id, LEADERBOARD_FILE, repo_type="dataset", revision=commit.sha)
    if stored is None:
        try:
            file = client.download(
                repo_id, LEADERBOARD_FILE, repo_type="dataset", revision=commit.sha
            )
        except FileNotFound:
            # That commit predates the table (or dropped it): nothing to read there.
            return None
        except HubError as exc:
            raise SyncFailed(
                f"leaderboard {leaderboard} at {commit.sha[:10]} unavailable: {exc}"
            ) from exc
        stored = StoredObject(file.path, file.sha256, file.size)
    date = commit.date.date()
    return LeaderboardRevision(leaderboard, repo_id, commit.sha, date, stored.path, stored)


def tracked_repos(curated: Curated, extra: Sequence[str] = ()) -> list[str]:
    seen: dict[str, None] = {}
    for item in curated.repos():
        seen.setdefault(item.repo_id, None)
    for repo_id in extra:
        seen.setdefault(repo_id, None)
    return list(seen)


def _fetch_one_model(client: HubClient, repo_id: str, *, card_max_bytes: int) -> ModelFetch:
    try:
        require_repo_id(repo_id)
    except InvalidIdError as exc:
        return ModelFetch(repo_id, None, None, "invalid_repo_id", str(exc))
    base, hub_id, sha = fetch_info(client, repo_id)
    if base.info_object is None:  # no info: the status says why
        return base
    return with_card(client, base, hub_id=hub_id, sha=sha, max_bytes=card_max_bytes)


def fetch_models(
    config: SyncConfig, repo_ids: Sequence[str], *, pacer: Pacer | None = None
) -> list[ModelFetch]:
    """Land model info and card for each repo. A model that fails costs its
    own row's fields (with the reason), never the run."""
    client = make_client(config, pacer=pacer)
    return [
        _fetch_one_model(client, repo_id, card_max_bytes=config.card_max_bytes)
        for repo_id in repo_ids
    ]


def build_models(fetches: Sequence[ModelFetch]) -> pa.Table:
    records = [
        model_record(
            item.repo_id,
            info_json=item.info_json,
            card=item.card,
            status=item.status,
            detail=item.detail,
        )
        for item in fetches
    ]
    return models_table(records)


def describe_sources(
    revisions: Sequence[LeaderboardRevision],
    fetches: Sequence[ModelFetch],
    *,
    curated_sha256: str,
) -> dict[str, Any]:
    """Every upstream revision a snapshot is built from."""
    leaderboards: dict[str, Any] = {}
    for item in revisions:
        entry = leaderboards.setdefault(
            item.leaderboard, {"repo_id": item.repo_id, "revisions": []}
        )
        entry["revisions"].append({"revision": item.revision, "date": item.date.isoformat()})
    models: dict[str, Any] = {}
    for fetch in fetches:
        sha = _info_sha(fetch.info_json)
        models[fetch.repo_id] = {
            "sha": sha,
            "status": fetch.status or "ok",
            "card_sha256": hashlib.sha256(fetch.card).hexdigest() if fetch.card else None,
            # Likes and downloads change at the same sha: the body's hash does too.
            "info_sha256": (
                hashlib.sha256(fetch.info_json).hexdigest() if fetch.info_json else None
            ),
        }
    return {"leaderboards": leaderboards, "models": models, "curated_sha256": curated_sha256}


def describe_raw_objects(
    raw: RawStore,
    revisions: Sequence[LeaderboardRevision],
    fetches: Sequence[ModelFetch],
    *,
    curated: StoredObject | None = None,
) -> list[dict[str, Any]]:
    """Every landed object a snapshot's tables are built from: what kind of
    object, whose, at which revision, its path under `data/raw/` and sha256.
    A rebuild reads exactly these, and checks each against its sha256."""
    entries: list[dict[str, Any]] = []

    def add(kind: str, repo_id: str | None, revision: str | None, stored: StoredObject) -> None:
        entries.append(
            {
                "kind": kind,
                "repo_id": repo_id,
                "revision": revision,
                "path": raw.relative(stored.path),
                "sha256": stored.sha256,
                "bytes": stored.size,
            }
        )

    if curated is not None:
        add("curated", None, None, curated)
    for item in revisions:
        add("leaderboard", item.repo_id, item.revision, item.stored or raw.stored(item.path))
    for fetch in fetches:
        sha = _info_sha(fetch.info_json)
        revision = sha if isinstance(sha, str) else None
        if fetch.info_object is not None and fetch.info_item is not None:
            add("model_listing", fetch.repo_id, revision, fetch.info_object)
            entries[-1]["item"] = fetch.info_item
        elif fetch.info_object is not None:
            add("model_info", fetch.repo_id, revision, fetch.info_object)
        if fetch.card_object is not None:
            add("model_card", fetch.repo_id, revision, fetch.card_object)
    return sorted(
        entries, key=lambda entry: (entry["kind"], entry["path"], entry.get("item") or "")
    )


def _info_sha(info_json: bytes | None) -> Any:
    """The `sha` an API body names, as it is (None when absent or unreadable)."""
    if not info_json:
        return None
    try:
        data = json.loads(info_json)
    except ValueError:
        return None
    return data.get("sha") if isinstance(data, dict) else None


def fingerprint(sources: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(sources, sort_keys=True).encode()).hexdigest()


def previous_state(previous: Snapshot | None) -> PreviousState | None:
    """What `changes` compares with: the previous snapshot's models and the
    revisions it had read (from its manifest, which every shape has)."""
    if previous is None:
        return None
    leaderboards = previous.manifest.get("sources", {}).get("leaderboards", {})
    return PreviousState(
        snapshot_id=previous.snapshot_id,
        models=previous.read_table("models"),
        revisions={
            name: [item["revision"] for item in entry["revisions"]]
            for name, entry in leaderboards.items()
        },
    )


def merge(
    curated: Curated,
    *,
    scores: pa.Table,
    revisions: pa.Table,
    models: pa.Table,
    previous: Snapshot | None,
    leaderboard_facts: LeaderboardFacts,
) -> Merged:
    result = build_catalog(curated, models=models, scores=scores, revisions=revisions)
    changes = diff_snapshot(
        previous_state(previous), models=models, scores=scores, revisions=revisions
    )
    return Merged(
        tables={
            "catalog": result.table,
            "models": models,
            "scores": scores,
            "revisions": revisions,
            "changes": changes,
            "leaderboards": leaderboards_table(leaderboard_facts, revisions=revisions),
        },
        conflicts=list(result.conflicts),
        unmatched_aliases=list(result.unmatched_aliases),
    )


def validate(
    tables: dict[str, pa.Table], *, previous: Snapshot | None, guard: RowLossGuard
) -> dict[str, pa.Table]:
    checked = validate_tables(tables)
    # An empty score table is never the truth about the Open LLM Leaderboard.
    if checked["scores"].num_rows == 0:
        raise ValidationError("scores: the table is empty")
    if previous is not None:
        # A table written in another shape (an older llmsync's scores held one
        # row per export and benchmark) has row counts that say nothing of loss.
        versions = schema_versions(previous.manifest)
        entries = previous.manifest.get("tables", {})
        previous_rows = {
            name: int(entries[name].get("rows", 0))
            for name in TABLE_NAMES  # data tables first: their loss is the one to name
            if name in entries and versions.get(name) == TABLES[name].version
        }
        guard.check(
            previous_rows=previous_rows,
            current_rows={name: table.num_rows for name, table in checked.items()},
        )
    return checked


def publish(
    store: SnapshotStore, tables: dict[str, pa.Table], *, manifest: dict[str, Any]
) -> Snapshot:
    return store.publish({name: tables[name] for name in TABLE_NAMES}, manifest=manifest)
