"""curated x models x scores -> `catalog`: one row per (article model, repo).

Curated facts are copied as the article states them and never overwritten;
where the Hub disagrees the row lists a conflict instead. Each leaderboard's
columns hold the repo's latest score on that leaderboard, read from the score
intervals (see `latest_scores`), and the date it first appeared there.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from llmsync.tables.curated import Curated, CuratedModel
from llmsync.tables.schemas import BENCHMARKS, CATALOG, catalog_score_column

# A repo the models table does not list was never found on the Hub.
MISSING_MODEL_STATUS = "not_found"

# "40B" in an article is a rounded figure: Falcon-40B has 41.8B parameters.
PARAMS_TOLERANCE = 0.15

# Licences that plainly allow or plainly forbid commercial use; anything else
# (custom, "other", llama licences) is not judged either way.
_COMMERCIAL_LICENSES = frozenset(
    {
        "apache-2.0",
        "mit",
        "bsd-2-clause",
        "bsd-3-clause",
        "cc-by-4.0",
        "cc-by-sa-3.0",
        "cc-by-sa-4.0",
        "openrail",
        "bigscience-openrail-m",
    }
)
_NON_COMMERCIAL_LICENSE = re.compile(r"(^cc-by-nc)|non-?commercial", re.IGNORECASE)


@dataclass(frozen=True)
class CatalogResult:
    table: pa.Table
    conflicts: list[str]
    unmatched_aliases: list[str]


def build_catalog(
    curated: Curated, *, models: pa.Table, scores: pa.Table, revisions: pa.Table
) -> CatalogResult:
    """The CATALOG table: every curated repo present, scored or not."""
    wanted = {repo_id for _, repo_id, _ in curated.repos()}
    hub = _models_by_repo(models, wanted)
    shas = {repo_id: row.get("sha") for repo_id, row in hub.items()}
    latest = latest_scores(curated, scores=scores, revisions=revisions, model_shas=shas)

    rows: list[dict[str, Any]] = []
    all_conflicts: list[str] = []
    for model in curated.models:
        for repo in model.repos:
            hub_row = hub.get(repo.repo_id, {})
            conflicts = _conflicts(model, repo.repo_id, hub_row) if repo.role == "primary" else []
            all_conflicts.extend(conflicts)
            rows.append(
                {
                    **_curated_columns(model, repo.repo_id, repo.role),
                    **_hub_columns(hub_row),
                    "conflicts": conflicts,
                    **_score_columns(latest, repo.repo_id),
                }
            )
    rows.sort(key=lambda row: (row["article_model"], row["repo_id"]))
    table = pa.Table.from_pylist(rows, schema=CATALOG.schema)
    return CatalogResult(
        table=table,
        conflicts=all_conflicts,
        unmatched_aliases=_unmatched_aliases(curated, scores),
    )


# Scores.

_SCORE_FIELDS = (
    "leaderboard",
    "model_name",
    "repo_id",
    "precision",
    "model_sha",
    "occurrence",
    "benchmark",
    "value",
    "valid_from",
    "valid_to",
    "valid_to_revision",
)
_VARIANT = ("model_name", "precision", "model_sha", "occurrence")


def latest_scores(
    curated: Curated,
    *,
    scores: pa.Table,
    revisions: pa.Table,
    model_shas: Mapping[str, str | None],
) -> dict[tuple[str, str], dict[str, Any]]:
    """(leaderboard, repo_id) -> the chosen variant's precision, sha and scores,
    the revision and date they were last listed at, and when the repo first was.

    The values are those of the newest applied export that lists the repo, even
    if a newer one dropped it (falcon-40b-instruct left the v1 table before its
    final export); among the repo's rows there, `_pick_variant` chooses.
    """
    applied = _applied_revisions(revisions)
    by_repo: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in _rows_for_curated(curated, scores):
        by_repo[(row["leaderboard"], row["target_repo"])].append(row)

    latest: dict[tuple[str, str], dict[str, Any]] = {}
    for (leaderboard, repo_id), group in by_repo.items():
        sequence = applied[leaderboard]
        position = {revision: index for index, (revision, _) in enumerate(sequence)}
        alive = [row for row in group if row["valid_to"] is None]
        if alive:
            last_seen = sequence[-1]
        else:
            # Rows listed by the repo's last export all close at the next one.
            end = max(position[row["valid_to_revision"]] for row in group)
            alive = [row for row in group if position[row["valid_to_revision"]] == end]
            last_seen = sequence[end - 1]
        entered: dict[tuple[Any, ...], date] = {}
        for row in group:
            variant = tuple(row[name] for name in _VARIANT)
            entered[variant] = min(entered.get(variant, row["valid_from"]), row["valid_from"])
        chosen = _pick_variant(alive, sha=model_shas.get(repo_id), entered=entered)
        latest[(leaderboard, repo_id)] = {
            "revision": last_seen[0],
            "date": last_seen[1],
            "precision": chosen[0]["precision"],
            "model_sha": chosen[0]["model_sha"],
            "first_seen": min(row["valid_from"] for row in group),
            "scores": {row["benchmark"]: row["value"] for row in chosen},
            # The benchmarks its average covers: the row's others.
            "benchmark_count": sum(row["benchmark"] != "average" for row in chosen),
        }
    return latest


def _applied_revisions(revisions: pa.Table) -> dict[str, list[tuple[str, date]]]:
    """Per leaderboard, the revisions applied to `scores` (status ok), oldest first."""
    applied: dict[str, list[tuple[str, date]]] = defaultdict(list)
    ok = revisions.filter(pc.equal(revisions.column("status"), "ok"))
    for row in ok.select(["leaderboard", "revision", "date"]).to_pylist():
        applied[row["leaderboard"]].append((row["revision"], row["date"]))
    return applied


def _rows_for_curated(curated: Curated, scores: pa.Table) -> list[dict[str, Any]]:
    """Score intervals of curated repos, plus alias rows credited to their
    model's primary repo. Filtering in Arrow first keeps this cheap on a full
    leaderboard history."""
    repo_ids = pa.array(sorted({repo_id for _, repo_id, _ in curated.repos()}), pa.string())
    alias_names = pa.array(sorted(curated.aliases), pa.string())
    by_repo = pc.is_in(scores.column("repo_id"), value_set=repo_ids)
    by_alias = pc.and_(
        pc.is_null(scores.column("repo_id")),
        pc.is_in(scores.column("model_name"), value_set=alias_names),
    )
    mask = pc.fill_null(pc.or_(by_repo, by_alias), False)
    selected: list[dict[str, Any]] = scores.filter(mask).select(list(_SCORE_FIELDS)).to_pylist()
    for row in selected:
        if row["repo_id"] is not None:
            row["target_repo"] = row["repo_id"]
        else:
            row["target_repo"] = curated.model(curated.aliases[row["model_name"]]).primary_repo
    return selected


def _pick_variant(
    rows: list[dict[str, Any]], *, sha: str | None, entered: Mapping[tuple[Any, ...], date]
) -> list[dict[str, Any]]:
    """The rows (one per benchmark) of the variant that stands for the repo.

    A repo can be listed several times in one export (precisions, commits, and
    in the 2023 scrapes plain repeats). Prefer the commit the models table
    fetched; else the variant that entered the leaderboard last (the newest
    submission); else the one with the higher average (listed first upstream).
    """
    variants: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        variants[tuple(row[name] for name in _VARIANT)].append(row)

    def rank(variant: tuple[Any, ...]) -> tuple[Any, ...]:
        name, precision, model_sha, occurrence = variant
        sha_rank = 0 if sha is not None and model_sha == sha else 1
        averages = [r["value"] for r in variants[variant] if r["benchmark"] == "average"]
        average = averages[0] if averages else float("-inf")
        newest_first = -entered[variant].toordinal()
        return sha_rank, newest_first, -average, name, precision or "", model_sha or "", occurrence

    return variants[min(variants, key=rank)]


def _score_columns(
    latest: Mapping[tuple[str, str], Mapping[str, Any]], repo_id: str
) -> dict[str, Any]:
    columns: dict[str, Any] = {}
    for leaderboard, benchmarks in BENCHMARKS.items():
        found = latest.get((leaderboard, repo_id))
        columns[f"{leaderboard}_revision"] = found["revision"] if found else None
        columns[f"{leaderboard}_date"] = found["date"] if found else None
        columns[f"{leaderboard}_precision"] = found["precision"] if found else None
        columns[f"{leaderboard}_model_sha"] = found["model_sha"] if found else None
        columns[f"{leaderboard}_first_seen"] = found["first_seen"] if found else None
        columns[f"{leaderboard}_benchmark_count"] = found["benchmark_count"] if found else None
        for benchmark in benchmarks:
            value = found["scores"].get(benchmark) if found else None
            columns[catalog_score_column(leaderboard, benchmark)] = value
    return columns


def _unmatched_aliases(curated: Curated, scores: pa.Table) -> list[str]:
    if not curated.aliases:
        return []
    unnamed = scores.filter(pc.is_null(scores.column("repo_id")))
    seen = set(pc.unique(unnamed.column("model_name")).to_pylist())
    return sorted(alias for alias in curated.aliases if alias not in seen)


# Curated and Hub columns.


def _models_by_repo(models: pa.Table, wanted: Iterable[str]) -> dict[str, dict[str, Any]]:
    value_set = pa.array(sorted(set(wanted)), pa.string())
    subset = models.filter(pc.is_in(models.column("repo_id"), value_set=value_set))
    return {row["repo_id"]: row for row in subset.to_pylist()}


def _curated_columns(model: CuratedModel, repo_id: str, role: str) -> dict[str, Any]:
    return {
        "article_model": model.name,
        "repo_id": repo_id,
        "role": role,
        "developer": model.developer,
        "stated_params_b": model.params_b,
        "stated_base_model": model.base_model,
        "finetuning_data": model.finetuning_data,
        "training_cost": model.training_cost,
        "training_hardware": model.training_hardware,
        "stated_license": model.license,
        "stated_commercial_use": model.commercial_use,
        "claims": list(model.claims),
    }


def _hub_columns(hub_row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "model_status": hub_row.get("status") or MISSING_MODEL_STATUS,
        "hub_sha": hub_row.get("sha"),
        "hub_license": hub_row.get("license"),
        "hub_base_model": hub_row.get("base_model"),
        "hub_params_b": hub_row.get("params_b"),
        "hub_likes": hub_row.get("likes"),
        "hub_downloads": hub_row.get("downloads"),
        "card_present": bool(hub_row.get("card_present", False)),
    }


# Conflicts. Only primary repos are checked: the article's facts describe the
# model it means, and a variant or base repo differs from them by design.


def _conflicts(model: CuratedModel, repo_id: str, hub_row: Mapping[str, Any]) -> list[str]:
    found = [
        _license_conflict(model.license, hub_row.get("license")),
        _commercial_conflict(model.commercial_use, hub_row.get("license")),
        _params_conflict(model.params_b, hub_row.get("params_b")),
        _base_model_conflict(model.base_model, hub_row.get("base_model")),
    ]
    return [f"{model.name} ({repo_id}): {message}" for message in found if message]


def _license_conflict(stated: str | None, hub: str | None) -> str | None:
    if stated is None or hub is None or stated.strip().lower() == hub.strip().lower():
        return None
    return f"licence: article says {stated!r}, Hub says {hub!r}"


def _commercial_conflict(stated: str | None, hub_license: str | None) -> str | None:
    if stated is None or hub_license is None:
        return None
    licence = hub_license.strip().lower()
    if stated == "not_allowed" and licence in _COMMERCIAL_LICENSES:
        return f"commercial use: article says not allowed, Hub licence {hub_license!r} allows it"
    if stated == "allowed" and _NON_COMMERCIAL_LICENSE.search(licence):
        return f"commercial use: article says allowed, Hub licence {hub_license!r} forbids it"
    return None


def _params_conflict(stated: float | None, hub: float | None) -> str | None:
    if stated is None or hub is None or abs(hub - stated) <= PARAMS_TOLERANCE * stated:
        return None
    return f"parameters: article says {stated:g}B, Hub weights hold {hub:.2f}B"


def _base_model_conflict(stated: str | None, hub: str | None) -> str | None:
    """Article names ("LLaMA 7B") and Hub repo ids ("huggyllama/llama-7b") agree when
    one contains the other once case and punctuation are ignored."""
    if stated is None or hub is None:
        return None
    said = _name_key(stated)
    hub_names = [_name_key(part.split("/")[-1]) for part in hub.split(",")]
    if any(said in name or name in said for name in hub_names if name):
        return None
    return f"base model: article says {stated!r}, Hub says {hub!r}"


def _name_key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())
