"""`eval_results` intervals closed and opened on one day -> `changes` rows.

A changes row for an eval result: `leaderboard` is `eval_results`, `benchmark`
the dataset id, `revision` the file, `date` the day llmsync saw the change,
`old_score`/`new_score` the values and `old_value`/`new_value` the result's
task, branch and verification as text (`task_id=...; pull_request=...; ...`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import pyarrow as pa

from llmsync.tables.schemas import CHANGES, EVAL_RESULT_KEY

SOURCE = "eval_results"


def eval_changes(
    results: pa.Table, *, prior: pa.Table | None, on: dt.date, previous_snapshot: str | None
) -> pa.Table:
    """The changes from `prior` (the previous snapshot's intervals) to `results`:
    the intervals closed on `on` and those opened since `prior`."""
    rows = results.to_pylist()
    before = prior.to_pylist() if prior is not None else []
    was_open = {(*_key(r), r["valid_from"]) for r in before if r["valid_to"] is None}
    known = {(*_key(r), r["valid_from"]) for r in before}
    closed = [r for r in rows if r["valid_to"] == on and (*_key(r), r["valid_from"]) in was_open]
    opened = [r for r in rows if (*_key(r), r["valid_from"]) not in known]
    out: list[dict[str, Any]] = []
    by_key = {_key(r): r for r in opened}
    merged_targets = {_key(r, branch=False): r for r in opened if r["pull_request"] is None}
    # A PR that still holds results is open: one of its results leaving is an edit.
    open_prs = {(r["repo_id"], r["pull_request"]) for r in rows if r["valid_to"] is None}
    for old in closed:
        new = by_key.pop(_key(old), None)
        if new is not None:
            out.append(_row(_edit_kind(old, new), old, new, on))
            continue
        target = merged_targets.get(_key(old, branch=False)) if old["pull_request"] else None
        if target is not None and by_key.pop(_key(target), None) is not None:
            out.append(_row("eval_result_pr_merged", old, target, on))
        elif (
            old["pull_request"] is not None
            and (old["repo_id"], old["pull_request"]) not in open_prs
        ):
            out.append(_row("eval_result_pr_closed", old, None, on))
        else:
            out.append(_row("eval_result_removed", old, None, on))
    for new in by_key.values():
        kind = "eval_result_rejected" if new["error"] is not None else "eval_result_added"
        out.append(_row(kind, None, new, on))
    table = pa.Table.from_pylist(
        [{**row, "previous_snapshot": previous_snapshot} for row in out], schema=CHANGES.schema
    )
    return table


def _key(row: Mapping[str, Any], *, branch: bool = True) -> tuple[Any, ...]:
    return tuple(row[n] for n in EVAL_RESULT_KEY if branch or n != "pull_request")


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
