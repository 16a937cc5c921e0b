"""`eval_results` intervals closed and opened on one day -> `changes` rows.

A changes row for an eval result: `leaderboard` is `eval_results`, `benchmark`
the dataset id, `revision` the file, `date` the day llmsync saw the change,
`old_score`/`new_score` the values and `old_value`/`new_value` the result's
task, branch and verification as text (`task_id=...; pull_request=...; ...`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from typing import Any

import pyarrow as pa

from llmsync.tables.eval_results import carried, key_of, open_rows, same_content
from llmsync.tables.schemas import CHANGES, EVAL_RESULT_KEY

SOURCE = "eval_results"


def eval_changes(
    results: pa.Table,
    *,
    prior: pa.Table | None,
    on: dt.date,
    previous_snapshot: str | None,
    gone: Collection[str] = (),
    renamed: Mapping[str, str] | None = None,
) -> pa.Table:
    """The changes from `prior` (the previous snapshot's intervals) to `results`
    (dated `on`, the run's day): the previous snapshot's open rows compared
    with this one's, by key and content (see `tables.schemas_evals`). A result
    of a repo `gone` (it answered 404) is closed as `eval_result_repo_gone`;
    one of a repo `renamed` (old id: new id) is compared under its new id."""
    moved = renamed or {}
    prior_open = open_rows(prior) if prior is not None else []
    before = {key_of(r): r for r in (carried(row, moved) for row in prior_open)}
    after = {key_of(r): r for r in open_rows(results)}
    closed = [r for k, r in before.items() if k not in after]
    opened = {k: r for k, r in after.items() if k not in before}
    edited = {
        k: (before[k], r)
        for k, r in after.items()
        if k in before and not same_content(before[k], r)
    }
    # A PR that still holds results is open: one of its results leaving is an edit.
    open_prs = {(r["repo_id"], r["pull_request"]) for r in after.values()}
    out: list[dict[str, Any]] = []
    # PR results that left are matched to the main results they reached first:
    # a main result opened, or edited to the PR's value, is the merge itself.
    for old in closed:
        target = _merge_target(old, opened, edited) if old["pull_request"] is not None else None
        if old["repo_id"] in gone:
            out.append(_row("eval_result_repo_gone", old, None, on))
        elif target is not None:
            out.append(_row("eval_result_pr_merged", old, target, on))
        elif (
            old["pull_request"] is not None
            and (old["repo_id"], old["pull_request"]) not in open_prs
        ):
            out.append(_row("eval_result_pr_closed", old, None, on))
        else:
            out.append(_row("eval_result_removed", old, None, on))
    for old, new in edited.values():
        out.append(_row(_edit_kind(old, new), old, new, on))
    for new in opened.values():
        kind = "eval_result_rejected" if new["error"] is not None else "eval_result_added"
        out.append(_row(kind, None, new, on))
    return pa.Table.from_pylist(
        [{**row, "previous_snapshot": previous_snapshot} for row in out], schema=CHANGES.schema
    )


def _merge_target(
    old: Mapping[str, Any],
    opened: dict[tuple[Any, ...], dict[str, Any]],
    edited: dict[tuple[Any, ...], tuple[dict[str, Any], dict[str, Any]]],
) -> dict[str, Any] | None:
    """The main result `old` (a PR's result that left) reached, taken out of
    `opened` or `edited` so that it is told once; None: it reached none."""
    main_key = tuple(None if n == "pull_request" else old[n] for n in EVAL_RESULT_KEY)
    if main_key in opened:
        return opened.pop(main_key)
    pair = edited.get(main_key)
    if pair is not None and pair[1]["value"] == old["value"] and pair[1]["error"] is None:
        del edited[main_key]
        return pair[1]
    return None


def _edit_kind(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    if new["error"] is not None and old["error"] is None:
        return "eval_result_rejected"
    if old["verified"] != new["verified"] and old["value"] == new["value"]:
        return "eval_result_verified"
    return "eval_result_value_changed"


def _describe(row: Mapping[str, Any] | None) -> str | None:
    if row is None:
        return None
    parts = [f"task_id={row['task_id']}", f"pull_request={row['pull_request']}"]
    parts += [f"verified={row['verified']}", f"notes={row['notes']}"]
    if row["error"] is not None:
        parts.append(f"error={row['error']}")
    return "; ".join(parts)


def _row(
    kind: str, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None, on: dt.date
) -> dict[str, Any]:
    either = new if new is not None else old
    assert either is not None
    return {
        "change_kind": kind,
        "repo_id": either["repo_id"],
        "leaderboard": SOURCE,
        "benchmark": either["dataset_id"],
        "revision": either["filename"],
        "date": on,
        "old_value": _describe(old),
        "new_value": _describe(new),
        "old_score": old["value"] if old is not None else None,
        "new_score": new["value"] if new is not None else None,
    }
