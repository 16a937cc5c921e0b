"""The one definition of every table llmsync writes.

Writers build tables against these schemas, the validator checks them, and the
tests read column names from here: a column exists because it is listed here.
"""

from __future__ import annotations

import pyarrow as pa

from llmsync.tables.schemas_evals import BENCHMARKS_TABLE as BENCHMARKS_TABLE
from llmsync.tables.schemas_evals import EVAL_RESULT_KEY as EVAL_RESULT_KEY
from llmsync.tables.schemas_evals import EVAL_RESULTS as EVAL_RESULTS
from llmsync.tables.table_spec import TableSpec as TableSpec

LEADERBOARDS: tuple[str, ...] = ("open_llm_v1", "open_llm_v2", "openevals")

# Benchmarks each leaderboard reports, in display order. `average` is the
# leaderboard's own average, never recomputed here.
BENCHMARKS: dict[str, tuple[str, ...]] = {
    "open_llm_v1": ("average", "arc", "hellaswag", "mmlu", "truthfulqa", "winogrande", "gsm8k"),
    "open_llm_v2": ("average", "ifeval", "bbh", "math_lvl5", "gpqa", "musr", "mmlu_pro"),
    # OpenEvals/leaderboard-data: `aggregate` is its own aggregate_score; every
    # other benchmark is the Hub dataset id of an official benchmark (the
    # mapping and its evidence: tables.leaderboards._OPENEVALS_SCORES).
    "openevals": (
        "aggregate",
        "MathArena/aime_2026",
        "FutureMa/EvasionBench",
        "Idavidrein/gpqa",
        "openai/gsm8k",
        "cais/hle",
        "MathArena/hmmt_feb_2026",
        "TIGER-Lab/MMLU-Pro",
        "allenai/olmOCR-bench",
        "ScaleAI/SWE-bench_Pro",
        "SWE-bench/SWE-bench_Verified",
        "harborframework/terminal-bench-2.0",
    ),
}

# Why a model row lacks fields. `ok` means every field the Hub had was read.
MODEL_STATUSES: tuple[str, ...] = (
    "ok",  # model info and card read
    "no_card",  # the repo has no README.md
    "card_parse_error",  # the card's front matter could not be read
    "card_too_large",  # the card is over the size cap; its fields were skipped
    "card_unavailable",  # the card download failed after retries (transient: snapshot partial)
    # 401/403 on the card while the info is public: the repo's files are gated.
    # The model's state, not a failure: the snapshot stays complete.
    "card_gated",
    "not_found",  # 404: the repo does not exist (or is private)
    # The replay hub has no recording of the repo or its card (both exist on the
    # Hub): a gap in the recordings, not a fact about the Hub. Never from the Hub.
    "not_recorded",
    "gated",  # 401/403: access needs approval or a token
    "unavailable",  # the Hub kept failing after retries (transient: snapshot partial)
    "invalid_repo_id",  # the id is not a valid Hub repo id; never requested
)

# `interrupted`: stopped by Ctrl-C (SIGINT) before it finished; nothing published.
RUN_STATUSES: tuple[str, ...] = ("published", "unchanged", "failed", "interrupted")

CHANGE_KINDS: tuple[str, ...] = (
    "model_added",
    "model_removed",
    "score_added",
    "score_removed",
    "score_changed",
    # Equal once rounded to the coarser precision of the two: a new spelling.
    "score_reformatted",
    "license_changed",
    "card_changed",
    "sha_changed",
    "status_changed",
    # Likes and downloads as of each snapshot's run: they change without a new sha.
    "likes_changed",
    "downloads_changed",
    "source_revision_changed",
    # The Hub's eval results (`eval_results`), one per interval closed or opened.
    "eval_result_added",
    "eval_result_removed",
    "eval_result_value_changed",
    "eval_result_verified",  # `verified` flipped (either way)
    "eval_result_pr_merged",  # a PR's result closed and the same result opened on main
    "eval_result_pr_closed",  # a PR's result left without reaching main
    "eval_result_rejected",  # an item that cannot be read: a row with `error`
    "eval_result_repo_gone",  # the repo answered 404: its results closed
)

UTC_TIMESTAMP = pa.timestamp("us", tz="UTC")

CARD_EVAL = pa.struct(
    [
        pa.field("model_name", pa.string()),
        pa.field("task_type", pa.string()),
        pa.field("task_name", pa.string()),
        pa.field("dataset_type", pa.string()),
        pa.field("dataset_name", pa.string()),
        pa.field("dataset_config", pa.string()),
        pa.field("dataset_split", pa.string()),
        pa.field("metric_type", pa.string()),
        pa.field("metric_name", pa.string()),
        pa.field("metric_value", pa.float64()),
        pa.field("source_name", pa.string()),
        pa.field("source_url", pa.string()),
    ]
)


# The identity of one score: which leaderboard row and which benchmark. Rows are
# not unique by model: a model is listed once per precision and commit, and the
# 2023 scrapes (which lost the precision column) list some models twice with
# different values, sometimes as exact duplicate rows. `occurrence` tells apart
# the values of one (model_name, precision, model_sha, benchmark) held at once.
# In one export as parsed, it ranks the rows of one (model_name, precision,
# model_sha) by their values (highest average first, the leaderboard's own
# order), never by position, so an export that merely reorders its rows gives
# the same keys; a row's benchmarks share it. In `scores` it is the interval's:
# an export's values of one (model_name, precision, model_sha, benchmark) are
# matched with the open intervals' as multisets, a value held by both continues
# its interval and keeps its occurrence, and a new value keeps its row's rank
# where free, else takes the lowest free number (tables/intervals.py). So a
# duplicate that arrives or changes never closes and reopens its unchanged
# siblings, and no interval ends on the day the same key and value start again.
# `repo_id` is derived from `model_name` and so is not part of the key.
_SCORE_IDENTITY = [
    pa.field("leaderboard", pa.string(), nullable=False),
    # As displayed (the export's `fullname`, or `Model` in the 2023 scrapes).
    pa.field("model_name", pa.string(), nullable=False),
    # Null where the name is no Hub repo id with a namespace (a bare `llama-7b`): never guessed.
    pa.field("repo_id", pa.string()),
    # Null where the export has no such column (the 2023 scrapes).
    pa.field("precision", pa.string()),
    pa.field("model_sha", pa.string()),
    pa.field("occurrence", pa.int32(), nullable=False),
    pa.field("benchmark", pa.string(), nullable=False),
]
_SCORE_KEY = ("leaderboard", "model_name", "precision", "model_sha", "occurrence", "benchmark")
_SCORE_VALUE = [
    # The score as the export holds it (0-100), never rounded by llmsync: v2 exports
    # from 2024-12-11 carry unrounded normalized scores and averages.
    pa.field("value", pa.float64(), nullable=False),
    # v2's raw 0-1 value, exactly as the export holds it; null for v1 and averages.
    pa.field("raw_value", pa.float64()),
]

# One export's rows as parsed: the state of a leaderboard at one revision. Not a
# published table; it is what `scores` gives back as of a date, and what each
# new export is compared with.
EXPORT_SCORES = TableSpec(
    name="export_scores",
    schema=pa.schema([*_SCORE_IDENTITY, *_SCORE_VALUE]),
    key=_SCORE_KEY,
)

# `scores` holds every value every export of each leaderboard held, as intervals:
# one row per run of an unchanged (value, raw_value) of one key. A leaderboard's
# state as of a date D is the rows with
#     valid_from <= D AND (valid_to IS NULL OR valid_to > D)
# and it equals, as a multiset, the rows of the newest `ok` export on or before D
# (see `revisions`: suspect and malformed exports end no interval), occurrences
# aside. Every interval holds for a day at least (`valid_to` > `valid_from`):
# what one export of a day opened and a later export of the same day no longer
# holds is dropped, as no as-of view could show it.
SCORES = TableSpec(
    name="scores",
    schema=pa.schema(
        [
            *_SCORE_IDENTITY,
            *_SCORE_VALUE,
            # Date and commit of the first export that holds this value.
            pa.field("valid_from", pa.date32(), nullable=False),
            pa.field("valid_from_revision", pa.string(), nullable=False),
            # Date and commit of the first later export that no longer holds it
            # (the value changed or the row left); null while it still holds.
            pa.field("valid_to", pa.date32()),
            pa.field("valid_to_revision", pa.string()),
        ]
    ),
    # A key opens at most one interval per revision.
    key=(*_SCORE_KEY, "valid_from_revision"),
    version=2,
)

REVISION_STATUSES: tuple[str, ...] = (
    "ok",  # parsed and applied to `scores` (its reason set when it confirms a lasting drop)
    "suspect",  # parsed, but lost too many of the previous ok export's rows: not applied
    "malformed",  # could not be parsed (an older revision; a malformed newest one fails the run)
)

# Every leaderboard revision a sync has seen, oldest first per leaderboard.
# An export is compared with the last `ok` one: losing more than
# `--suspect-row-loss` (default half) of its rows makes it `suspect`, as a
# partial capture upstream (the October 2023 scrapes: 79, 77, 109 rows after
# 1,240) is a bad day, not the leaderboard. A drop that lasts is the leaderboard:
# an export that has lost as much, dated 30 days or more after the first of the
# unbroken run of suspect exports before it, is `ok` (its reason names the drop it
# confirms) and later exports are compared with it, so no leaderboard freezes.
# The October 2023 captures span 27 days and stay suspect. While a leaderboard's
# newest export is not `ok`, an older one is in force: the manifest's
# `suspect_newest`, the run summary and `llmsync snapshots` name both.
REVISIONS = TableSpec(
    name="revisions",
    schema=pa.schema(
        [
            pa.field("leaderboard", pa.string(), nullable=False),
            pa.field("revision", pa.string(), nullable=False),
            pa.field("date", pa.date32(), nullable=False),
            # Rows of the export's table (upstream rows, not rows x benchmarks);
            # null where it could not be read.
            pa.field("rows", pa.int64()),
            pa.field("status", pa.string(), nullable=False),
            pa.field("reason", pa.string()),
        ]
    ),
    key=("leaderboard", "revision"),
)

MODELS = TableSpec(
    name="models",
    schema=pa.schema(
        [
            # As the leaderboard or the curated file names it.
            pa.field("repo_id", pa.string(), nullable=False),
            # As the Hub answers it now: differs from repo_id for a renamed
            # repo (the Hub redirects the old id to the new one).
            pa.field("hub_repo_id", pa.string()),
            pa.field("status", pa.string(), nullable=False),
            pa.field("status_detail", pa.string()),
            pa.field("sha", pa.string()),
            pa.field("author", pa.string()),
            pa.field("license", pa.string()),
            pa.field("base_model", pa.string()),
            pa.field("params_b", pa.float64()),
            pa.field("pipeline_tag", pa.string()),
            pa.field("library_name", pa.string()),
            pa.field("tags", pa.list_(pa.string())),
            pa.field("languages", pa.list_(pa.string())),
            pa.field("datasets", pa.list_(pa.string())),
            pa.field("downloads", pa.int64()),
            pa.field("likes", pa.int64()),
            pa.field("gated", pa.string()),
            pa.field("created_at", UTC_TIMESTAMP),
            pa.field("last_modified", UTC_TIMESTAMP),
            pa.field("card_present", pa.bool_(), nullable=False),
            pa.field("card_sha256", pa.string()),
            pa.field("card_evals", pa.list_(CARD_EVAL)),
        ]
    ),
    key=("repo_id",),
)


# One official benchmark's newest result on main for one (task, notes): an open
# PR's result is not the model's (yet); `filename` names which file says it.
EVAL_LATEST = pa.struct(
    [
        pa.field("dataset_id", pa.string()),
        pa.field("task_id", pa.string()),
        pa.field("notes", pa.string()),
        pa.field("value", pa.float64()),
        pa.field("valid_from", pa.date32()),
        pa.field("filename", pa.string()),
    ]
)


def _score_columns() -> list[pa.Field]:
    fields: list[pa.Field] = []
    for leaderboard in LEADERBOARDS:
        fields.append(pa.field(f"{leaderboard}_revision", pa.string()))
        fields.append(pa.field(f"{leaderboard}_date", pa.date32()))
        fields.append(pa.field(f"{leaderboard}_precision", pa.string()))
        fields.append(pa.field(f"{leaderboard}_model_sha", pa.string()))
        # The date of the first export of this leaderboard that listed the repo.
        fields.append(pa.field(f"{leaderboard}_first_seen", pa.date32()))
        # How many benchmarks the leaderboard's average covers in that row (v1: 4
        # in the 2023 scrapes, 6 with Winogrande and GSM8K from 2024; v2: 6).
        # Averages of different counts are not comparable: rank like with like.
        fields.append(pa.field(f"{leaderboard}_benchmark_count", pa.int32()))
        fields.extend(
            pa.field(f"{leaderboard}_{benchmark}", pa.float64())
            for benchmark in BENCHMARKS[leaderboard]
        )
    return fields


def catalog_score_column(leaderboard: str, benchmark: str) -> str:
    """Name of the catalog column holding a leaderboard's latest benchmark score."""
    return f"{leaderboard}_{benchmark}"


CATALOG = TableSpec(
    name="catalog",
    schema=pa.schema(
        [
            pa.field("article_model", pa.string(), nullable=False),
            pa.field("repo_id", pa.string(), nullable=False),
            pa.field("role", pa.string(), nullable=False),
            # Curated facts, as the article states them; never overwritten by fetched values.
            pa.field("developer", pa.string()),
            pa.field("stated_params_b", pa.float64()),
            pa.field("stated_base_model", pa.string()),
            pa.field("finetuning_data", pa.string()),
            pa.field("training_cost", pa.string()),
            pa.field("training_hardware", pa.string()),
            pa.field("stated_license", pa.string()),
            pa.field("stated_commercial_use", pa.string()),
            pa.field("claims", pa.list_(pa.string())),
            # Fetched from the Hub (the `models` table).
            pa.field("model_status", pa.string(), nullable=False),
            pa.field("hub_sha", pa.string()),
            pa.field("hub_license", pa.string()),
            pa.field("hub_base_model", pa.string()),
            pa.field("hub_params_b", pa.float64()),
            pa.field("hub_likes", pa.int64()),
            pa.field("hub_downloads", pa.int64()),
            pa.field("card_present", pa.bool_(), nullable=False),
            # Disagreements between curated and fetched values, one line each.
            pa.field("conflicts", pa.list_(pa.string())),
            *_score_columns(),
            # The Hub's readable eval results holding for this repo
            # (`eval_results`, main and open PRs), and per official benchmark
            # the newest main result of each (task, notes) (one null entry
            # where there is none).
            pa.field("eval_results_count", pa.int64()),
            pa.field("eval_latest", pa.list_(EVAL_LATEST)),
        ]
    ),
    key=("article_model", "repo_id"),
    # 5: eval_latest from main only, per (dataset, task, notes), naming its file.
    version=5,
)

CHANGES = TableSpec(
    name="changes",
    schema=pa.schema(
        [
            pa.field("change_kind", pa.string(), nullable=False),
            pa.field("repo_id", pa.string()),
            pa.field("model_name", pa.string()),
            pa.field("leaderboard", pa.string()),
            pa.field("benchmark", pa.string()),
            pa.field("precision", pa.string()),
            pa.field("model_sha", pa.string()),
            # The leaderboard revision (and its date) where a score changed;
            # for `source_revision_changed`, the new newest revision.
            pa.field("revision", pa.string()),
            pa.field("date", pa.date32()),
            pa.field("old_value", pa.string()),
            pa.field("new_value", pa.string()),
            pa.field("old_score", pa.float64()),
            pa.field("new_score", pa.float64()),
            pa.field("previous_snapshot", pa.string()),
        ]
    ),
    key=(),
    version=2,
)

LEADERBOARD_STATUSES: tuple[str, ...] = (
    "live",  # updated upstream
    "archived",  # kept public upstream, no longer updated
    "retired",  # stopped upstream
)

# One row per leaderboard: what the exports say (dates, counts: the revisions
# table's) and what they cannot (its status upstream, from a reviewed file with
# its sources, llmsync/curated/leaderboards.yaml). A leaderboard's values are
# current only while it is `live`: read `last_export_date` and `status` before a
# value, or a 2023 value of the archived v1 reads as today's.
LEADERBOARDS_TABLE = TableSpec(
    name="leaderboards",
    schema=pa.schema(
        [
            pa.field("leaderboard", pa.string(), nullable=False),
            # The Hub dataset its exports are read from.
            pa.field("dataset", pa.string(), nullable=False),
            # The exports applied to `scores` (status ok): first, last, how many.
            pa.field("first_export_date", pa.date32()),
            pa.field("last_export_date", pa.date32()),
            pa.field("exports", pa.int64(), nullable=False),
            # The newest export read and its status: not `ok` means the values in
            # force are the older `last_export_date`'s (see `revisions`).
            pa.field("newest_export_date", pa.date32()),
            pa.field("newest_export_status", pa.string()),
            pa.field("status", pa.string(), nullable=False),
            # YYYY-MM-DD where a source gives the day, YYYY-MM where it gives the
            # month only, null where no source says when the status began.
            pa.field("status_since", pa.string()),
            pa.field("status_sources", pa.list_(pa.string()), nullable=False),
        ]
    ),
    key=("leaderboard",),
    # 2: status_since may be null (no source gives when).
    version=2,
)

TABLES: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        CATALOG,
        MODELS,
        SCORES,
        REVISIONS,
        CHANGES,
        LEADERBOARDS_TABLE,
        EVAL_RESULTS,
        BENCHMARKS_TABLE,
    )
}

# What each manifest records as `schema_versions`.
SCHEMA_VERSIONS: dict[str, int] = {name: spec.version for name, spec in TABLES.items()}
