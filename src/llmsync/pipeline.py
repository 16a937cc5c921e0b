"""The sync's stages as plain functions, and the one composition of them.

Each stage is a function of its inputs: fetch (Hub -> raw landing), build
(raw bytes -> tidy tables), merge (tables + curated -> catalog, changes),
validate, publish. `run_sync` composes them; the Prefect flow in `flows/`
runs the same composition with every stage wrapped as a task, so the two can
never drift apart.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

import pyarrow as pa

from llmsync import __version__
from llmsync.catalog import build_catalog
from llmsync.changes import diff_tables
from llmsync.curated import Curated, load_curated
from llmsync.hub_client import (
    FileNotFound,
    Gated,
    HubClient,
    HubError,
    RepoNotFound,
    TooLarge,
)
from llmsync.ids import InvalidIdError, require_repo_id
from llmsync.leaderboards import LEADERBOARD_FILE, LEADERBOARD_REPOS, parse_leaderboard
from llmsync.models_table import model_record, models_table
from llmsync.raw_store import RawStore
from llmsync.retry import DEFAULT_POLICY, RetryPolicy
from llmsync.schemas import LEADERBOARDS, SCORES
from llmsync.secrets import redact
from llmsync.snapshots import TABLE_NAMES, RunRecord, Snapshot, SnapshotStore
from llmsync.validation import RowLossGuard, ValidationError, validate_tables

T = TypeVar("T")

# Statuses that mean the Hub failed us, not that the model is as reported:
# a snapshot holding one of them is published, but labelled partial.
TRANSIENT_MODEL_STATUSES = frozenset({"unavailable", "card_unavailable"})
DEFAULT_CARD_MAX_BYTES = 1_000_000


class SyncFailed(RuntimeError):
    """The run published nothing; `str(exc)` is the one-line reason."""

    def __init__(self, reason: str, *, report: SyncReport | None = None) -> None:
        super().__init__(reason)
        self.report = report


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
    card_max_bytes: int = DEFAULT_CARD_MAX_BYTES
    curated_path: Path | None = None
    # How the Hub client retries. Production keeps the default (which honours
    # `Retry-After` up to its cap); tests pass a policy with tiny delays so a
    # run through dozens of injected faults takes a second, not minutes.
    retry_policy: RetryPolicy = DEFAULT_POLICY


@dataclass(frozen=True)
class LeaderboardRevision:
    leaderboard: str
    repo_id: str
    revision: str
    date: dt.date
    path: Path


@dataclass(frozen=True)
class ModelFetch:
    repo_id: str
    info_json: bytes | None
    card: bytes | None
    status: str | None
    detail: str | None


@dataclass(frozen=True)
class Merged:
    tables: dict[str, pa.Table]
    conflicts: list[str]
    unmatched_aliases: list[str]


@dataclass
class SyncReport:
    """What a run did, for the CLI summary, the run log and the Prefect artifact."""

    run_id: str
    status: str
    snapshot: str | None
    endpoint: str
    reason: str | None = None
    partial: bool = False
    row_counts: dict[str, int] = field(default_factory=dict)
    change_counts: dict[str, int] = field(default_factory=dict)
    change_examples: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    unmatched_aliases: list[str] = field(default_factory=list)
    sources: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}

    def to_markdown(self) -> str:
        lines = [f"# llmsync sync: {self.status}", ""]
        lines.append(f"- run: `{self.run_id}`")
        lines.append(f"- snapshot: `{self.snapshot or 'none'}`")
        lines.append(f"- hub: {self.endpoint}")
        if self.reason:
            lines.append(f"- reason: {self.reason}")
        if self.partial:
            lines.append("- **partial**: some models could not be fetched (see failures)")
        if self.row_counts:
            lines += ["", "| table | rows |", "|---|---:|"]
            lines += [f"| {name} | {rows:,} |" for name, rows in self.row_counts.items()]
        if self.change_counts:
            lines += ["", "## Changes", "", "| kind | count |", "|---|---:|"]
            lines += [f"| {kind} | {n:,} |" for kind, n in sorted(self.change_counts.items())]
            lines += ["", *[f"- {example}" for example in self.change_examples]]
        for title, items in (
            ("Failures", self.failures),
            ("Curated vs Hub conflicts", self.conflicts),
            ("Unmatched aliases", self.unmatched_aliases),
        ):
            if items:
                lines += ["", f"## {title}", "", *[f"- {item}" for item in items]]
        if self.seconds:
            timing = ", ".join(f"{k} {v:.1f}s" for k, v in self.seconds.items())
            lines += ["", f"Stage times: {timing}"]
        return redact("\n".join(lines) + "\n")


# -- stages ----------------------------------------------------------------


def make_client(config: SyncConfig) -> HubClient:
    return HubClient(
        endpoint=config.endpoint,
        raw_store=RawStore(config.data_dir / "raw"),
        policy=config.retry_policy,
    )


def fetch_leaderboards(config: SyncConfig) -> list[LeaderboardRevision]:
    """Land every revision of each leaderboard's table (newest first).

    Revisions are immutable, so one landed before is read from `data/raw/`.
    A leaderboard that cannot be listed or fetched fails the run: a snapshot
    without it would be a lie by omission.
    """
    client = make_client(config)
    landed: list[LeaderboardRevision] = []
    for leaderboard in config.leaderboards:
        repo_id = LEADERBOARD_REPOS[leaderboard]
        try:
            commits = client.list_commits(repo_id, repo_type="dataset")
        except HubError as exc:
            raise SyncFailed(f"leaderboard {leaderboard} ({repo_id}) unavailable: {exc}") from exc
        if config.max_revisions is not None:
            commits = commits[: config.max_revisions]
        for commit in commits:
            try:
                file = client.download(
                    repo_id, LEADERBOARD_FILE, repo_type="dataset", revision=commit.sha
                )
            except FileNotFound:
                # That commit predates the table (or dropped it): nothing to read there.
                continue
            except HubError as exc:
                raise SyncFailed(
                    f"leaderboard {leaderboard} at {commit.sha[:10]} unavailable: {exc}"
                ) from exc
            landed.append(
                LeaderboardRevision(leaderboard, repo_id, commit.sha, commit.date.date(), file.path)
            )
        if not any(item.leaderboard == leaderboard for item in landed):
            raise SyncFailed(f"leaderboard {leaderboard} ({repo_id}) has no table to read")
    return landed


def build_scores(revisions: Sequence[LeaderboardRevision]) -> pa.Table:
    tables = []
    for item in revisions:
        try:
            tables.append(
                parse_leaderboard(
                    item.path.read_bytes(),
                    leaderboard=item.leaderboard,
                    source_revision=item.revision,
                    source_date=item.date,
                )
            )
        except ValueError as exc:
            raise SyncFailed(
                f"leaderboard {item.leaderboard} at {item.revision[:10]} is malformed: {exc}"
            ) from exc
    if not tables:
        return SCORES.schema.empty_table()
    return pa.concat_tables(tables).cast(SCORES.schema)


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
    try:
        info = client.model_info(repo_id)
    except RepoNotFound as exc:
        return ModelFetch(repo_id, None, None, "not_found", redact(str(exc)))
    except Gated as exc:
        return ModelFetch(repo_id, None, None, "gated", redact(str(exc)))
    except HubError as exc:
        return ModelFetch(repo_id, None, None, "unavailable", redact(str(exc)))
    try:
        card = client.model_card(repo_id, revision=info.revision, max_bytes=card_max_bytes)
    except TooLarge as exc:
        return ModelFetch(repo_id, info.raw, None, "card_too_large", redact(str(exc)))
    except HubError as exc:
        # Failing, gated or gone after the info came back: the card alone is lost.
        return ModelFetch(repo_id, info.raw, None, "card_unavailable", redact(str(exc)))
    return ModelFetch(repo_id, info.raw, card.read_bytes() if card else None, None, None)


def fetch_models(config: SyncConfig, repo_ids: Sequence[str]) -> list[ModelFetch]:
    """Land model info and card for each repo. A model that fails costs its
    own row's fields (with the reason), never the run."""
    client = make_client(config)
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
        sha = None
        if fetch.info_json:
            try:
                sha = json.loads(fetch.info_json).get("sha")
            except ValueError:
                sha = None
        models[fetch.repo_id] = {
            "sha": sha,
            "status": fetch.status or "ok",
            "card_sha256": hashlib.sha256(fetch.card).hexdigest() if fetch.card else None,
        }
    return {"leaderboards": leaderboards, "models": models, "curated_sha256": curated_sha256}


def fingerprint(sources: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(sources, sort_keys=True).encode()).hexdigest()


def read_previous(previous: Snapshot | None) -> dict[str, pa.Table] | None:
    if previous is None:
        return None
    return {name: previous.read_table(name) for name in ("models", "scores", "catalog")}


def merge(
    curated: Curated,
    *,
    scores: pa.Table,
    models: pa.Table,
    previous: Snapshot | None,
) -> Merged:
    result = build_catalog(curated, models=models, scores=scores)
    current = {"models": models, "scores": scores, "catalog": result.table}
    changes = diff_tables(
        read_previous(previous),
        current,
        previous_snapshot=previous.snapshot_id if previous else None,
    )
    return Merged(
        tables={**current, "changes": changes},
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
        previous_rows = {
            name: int(entry.get("rows", 0))
            for name, entry in previous.manifest.get("tables", {}).items()
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


# -- composition -------------------------------------------------------------


class StageRunner(Protocol):
    """Runs one named stage. The plain runner calls it; the Prefect runner
    runs it as a task (with retries where the failure may be transient)."""

    def __call__(self, name: str, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T: ...


def run_plain(name: str, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    return fn(*args, **kwargs)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return redact(text)


def _summarise_changes(changes: pa.Table) -> tuple[dict[str, int], list[str]]:
    counts: dict[str, int] = {}
    for kind in changes.column("change_kind").to_pylist():
        counts[kind] = counts.get(kind, 0) + 1
    examples: list[str] = []
    for row in changes.slice(0, 2000).to_pylist():
        if len(examples) >= 10:
            break
        if row["change_kind"] == "score_changed" and row["repo_id"]:
            examples.append(
                f"{row['repo_id']} {row['leaderboard']} {row['benchmark']}: "
                f"{row['old_score']} -> {row['new_score']}"
            )
        elif row["change_kind"] in {"model_added", "model_removed", "license_changed"}:
            examples.append(f"{row['change_kind']}: {row['repo_id']} {row['new_value'] or ''}")
    return counts, examples


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
) -> SyncReport:
    """One sync: publishes a correct snapshot, records an unchanged run, or
    publishes nothing and raises SyncFailed with a one-line reason."""
    store = SnapshotStore(config.data_dir)
    endpoint = make_client(config).endpoint
    with store.lock():
        record: RunRecord = store.start_run(flow_run_id=flow_run_id)
        report = SyncReport(
            run_id=record.run_id, status="running", snapshot=None, endpoint=endpoint
        )
        try:
            _run_stages(config, store, record, report, run_stage=run_stage, progress=progress)
        except Exception as exc:
            reason = _one_line(exc)
            report.status, report.reason = "failed", reason
            record.failures = report.failures
            store.finish_run(record, status="failed", snapshot=None, reason=reason)
            raise SyncFailed(reason, report=report) from exc
        return report


def _run_stages(
    config: SyncConfig,
    store: SnapshotStore,
    record: RunRecord,
    report: SyncReport,
    *,
    run_stage: StageRunner,
    progress: Callable[[str], None],
) -> None:
    curated = load_curated(config.curated_path)
    previous = store.latest()

    with _timed(report, "fetch leaderboards", progress):
        revisions = run_stage("fetch leaderboards", fetch_leaderboards, config)
    with _timed(report, "fetch models", progress):
        repos = tracked_repos(curated, config.extra_repos)
        fetches = run_stage("fetch models", fetch_models, config, repos)

    report.failures = [
        f"{item.repo_id}: {item.status}" + (f" ({item.detail})" if item.detail else "")
        for item in fetches
        if item.status not in (None, "no_card")
    ]
    report.partial = any(item.status in TRANSIENT_MODEL_STATUSES for item in fetches)
    sources = describe_sources(revisions, fetches, curated_sha256=curated.sha256)
    report.sources = sources
    sources_id = fingerprint(sources)

    if previous is not None and previous.sources_fingerprint == sources_id:
        report.status, report.snapshot = "unchanged", previous.snapshot_id
        report.row_counts = {k: int(v["rows"]) for k, v in previous.manifest["tables"].items()}
        record.row_counts = report.row_counts
        store.finish_run(record, status="unchanged", snapshot=previous.snapshot_id)
        progress(f"unchanged: every upstream revision matches snapshot {previous.snapshot_id}")
        return

    with _timed(report, "build tables", progress):
        scores = run_stage("build scores", build_scores, revisions)
        models = run_stage("build models", build_models, fetches)
    with _timed(report, "merge", progress):
        merged = run_stage("merge", merge, curated, scores=scores, models=models, previous=previous)
    report.conflicts, report.unmatched_aliases = merged.conflicts, merged.unmatched_aliases
    guard = RowLossGuard(max_loss=config.max_row_loss, allow=config.allow_row_loss)
    with _timed(report, "validate", progress):
        checked = run_stage("validate", validate, merged.tables, previous=previous, guard=guard)
    report.row_counts = {name: checked[name].num_rows for name in TABLE_NAMES}
    report.change_counts, report.change_examples = _summarise_changes(checked["changes"])

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
        "failures": report.failures,
        # Why each model lacks fields, so the tables can be rebuilt from raw alone.
        "model_details": {item.repo_id: item.detail for item in fetches if item.detail},
        "conflicts": report.conflicts,
        "unmatched_aliases": report.unmatched_aliases,
    }
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


# -- rebuilding from the raw landing -------------------------------------------


def rebuild_from_raw(
    store: SnapshotStore, snapshot: Snapshot, *, curated_path: Path | None = None
) -> dict[str, pa.Table]:
    """A snapshot's tables made again from `data/raw/` and its manifest alone,
    with no network: the proof that processed data is a function of raw data."""
    raw = RawStore(store.data_dir / "raw")
    manifest = snapshot.manifest
    sources = manifest["sources"]
    curated = load_curated(curated_path)
    if curated.sha256 != sources.get("curated_sha256"):
        raise SyncFailed("the curated file changed since this snapshot; rebuild needs the same one")

    revisions: list[LeaderboardRevision] = []
    for leaderboard, entry in sources["leaderboards"].items():
        for item in entry["revisions"]:
            path = raw.get(
                entry["repo_id"], LEADERBOARD_FILE, repo_type="dataset", revision=item["revision"]
            )
            if path is None:
                raise SyncFailed(f"raw landing lacks {leaderboard} at {item['revision'][:10]}")
            date = dt.date.fromisoformat(item["date"])
            revisions.append(
                LeaderboardRevision(leaderboard, entry["repo_id"], item["revision"], date, path)
            )

    details: dict[str, str] = manifest.get("model_details", {})
    fetches: list[ModelFetch] = []
    for repo_id, model in sources["models"].items():
        info = card = None
        if model["sha"]:
            info_path = raw.get_api_info(repo_id, revision=model["sha"])
            info = info_path.read_bytes() if info_path else None
            card_path = (
                raw.get(repo_id, "README.md", repo_type="model", revision=model["sha"])
                if model["card_sha256"]
                else None
            )
            card = card_path.read_bytes() if card_path else None
        # "ok" covers what the tables derive themselves (no card, parse errors).
        status = None if model["status"] == "ok" else model["status"]
        fetches.append(ModelFetch(repo_id, info, card, status, details.get(repo_id)))

    previous_id = manifest.get("previous_snapshot")
    previous = next((s for s in store.snapshots() if s.snapshot_id == previous_id), None)
    merged = merge(
        curated, scores=build_scores(revisions), models=build_models(fetches), previous=previous
    )
    return validate_tables(merged.tables)


def compare_with_snapshot(snapshot: Snapshot, rebuilt: dict[str, pa.Table]) -> dict[str, bool]:
    """For each table, whether the rebuilt one equals the published one."""
    return {name: snapshot.read_table(name).equals(rebuilt[name]) for name in TABLE_NAMES}
