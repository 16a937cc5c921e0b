"""The one definition of every table llmsync writes.

Writers build tables against these schemas, the validator checks them, and the
tests read column names from here: a column exists because it is listed here.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

LEADERBOARDS: tuple[str, ...] = ("open_llm_v1", "open_llm_v2")

# Benchmarks each leaderboard reports, in display order. `average` is the
# leaderboard's own average, never recomputed here.
BENCHMARKS: dict[str, tuple[str, ...]] = {
    "open_llm_v1": ("average", "arc", "hellaswag", "mmlu", "truthfulqa", "winogrande", "gsm8k"),
    "open_llm_v2": ("average", "ifeval", "bbh", "math_lvl5", "gpqa", "musr", "mmlu_pro"),
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
    "gated",  # 401/403: access needs approval or a token
    "unavailable",  # the Hub kept failing after retries (transient: snapshot partial)
    "invalid_repo_id",  # the id is not a valid Hub repo id; never requested
)

RUN_STATUSES: tuple[str, ...] = ("published", "unchanged", "failed")

CHANGE_KINDS: tuple[str, ...] = (
    "model_added",
    "model_removed",
    "score_added",
    "score_removed",
    "score_changed",
    "license_changed",
    "card_changed",
    "sha_changed",
    "status_changed",
    # Likes and downloads as of each snapshot's run: they change without a new sha.
    "likes_changed",
    "downloads_changed",
    "source_revision_changed",
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


@dataclass(frozen=True)
class TableSpec:
    """A table's Arrow schema and the columns that identify one row."""

    name: str
    schema: pa.Schema
    key: tuple[str, ...]

    @property
    def columns(self) -> list[str]:
        return list(self.schema.names)


SCORES = TableSpec(
    name="scores",
    schema=pa.schema(
        [
            pa.field("leaderboard", pa.string(), nullable=False),
            pa.field("source_revision", pa.string(), nullable=False),
            pa.field("source_date", pa.date32(), nullable=False),
            # Position of the row in the upstream table: rows are not unique by
            # model (precision, sha and chat template variants), so the row's
            # position is what tells two of them apart.
            pa.field("row_index", pa.int32(), nullable=False),
            pa.field("model_name", pa.string(), nullable=False),
            # Null where the row names no Hub repo (a bare `llama-7b`): never guessed.
            pa.field("repo_id", pa.string()),
            pa.field("benchmark", pa.string(), nullable=False),
            pa.field("score", pa.float64(), nullable=False),
            pa.field("raw_score", pa.float64()),
            pa.field("precision", pa.string()),
            pa.field("model_sha", pa.string()),
            pa.field("chat_template", pa.bool_()),
            pa.field("submitted_on", pa.date32()),
        ]
    ),
    key=("leaderboard", "source_revision", "row_index", "benchmark"),
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


def _score_columns() -> list[pa.Field]:
    fields: list[pa.Field] = []
    for leaderboard in LEADERBOARDS:
        fields.append(pa.field(f"{leaderboard}_revision", pa.string()))
        fields.append(pa.field(f"{leaderboard}_date", pa.date32()))
        fields.append(pa.field(f"{leaderboard}_precision", pa.string()))
        fields.append(pa.field(f"{leaderboard}_model_sha", pa.string()))
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
        ]
    ),
    key=("article_model", "repo_id"),
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
            pa.field("old_value", pa.string()),
            pa.field("new_value", pa.string()),
            pa.field("old_score", pa.float64()),
            pa.field("new_score", pa.float64()),
            pa.field("previous_snapshot", pa.string()),
        ]
    ),
    key=(),
)

TABLES: dict[str, TableSpec] = {spec.name: spec for spec in (CATALOG, MODELS, SCORES, CHANGES)}
