"""The sync's stages as plain functions of their inputs: fetch (Hub -> raw
landing; the sources in `llmsync.pipeline.sources` call these and their own),
build (raw bytes -> tidy tables), merge (tables + curated -> catalog,
changes), validate, publish. `llmsync.pipeline.run` composes them."""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import hashlib
import json
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from llmsync import __version__
from llmsync.hub.client import HubClient
from llmsync.hub.endpoint import resolve_endpoint
from llmsync.hub.ids import InvalidIdError, require_repo_id
from llmsync.hub.pacing import RATE_TIERS, Pacer, default_tier
from llmsync.hub.retry import DEFAULT_POLICY, RetryPolicy
from llmsync.pipeline.model_fetch import ModelFetch, fetch_info, with_card
from llmsync.pipeline.threads import map_in_threads
from llmsync.store.encoding import Encoded, encode_table
from llmsync.store.raw import RawStore
from llmsync.store.snapshots import TABLE_NAMES, Snapshot, SnapshotStore, schema_versions
from llmsync.tables.catalog import build_catalog
from llmsync.tables.changes import PreviousState, diff_snapshot
from llmsync.tables.curated import Curated
from llmsync.tables.lifecycle import LeaderboardFacts, leaderboards_table
from llmsync.tables.models import model_record, models_table
from llmsync.tables.revisions import DEFAULT_SUSPECT_ROW_LOSS
from llmsync.tables.schemas import LEADERBOARDS, TABLES
from llmsync.tables.validation import RowLossGuard, ValidationError, validate_tables

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
    download_workers: int = 8
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
    # The instant eval results are observed at (timezone-aware); overrides
    # `observed_on`. None: midnight of `observed_on`, else now (UTC).
    observed_at: dt.datetime | None = None

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


def tracked_repos(curated: Curated, extra: Sequence[str] = ()) -> list[str]:
    seen: dict[str, None] = {}
    for item in curated.repos():
        seen.setdefault(item.repo_id, None)
    for repo_id in extra:
        seen.setdefault(repo_id, None)
    return list(seen)


def _fetch_one_model(
    client: HubClient, repo_id: str, *, card_max_bytes: int, cardless: Mapping[str, str]
) -> ModelFetch:
    try:
        require_repo_id(repo_id)
    except InvalidIdError as exc:
        return ModelFetch(repo_id, None, None, "invalid_repo_id", str(exc))
    base, hub_id, sha = fetch_info(client, repo_id)
    if base.info_object is None:  # no info: the status says why
        return base
    if isinstance(sha, str) and cardless.get(repo_id) == sha:
        return base  # the Hub said before that this commit has no card; a commit never changes
    return with_card(client, base, hub_id=hub_id, sha=sha, max_bytes=card_max_bytes)


def fetch_models(
    config: SyncConfig,
    repo_ids: Sequence[str],
    *,
    pacer: Pacer | None = None,
    cardless: Mapping[str, str] | None = None,
    more: Callable[[], Sequence[str]] | None = None,
) -> list[ModelFetch]:
    """Land model info and card for each repo. A model that fails costs its
    own row's fields (with the reason), never the run. `cardless`: repos whose
    card was missing (404) at a commit sha, by that sha: not asked again there.
    `more`: repos known only later (it waits for another source), fetched
    once it answers while `repo_ids` are under way; those not in `repo_ids`
    follow them in the result."""
    client = make_client(config, pacer=pacer)

    def one(repo_id: str) -> ModelFetch:
        return _fetch_one_model(
            client, repo_id, card_max_bytes=config.card_max_bytes, cardless=cardless or {}
        )

    # Each model's requests wait on the Hub alone: `download_workers` go at
    # once (the pacer keeps them within the rate limits), results in order.
    workers = config.download_workers
    if more is None:
        return map_in_threads(one, repo_ids, workers=workers)
    with ThreadPoolExecutor(max_workers=1) as side:
        context = contextvars.copy_context()
        first = side.submit(context.run, map_in_threads, one, repo_ids, workers=workers)
        asked = set(repo_ids)
        later = [repo_id for repo_id in dict.fromkeys(more()) if repo_id not in asked]
        rest = map_in_threads(one, later, workers=workers)
        return first.result() + rest


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


@dataclass(frozen=True)
class Checked:
    """The validated tables, each as it will be published."""

    tables: dict[str, pa.Table]
    encoded: dict[str, Encoded]
    # Tables with the very bytes of the previous snapshot's, whose checks passed
    # when it was published: their checks were not run again.
    proven: frozenset[str]


def _encoded(tables: dict[str, pa.Table]) -> dict[str, Encoded]:
    """Each table that fits its schema, encoded as published (the others are
    left to validation, which names what is wrong)."""
    out = {}
    for name in TABLE_NAMES:
        names = TABLES[name].schema.names
        if name in tables and tables[name].column_names == names:
            with contextlib.suppress(ValueError, pa.ArrowException):
                out[name] = encode_table(name, tables[name])
    return out


def _published_before(encoded: dict[str, Encoded], previous: Snapshot | None) -> frozenset[str]:
    """The tables whose bytes equal the previous snapshot's (its manifest's
    sha256), of the same schema version, published by this llmsync: checked
    by the same rules when that snapshot was published."""
    if previous is None or previous.manifest.get("code_version") != __version__:
        return frozenset()
    entries, versions = previous.manifest.get("tables", {}), schema_versions(previous.manifest)
    return frozenset(
        name
        for name, table in encoded.items()
        if entries.get(name, {}).get("sha256") == table.sha256
        and versions.get(name) == TABLES[name].version
    )


def validate(
    tables: dict[str, pa.Table], *, previous: Snapshot | None, guard: RowLossGuard
) -> Checked:
    encoded = _encoded(tables)
    proven = _published_before(encoded, previous)
    checked = validate_tables(tables, proven=proven)
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
    return Checked(checked, encoded, proven)


def publish(store: SnapshotStore, checked: Checked, *, manifest: dict[str, Any]) -> Snapshot:
    return store.publish(
        {name: checked.tables[name] for name in TABLE_NAMES},
        manifest=manifest,
        encoded=checked.encoded,
    )
