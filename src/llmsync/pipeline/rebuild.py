"""Rebuilding a snapshot from the raw landing alone, offline: the proof that
processed data is a function of raw data (`llmsync verify`).

A snapshot's manifest names every raw object its tables were built from
(`raw_objects`: kind, repo, revision, path under `data/raw/`, sha256). A
rebuild reads exactly those objects, each checked against its sha256, so a
later sync (which only ever adds objects) can never change what an earlier
snapshot rebuilds from, and an object changed on disk is named, never used.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa

from llmsync.hub.ids import is_commit_sha
from llmsync.pipeline.evals import (
    EvalTables,
    Observed,
    benchmarks_from_manifest,
    build_eval_tables,
    gone_models,
    prior_eval_results,
    with_eval_tables,
)
from llmsync.pipeline.landed import ListingReader
from llmsync.pipeline.model_fetch import ModelFetch
from llmsync.pipeline.report import SyncFailed
from llmsync.pipeline.revision import LeaderboardRevision
from llmsync.pipeline.scores import build_scores
from llmsync.pipeline.stages import build_models, merge
from llmsync.store.raw import MissingObject, RawObjectError, RawStore
from llmsync.store.snapshots import TABLE_NAMES, Snapshot, SnapshotStore, schema_versions
from llmsync.tables.curated import Curated, load_curated
from llmsync.tables.eval_results import midnight
from llmsync.tables.leaderboards import LEADERBOARD_FILE
from llmsync.tables.lifecycle import LeaderboardFacts, parse_leaderboard_facts
from llmsync.tables.revisions import DEFAULT_SUSPECT_ROW_LOSS
from llmsync.tables.schemas import TABLES
from llmsync.tables.validation import validate_tables

# What llmsync before 0.2 landed a model's info as, overwritten by every sync.
_LEGACY_API_INFO = "api-info.json"


def raw_objects(snapshot: Snapshot, raw: RawStore) -> list[dict[str, Any]]:
    """The raw objects a snapshot was built from. A snapshot from before they
    were recorded gets the paths that llmsync used then, with no sha256 but
    its cards' (which its sources hold): those bytes are read unchecked."""
    entries = snapshot.manifest.get("raw_objects")
    if isinstance(entries, list):
        return entries
    sources = snapshot.manifest["sources"]
    legacy: list[dict[str, Any]] = []

    def add(kind: str, repo_id: str, repo_type: str, revision: str, path: str, sha: Any) -> None:
        landed = raw.path_for(repo_id, path, repo_type=repo_type, revision=revision)
        legacy.append(
            {
                "kind": kind,
                "repo_id": repo_id,
                "revision": revision,
                "path": raw.relative(landed),
                "sha256": sha,
            }
        )

    for entry in sources["leaderboards"].values():
        for item in entry["revisions"]:
            add(
                "leaderboard", entry["repo_id"], "dataset", item["revision"], LEADERBOARD_FILE, None
            )
    for repo_id, model in sources["models"].items():
        sha = model.get("sha")
        if isinstance(sha, str) and is_commit_sha(sha):
            add("model_info", repo_id, "model", sha, _LEGACY_API_INFO, None)
            if model.get("card_sha256"):
                add("model_card", repo_id, "model", sha, "README.md", model["card_sha256"])
    return legacy


def check_raw_objects(store: SnapshotStore, snapshot: Snapshot) -> list[str]:
    """Each of the snapshot's raw objects that is missing or changed, one line each."""
    raw = RawStore(store.data_dir / "raw")
    problems: list[str] = []
    seen: set[tuple[str, str]] = set()
    for entry in raw_objects(snapshot, raw):
        # A listing page holds many models' items: it is checked once.
        key = (str(entry["path"]), str(entry["sha256"]))
        if key in seen:
            continue
        seen.add(key)
        try:
            _read(raw, entry)
        except (RawObjectError, ValueError) as exc:
            problems.append(f"{snapshot.snapshot_id}: {exc}")
    return problems


def rebuild_from_raw(
    store: SnapshotStore, snapshot: Snapshot, *, curated_path: Path | None = None
) -> dict[str, pa.Table]:
    """A snapshot's tables made again from the raw objects its manifest names,
    with no network. SyncFailed (naming the object) when one is missing or no
    longer has its sha256.

    The scores are built from every revision at once, never by extending the
    previous snapshot: a snapshot made by a chain of incremental syncs must
    come out the same, or the chain went wrong somewhere.
    """
    raw = RawStore(store.data_dir / "raw")
    manifest = snapshot.manifest
    older = {
        name: version
        for name, version in schema_versions(manifest).items()
        if name in TABLES and version != TABLES[name].version
    }
    if older:
        shapes = ", ".join(f"{name} v{version}" for name, version in sorted(older.items()))
        raise SyncFailed(
            f"snapshot {snapshot.snapshot_id} was written in older table shapes ({shapes}); "
            "this llmsync rebuilds only snapshots in its own"
        )
    sources = manifest["sources"]
    absent = [name for name in TABLE_NAMES if name not in manifest.get("tables", {})]
    if absent or "leaderboard_facts_sha256" not in sources:
        raise SyncFailed(
            f"snapshot {snapshot.snapshot_id} was written before the table(s) "
            f"{', '.join(absent) or 'leaderboards'} existed; this llmsync rebuilds only "
            "snapshots in its own shapes"
        )
    curated = _curated_for(raw, sources["curated_sha256"], fallback=curated_path)
    facts = _facts_for(raw, sources["leaderboard_facts_sha256"])
    objects = _index(raw_objects(snapshot, raw))

    def read(key: tuple[str, str, str | None], *, sha256: str | None) -> bytes | None:
        entry = objects.get(key)
        if entry is None:
            return None
        if entry["sha256"] is not None and entry["sha256"] != sha256:
            raise SyncFailed(
                f"the manifest's raw object {entry['path']} disagrees with its sources "
                f"(sha256 {str(entry['sha256'])[:12]}…, sources say {str(sha256)[:12]}…)"
            )
        try:
            return _read(raw, entry)
        except (RawObjectError, ValueError) as exc:
            raise SyncFailed(str(exc)) from exc

    revisions: list[LeaderboardRevision] = []
    for leaderboard, entry in sources["leaderboards"].items():
        for item in entry["revisions"]:
            found = objects.get(("leaderboard", entry["repo_id"], item["revision"]))
            if found is None:
                raise SyncFailed(
                    f"the manifest names no raw object for {leaderboard} at {item['revision'][:10]}"
                )
            try:
                path = _checked_path(raw, found)
            except (RawObjectError, ValueError) as exc:
                raise SyncFailed(str(exc)) from exc
            date = dt.date.fromisoformat(item["date"])
            revisions.append(
                LeaderboardRevision(leaderboard, entry["repo_id"], item["revision"], date, path)
            )

    listings = ListingReader(raw)

    def read_item(repo_id: str, *, sha256: str | None) -> bytes | None:
        """A model's info read from an item of a landed listing page."""
        entry = objects.get(("model_listing", repo_id, None))
        if entry is None:
            return None
        try:
            data = listings.item(
                str(entry["path"]), sha256=str(entry["sha256"]), item_id=str(entry["item"])
            )
        except (RawObjectError, ValueError) as exc:
            raise SyncFailed(str(exc)) from exc
        if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256:
            raise SyncFailed(f"the listing item of {repo_id} in {entry['path']} differs")
        return data

    details: dict[str, str] = manifest.get("model_details", {})
    fetches: list[ModelFetch] = []
    observed: list[Observed] = []
    for repo_id, model in sources["models"].items():
        info = read(("model_info", repo_id, None), sha256=model.get("info_sha256"))
        if info is None:
            info = read_item(repo_id, sha256=model.get("info_sha256"))
        card = read(("model_card", repo_id, None), sha256=model.get("card_sha256"))
        if model.get("info_sha256") and info is None:
            raise SyncFailed(f"the manifest names no raw object for the model info of {repo_id}")
        if model.get("card_sha256") and card is None:
            raise SyncFailed(f"the manifest names no raw object for the card of {repo_id}")
        # "ok" covers what the tables derive themselves (no card, parse errors).
        status = None if model["status"] == "ok" else model["status"]
        fetches.append(ModelFetch(repo_id, info, card, status, details.get(repo_id)))
        entry = objects.get(("model_info", repo_id, None)) or objects.get(
            ("model_listing", repo_id, None)
        )
        if info is not None and entry is not None:
            observed.append(Observed(repo_id, str(entry["path"]), info))

    previous_id = manifest.get("previous_snapshot")
    previous = next((s for s in store.snapshots() if s.snapshot_id == previous_id), None)
    built = build_scores(
        revisions,
        prior=None,
        suspect_row_loss=float(manifest.get("suspect_row_loss", DEFAULT_SUSPECT_ROW_LOSS)),
    )
    merged = merge(
        curated,
        scores=built.scores,
        revisions=built.revisions,
        models=build_models(fetches),
        previous=previous,
        leaderboard_facts=facts,
    )
    # Manifests before `observed_at` observed at their day's midnight (UTC).
    at = (
        dt.datetime.fromisoformat(str(manifest["observed_at"]))
        if "observed_at" in manifest
        else midnight(dt.date.fromisoformat(str(manifest["observed_on"])))
    )
    prior = prior_eval_results(previous)
    if "raw_objects" in manifest:
        try:
            landed = benchmarks_from_manifest(raw, manifest)
        except (RawObjectError, ValueError) as exc:
            raise SyncFailed(str(exc)) from exc
        # Intervals by observation: this snapshot's observations extend the
        # previous snapshot's table, as the sync did (that one verifies alike).
        built_evals = build_eval_tables(
            raw, landed, observed, prior=prior, at=at, gone=gone_models(fetches)
        )
    else:
        # Names no raw objects (llmsync < 0.2 kept no eval results): as published.
        built_evals = EvalTables(
            snapshot.read_table("eval_results"), snapshot.read_table("benchmarks")
        )
    tables = with_eval_tables(
        merged.tables, built_evals, prior=prior, at=at, previous_snapshot=previous_id
    )
    return validate_tables(tables)


def _read(raw: RawStore, entry: Mapping[str, Any]) -> bytes:
    """An object's bytes, checked against its sha256 when the manifest has one."""
    relative, sha256 = str(entry["path"]), entry["sha256"]
    if sha256 is not None:
        return raw.read_object(relative, sha256=str(sha256))
    try:
        return raw.object_path(relative).read_bytes()
    except FileNotFoundError:
        raise MissingObject(relative, "missing from the raw landing") from None


def _checked_path(raw: RawStore, entry: Mapping[str, Any]) -> Path:
    relative, sha256 = str(entry["path"]), entry["sha256"]
    if sha256 is not None:
        return raw.check_object(relative, sha256=str(sha256)).path
    path = raw.object_path(relative)
    if not path.is_file():
        raise MissingObject(relative, "missing from the raw landing")
    return path


def _index(
    entries: list[dict[str, Any]],
) -> Mapping[tuple[str, str, str | None], Mapping[str, Any]]:
    """Leaderboard objects by (kind, repo, revision); a model's by (kind, repo),
    as a snapshot holds one info body and one card per model."""
    index: dict[tuple[str, str, str | None], Mapping[str, Any]] = {}
    for entry in entries:
        kind, repo_id = str(entry["kind"]), str(entry["repo_id"])
        if kind == "curated":
            continue  # read by its hash in sources (see `_curated_for`)
        revision = str(entry["revision"]) if kind == "leaderboard" else None
        index[(kind, repo_id, revision)] = entry
    return index


def compare_with_snapshot(snapshot: Snapshot, rebuilt: dict[str, pa.Table]) -> dict[str, bool]:
    """For each table, whether the rebuilt one equals the published one."""
    return {name: snapshot.read_table(name).equals(rebuilt[name]) for name in TABLE_NAMES}


def _curated_for(raw: RawStore, sha256: str, *, fallback: Path | None) -> Curated:
    """The curated file the snapshot was built from: the copy landed in raw,
    else (snapshots from before copies were landed) the given or default file,
    if it still has the same hash."""
    landed = raw.curated_path(sha256)
    curated = load_curated(landed if landed.is_file() else fallback)
    if curated.sha256 != sha256:
        raise SyncFailed(
            "the curated file this snapshot was built from is not in data/raw/curated/ "
            "and the current one differs; pass the original with --curated"
        )
    return curated


def _facts_for(raw: RawStore, sha256: str) -> LeaderboardFacts:
    """The leaderboard facts file the snapshot was built from, kept in raw by its hash."""
    try:
        data = raw.read_object(raw.relative(raw.curated_path(sha256)), sha256=sha256)
    except (RawObjectError, ValueError) as exc:
        raise SyncFailed(f"the leaderboard facts file of this snapshot: {exc}") from exc
    return parse_leaderboard_facts(data)
