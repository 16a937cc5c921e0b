"""`changes`: what a snapshot holds that the previous one did not, in Arrow.

Score changes come from the intervals: every interval that a revision new to
this snapshot closed or opened is an event at that revision. A key closed and
opened again at one revision with another value is `score_changed` (old and
new value); closed alone, `score_removed`; opened alone, `score_added`. A key
whose displayed value stayed while its raw value moved is no change of score.
A change whose old and new values are equal once both are rounded to the
coarser of their exports' precisions (17.22 -> 17.2201142) is `score_reformatted`:
the export changed how it writes the value, not the evaluation (tables/precision.py).
Model changes compare the previous snapshot's `models` with this one's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from llmsync.tables.intervals import key_column
from llmsync.tables.precision import reformatted
from llmsync.tables.schemas import CHANGE_KINDS, CHANGES

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
_IDENTITY = ("repo_id", "model_name", "leaderboard", "benchmark", "precision", "model_sha")
# Which revision and date an interval's closing (old) or opening (new) names.
_SIDES = {"old": ("valid_to_revision", "valid_to"), "new": ("valid_from_revision", "valid_from")}
_SORT = (
    "leaderboard",
    "repo_id",
    "model_name",
    "benchmark",
    "precision",
    "model_sha",
    "date",
    "revision",
    "old_value",
    "new_value",
    "old_score",
    "new_score",
)


@dataclass(frozen=True)
class PreviousState:
    """What `changes` needs of the previous snapshot."""

    snapshot_id: str
    models: pa.Table
    # leaderboard -> the revisions it had read, newest first (its manifest's sources).
    revisions: Mapping[str, Sequence[str]]


def diff_snapshot(
    previous: PreviousState | None, *, models: pa.Table, scores: pa.Table, revisions: pa.Table
) -> pa.Table:
    """The CHANGES table against `previous`; empty when there is none."""
    if previous is None:
        return CHANGES.empty()
    seen = pa.array(
        sorted({r for items in previous.revisions.values() for r in items}), pa.string()
    )
    changes = pa.concat_tables(
        [
            _model_changes(previous.models, models),
            _score_changes(scores, revisions, seen=seen),
            _revision_changes(previous.revisions, revisions),
        ]
    )
    changes = changes.set_column(
        changes.schema.get_field_index("previous_snapshot"),
        CHANGES.schema.field("previous_snapshot"),
        pa.repeat(pa.scalar(previous.snapshot_id, pa.string()), changes.num_rows),
    )
    return _sorted(changes)


def _table(kind: str, n: int, **columns: pa.Array | pa.ChunkedArray) -> pa.Table:
    """A CHANGES-shaped table of `n` rows of one kind; unnamed columns are null."""
    data = {
        name: columns[name] if name in columns else pa.nulls(n, CHANGES.schema.field(name).type)
        for name in CHANGES.columns
    }
    data["change_kind"] = pa.repeat(pa.scalar(kind, pa.string()), n)
    return pa.table(data, schema=CHANGES.schema)


def _differs(old: pa.ChunkedArray, new: pa.ChunkedArray) -> pa.ChunkedArray:
    """Null-aware inequality: null vs value is a change, null vs null is not."""
    same = pc.fill_null(pc.equal(old, new), False)
    both_null = pc.and_(pc.is_null(old), pc.is_null(new))
    return pc.invert(pc.or_(same, both_null))


# Models.


def _model_changes(before: pa.Table, after: pa.Table) -> pa.Table:
    columns = ["repo_id", *_MODEL_FIELDS]
    old = _counts_as_text(before.select(columns))
    new = _counts_as_text(after.select(columns))
    old = old.append_column("_old", pa.repeat(True, old.num_rows))
    new = new.append_column("_new", pa.repeat(True, new.num_rows))
    joined = old.join(
        new, keys="repo_id", join_type="full outer", left_suffix="_old", right_suffix="_new"
    )
    in_old, in_new = pc.is_valid(joined.column("_old")), pc.is_valid(joined.column("_new"))
    added = joined.filter(pc.invert(in_old))
    removed = joined.filter(pc.invert(in_new))
    parts = [
        _table("model_added", added.num_rows, repo_id=added.column("repo_id")),
        _table("model_removed", removed.num_rows, repo_id=removed.column("repo_id")),
    ]
    both = joined.filter(pc.and_(in_old, in_new))
    for name, kind in _MODEL_FIELDS.items():
        changed = both.filter(_differs(both.column(f"{name}_old"), both.column(f"{name}_new")))
        parts.append(
            _table(
                kind,
                changed.num_rows,
                repo_id=changed.column("repo_id"),
                old_value=changed.column(f"{name}_old"),
                new_value=changed.column(f"{name}_new"),
            )
        )
    return pa.concat_tables(parts)


def _counts_as_text(table: pa.Table) -> pa.Table:
    """Counts as their decimal text (null stays null): the changes table holds
    old and new values as strings, and `1955` must not read `1955.0`. Equal
    whole numbers have equal text, so comparing the text compares the counts."""
    for name in _COUNT_FIELDS:
        index = table.schema.get_field_index(name)
        text = table.column(name).cast(pa.int64()).cast(pa.string())
        table = table.set_column(index, name, text)
    return table


# Scores.


def _events(scores: pa.Table, *, side: str, new_revisions: pa.Array) -> pa.Table:
    """The intervals new revisions closed (`old`) or opened (`new`), one row each."""
    revision, date = _SIDES[side]
    hit = scores.filter(pc.fill_null(pc.is_in(scores.column(revision), new_revisions), False))
    columns = {
        "leaderboard": hit.column("leaderboard"),
        "_key": key_column(hit),
        "revision": hit.column(revision),
        "date": hit.column(date),
        f"{side}_score": hit.column("value"),
        f"_{side}": pa.repeat(True, hit.num_rows),
    }
    columns.update(
        {f"{name}_{side}": hit.column(name) for name in _IDENTITY if name != "leaderboard"}
    )
    return pa.table(columns)


def _score_changes(scores: pa.Table, revisions: pa.Table, *, seen: pa.Array) -> pa.Table:
    applied = pc.equal(revisions.column("status"), "ok")
    unseen = pc.invert(pc.is_in(revisions.column("revision"), seen))
    new_revisions = revisions.filter(pc.and_(applied, unseen)).column("revision")
    if len(new_revisions) == 0:
        return CHANGES.empty()
    new_revisions = new_revisions.combine_chunks()
    closed = _events(scores, side="old", new_revisions=new_revisions)
    opened = _events(scores, side="new", new_revisions=new_revisions)
    joined = closed.join(
        opened, keys=["leaderboard", "_key", "revision", "date"], join_type="full outer"
    )
    was, now = pc.is_valid(joined.column("_old")), pc.is_valid(joined.column("_new"))
    identity = {
        name: pc.coalesce(joined.column(f"{name}_new"), joined.column(f"{name}_old"))
        for name in _IDENTITY
        if name != "leaderboard"
    }
    for name, column in identity.items():
        joined = joined.append_column(name, column)
    kinds = _split_reformatted(joined, kinds=_kinds(joined, was=was, now=now), scores=scores)
    joined = joined.append_column("_kind", kinds)
    parts = []
    for kind in ("score_added", "score_removed", "score_changed", "score_reformatted"):
        rows = joined.filter(pc.equal(joined.column("_kind"), kind))
        parts.append(
            _table(
                kind,
                rows.num_rows,
                **{name: rows.column(name) for name in _IDENTITY},
                revision=rows.column("revision"),
                date=rows.column("date"),
                old_score=rows.column("old_score"),
                new_score=rows.column("new_score"),
            )
        )
    return pa.concat_tables(parts)


def _kinds(joined: pa.Table, *, was: pa.ChunkedArray, now: pa.ChunkedArray) -> pa.ChunkedArray:
    changed = pc.and_(
        pc.and_(was, now),
        pc.fill_null(pc.not_equal(joined.column("old_score"), joined.column("new_score")), False),
    )
    none = pa.scalar(None, pa.string())
    return pc.if_else(
        pc.invert(was),
        pa.scalar("score_added"),
        pc.if_else(
            pc.invert(now), pa.scalar("score_removed"), pc.if_else(changed, "score_changed", none)
        ),
    )


def _split_reformatted(
    joined: pa.Table, *, kinds: pa.ChunkedArray, scores: pa.Table
) -> pa.ChunkedArray:
    """`score_changed` where old and new agree at the coarser precision becomes
    `score_reformatted`."""
    is_changed = pc.fill_null(pc.equal(kinds, "score_changed"), False)
    rows = joined.filter(is_changed)
    agree = np.zeros(joined.num_rows, dtype=bool)
    agree[np.flatnonzero(is_changed.to_numpy(zero_copy_only=False))] = reformatted(
        rows, scores=scores
    )
    split: pa.ChunkedArray = pc.if_else(pa.array(agree), pa.scalar("score_reformatted"), kinds)
    return split


# Revisions.


def _revision_changes(before: Mapping[str, Sequence[str]], revisions: pa.Table) -> pa.Table:
    newest: dict[str, dict[str, object]] = {}
    for row in revisions.select(["leaderboard", "revision", "date"]).to_pylist():
        newest[row["leaderboard"]] = row  # oldest first: the last one wins
    rows = []
    for leaderboard in sorted(set(before) | set(newest)):
        old = before[leaderboard][0] if before.get(leaderboard) else None
        new = newest.get(leaderboard, {})
        if old != new.get("revision"):
            rows.append(
                {
                    "change_kind": "source_revision_changed",
                    "leaderboard": leaderboard,
                    "old_value": old,
                    "new_value": new.get("revision"),
                    "revision": new.get("revision"),
                    "date": new.get("date"),
                }
            )
    return pa.Table.from_pylist(rows, schema=CHANGES.schema)


# Output.


def _sorted(changes: pa.Table) -> pa.Table:
    """Kinds in CHANGE_KINDS order, then every column: one order for equal tables."""
    order = pc.index_in(changes.column("change_kind"), value_set=pa.array(CHANGE_KINDS))
    keyed = changes.append_column("_kind_order", order)
    sort_keys = [("_kind_order", "ascending"), *((name, "ascending") for name in _SORT)]
    return changes.take(pc.sort_indices(keyed, sort_keys))
