"""Previous snapshot vs new tables -> `changes`.

Scores are compared per variant (leaderboard, model name, precision, commit,
chat template, benchmark), each at its latest upstream revision: a leaderboard
export that merely re-lists a model with the same score is not a change.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import pyarrow as pa

from llmsync.tables.schemas import CHANGE_KINDS, CHANGES, MODELS, SCORES, TableSpec

# Scores are displayed values rounded to 2 decimals; a smaller gap is float noise
# between exports (1.96374622356495 shown as 1.96), not a change.
SCORE_TOLERANCE = 0.005

# Models columns whose change is reported, and the kind reported for each.
_MODEL_FIELDS: dict[str, str] = {
    "sha": "sha_changed",
    "license": "license_changed",
    "card_sha256": "card_changed",
    "status": "status_changed",
    "likes": "likes_changed",
    "downloads": "downloads_changed",
}
# Counts, compared as numbers and reported as whole numbers.
_COUNT_FIELDS = frozenset({"likes", "downloads"})

_VARIANT_KEY = ["leaderboard", "model_name", "precision", "model_sha", "chat_template", "benchmark"]

# Stands in for null inside join keys, so that null matches null on both sides.
_NULL_KEY = "\x00null"


def diff_tables(
    previous: Mapping[str, pa.Table] | None,
    current: Mapping[str, pa.Table],
    *,
    previous_snapshot: str | None,
) -> pa.Table:
    """The CHANGES table between two snapshots' tables; empty when there is no previous."""
    if previous is None:
        return CHANGES.schema.empty_table()
    frames = [
        _model_changes(_frame(previous, MODELS), _frame(current, MODELS)),
        _score_changes(_frame(previous, SCORES), _frame(current, SCORES)),
        _revision_changes(_frame(previous, SCORES), _frame(current, SCORES)),
    ]
    non_empty = [frame for frame in frames if not frame.empty]
    if not non_empty:
        return CHANGES.schema.empty_table()
    changes = pd.concat(non_empty, ignore_index=True)
    changes["previous_snapshot"] = previous_snapshot
    changes = _sorted(changes.reindex(columns=CHANGES.schema.names))
    return pa.Table.from_pandas(changes, schema=CHANGES.schema, preserve_index=False)


def _frame(tables: Mapping[str, pa.Table], spec: TableSpec) -> pd.DataFrame:
    table = tables.get(spec.name)
    if table is None:
        table = spec.schema.empty_table()
    return table.select(spec.schema.names).to_pandas()


# Models.


def _model_changes(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    columns = ["repo_id", *_MODEL_FIELDS]
    before, after = _counts_as_text(before[columns]), _counts_as_text(after[columns])
    merged = before.merge(
        after, on="repo_id", how="outer", suffixes=("_old", "_new"), indicator=True
    )
    parts = [
        _with_kind(merged.loc[merged["_merge"] == "right_only", ["repo_id"]], "model_added"),
        _with_kind(merged.loc[merged["_merge"] == "left_only", ["repo_id"]], "model_removed"),
    ]
    both = merged[merged["_merge"] == "both"]
    for field, kind in _MODEL_FIELDS.items():
        old, new = both[f"{field}_old"], both[f"{field}_new"]
        changed = both[_differs(old, new)]
        part = pd.DataFrame(
            {
                "repo_id": changed["repo_id"],
                "old_value": changed[f"{field}_old"],
                "new_value": changed[f"{field}_new"],
            }
        )
        parts.append(_with_kind(part, kind))
    return pd.concat(parts, ignore_index=True)


def _counts_as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Counts as their decimal text (null stays null): the changes table holds
    old and new values as strings, and `1955` must not read `1955.0`."""
    converted = {
        name: frame[name]
        .astype("Int64")
        .astype("string")
        .astype(object)
        .where(frame[name].notna(), None)
        for name in _COUNT_FIELDS
    }
    return frame.assign(**converted)


def _differs(old: pd.Series, new: pd.Series) -> pd.Series:
    """Null-aware inequality: null vs value is a change, null vs null is not."""
    old_null, new_null = old.isna(), new.isna()
    return (old_null != new_null) | (~old_null & ~new_null & (old != new))


# Scores.


def _latest_per_variant(scores: pd.DataFrame) -> pd.DataFrame:
    """Each variant's row from the newest upstream revision that lists it."""
    keyed = scores.assign(**{f"key_{name}": _key(scores[name]) for name in _VARIANT_KEY})
    ordered = keyed.sort_values(
        ["source_date", "source_revision", "row_index"], ascending=[False, False, True]
    )
    return ordered.drop_duplicates([f"key_{name}" for name in _VARIANT_KEY], keep="first")


def _key(column: pd.Series) -> pd.Series:
    return column.astype(object).where(column.notna(), _NULL_KEY).astype(str)


def _score_changes(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    keys = [f"key_{name}" for name in _VARIANT_KEY]
    kept = [*keys, *_VARIANT_KEY, "repo_id", "score"]
    old = _latest_per_variant(before)[kept]
    new = _latest_per_variant(after)[kept]
    merged = old.merge(new, on=keys, how="outer", suffixes=("_old", "_new"), indicator=True)
    # Identity columns come from whichever side has the variant.
    for name in [*_VARIANT_KEY, "repo_id"]:
        merged[name] = merged[f"{name}_new"].where(
            merged["_merge"] != "left_only", merged[f"{name}_old"]
        )
    merged = merged.rename(columns={"score_old": "old_score", "score_new": "new_score"})
    changed = (merged["_merge"] == "both") & (
        (merged["old_score"] - merged["new_score"]).abs() >= SCORE_TOLERANCE
    )
    identity = ["repo_id", "model_name", "leaderboard", "benchmark", "precision", "model_sha"]
    return pd.concat(
        [
            _with_kind(
                merged.loc[merged["_merge"] == "right_only", [*identity, "new_score"]],
                "score_added",
            ),
            _with_kind(
                merged.loc[merged["_merge"] == "left_only", [*identity, "old_score"]],
                "score_removed",
            ),
            _with_kind(merged.loc[changed, [*identity, "old_score", "new_score"]], "score_changed"),
        ],
        ignore_index=True,
    )


def _revision_changes(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    old, new = _newest_revisions(before), _newest_revisions(after)
    merged = old.merge(new, on="leaderboard", how="outer", suffixes=("_old", "_new"))
    changed = merged[_differs(merged["source_revision_old"], merged["source_revision_new"])]
    part = pd.DataFrame(
        {
            "leaderboard": changed["leaderboard"],
            "old_value": changed["source_revision_old"],
            "new_value": changed["source_revision_new"],
        }
    )
    return _with_kind(part, "source_revision_changed")


def _newest_revisions(scores: pd.DataFrame) -> pd.DataFrame:
    """Per leaderboard, the revision with the newest source date."""
    ordered = scores.sort_values(["source_date", "source_revision"], ascending=[False, False])
    newest = ordered.drop_duplicates("leaderboard", keep="first")
    return newest[["leaderboard", "source_revision"]]


# Output.


def _with_kind(frame: pd.DataFrame, kind: str) -> pd.DataFrame:
    return frame.assign(change_kind=kind)


def _sorted(changes: pd.DataFrame) -> pd.DataFrame:
    kind_order = {kind: position for position, kind in enumerate(CHANGE_KINDS)}
    changes = changes.assign(_kind_order=changes["change_kind"].map(kind_order))
    by = [
        "_kind_order",
        "leaderboard",
        "repo_id",
        "model_name",
        "benchmark",
        "precision",
        "model_sha",
    ]
    changes = changes.sort_values(by, na_position="first", kind="stable")
    return changes.drop(columns="_kind_order").reset_index(drop=True)
