"""The schemas of the Hub's eval results and the official benchmarks (part of
schemas.py's one definition of every table; kept apart for size)."""

from __future__ import annotations

import pyarrow as pa

from llmsync.tables.table_spec import TableSpec

# `eval_results`: the Hub's per-model results (`.eval_results/*.yaml`, read from
# `expand[]=evalResults` on the model requests the sync makes anyway) as
# intervals by observation: one row per run of an unchanged result, from the
# run that first saw it (`observed_from`, the run's UTC time) to the run that
# first saw it no more (`observed_to`, null while it holds), so two runs a day
# keep every value each saw. `valid_from`/`valid_to` are those instants' UTC
# days, for as-of queries by day: as of D, valid_from <= D AND (valid_to IS
# NULL OR valid_to > D), as in `scores` (the value held at the end of D; an
# interval opened and closed within one day holds at no day's end).
#
# The key: a result is what one file (`filename`) on one branch (`pull_request`,
# null for main) says about one task (`dataset_id`, `task_id`) under one setup
# (`notes`: the same task with and without tools is two results), `occurrence`
# telling apart entries a file repeats (the entry's position among the file's
# entries of the same key, 0 first: one value moving is one change). The
# branch is in the key because a PR's result and main's can both be served at
# once (a PR that re-proposes a merged result), and because a merge is an event
# of its own (`eval_result_pr_merged`), not an edit: a PR's result that left is
# matched to the main result it reached (opened, or edited to its value)
# before that main result counts as an edit. A task id corrected is a new key:
# the old result closes, the new one opens. Everything else (value, verified,
# date, source, error) is the row's content: a change closes the interval and
# opens the next. An item that cannot be read as a result (`error`: a file the
# Hub rejected, or any other shape) is a row of its own, never fatal, never
# costing its siblings. `changes` compares the previous snapshot's open rows
# with this one's, by key and content.
OBSERVED_AT = pa.timestamp("us", tz="UTC")
EVAL_RESULT_KEY = (
    "repo_id",
    "pull_request",
    "filename",
    "dataset_id",
    "task_id",
    "notes",
    "occurrence",
)
EVAL_RESULTS = TableSpec(
    name="eval_results",
    schema=pa.schema(
        [
            pa.field("repo_id", pa.string(), nullable=False),
            pa.field("dataset_id", pa.string()),
            pa.field("task_id", pa.string()),
            pa.field("dataset_revision", pa.string()),
            pa.field("value", pa.float64()),
            pa.field("verified", pa.bool_()),
            pa.field("pull_request", pa.int64()),
            pa.field("filename", pa.string(), nullable=False),
            pa.field("source_url", pa.string()),
            pa.field("source_name", pa.string()),
            pa.field("source_user", pa.string()),
            pa.field("source_org", pa.string()),
            pa.field("notes", pa.string()),
            # The entry's own `date` as written (a date or a datetime, ISO-8601).
            pa.field("date", pa.string()),
            pa.field("error", pa.string()),
            pa.field("occurrence", pa.int32(), nullable=False),
            # The landed object this interval was first read from (a path under
            # data/raw/) and the index of its item in the body's evalResults.
            pa.field("raw_object", pa.string(), nullable=False),
            pa.field("raw_item", pa.int32(), nullable=False),
            pa.field("valid_from", pa.date32(), nullable=False),
            pa.field("valid_to", pa.date32()),
            pa.field("observed_from", OBSERVED_AT, nullable=False),
            pa.field("observed_to", OBSERVED_AT),
        ]
    ),
    key=(*EVAL_RESULT_KEY, "observed_from"),
    # 2: observed_from/observed_to (the run's time), occurrence by position.
    version=2,
)

# `benchmarks`: one row per (benchmark dataset, task), the dimension `scores`,
# `eval_results` and the catalog join on. Official benchmarks come from the
# Hub's `benchmark:official` listing and each one's `eval.yaml`; a dataset that
# eval results name but the listing does not is a row with `official` false.
BENCHMARKS_TABLE = TableSpec(
    name="benchmarks",
    schema=pa.schema(
        [
            pa.field("dataset_id", pa.string(), nullable=False),
            pa.field("task_id", pa.string(), nullable=False),
            pa.field("name", pa.string()),
            pa.field("evaluation_framework", pa.string()),
            pa.field("official", pa.bool_(), nullable=False),
            # Entries of the dataset's leaderboard (base_model=false) this run;
            # the endpoint names no task, so every task of a dataset shares it.
            pa.field("leaderboard_entries", pa.int64()),
            # The dataset commit the eval.yaml was read at.
            pa.field("eval_yaml_sha", pa.string()),
        ]
    ),
    key=("dataset_id", "task_id"),
)
