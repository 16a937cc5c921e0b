"""The Hub's eval results (`eval_results`) -> EEE records: one per model repo
and branch (main, or one PR) per state its results held, dated by observation."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from llmsync.export.eee_fields import epoch, moment
from llmsync.export.eee_identity import Identities
from llmsync.export.eee_record import Record, Row, details, finite, make_record, states


def _entry_time(text: str | None) -> str | None:
    """An eval result's own `date` (ISO-8601 day or datetime) as EEE's epoch."""
    if not text:
        return None
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return epoch(parsed)


def _model_commit(raw_object: str | None) -> str | None:
    """The model repo's commit llmsync read the result at: the landing path is
    `api-info/models/<owner>/<name>/<commit>/<sha256>.json` (store.raw)."""
    parts = (raw_object or "").split("/")
    return parts[-2] if len(parts) == 6 and parts[:2] == ["api-info", "models"] else None


def _eval_result(row: Row, names: Mapping[tuple[str, str], str]) -> dict[str, Any]:
    dataset, task = str(row["dataset_id"]), str(row["task_id"])
    # A task named after its dataset (a single-task benchmark) is named once.
    task_path = dataset if task == dataset else f"{dataset}/{task}"
    name = names.get((dataset, task)) or task_path
    result_id = "::".join(
        [row["filename"], task_path]
        + ([row["notes"]] if row["notes"] else [])
        + ([str(row["occurrence"])] if row["occurrence"] else [])
    )
    result: dict[str, Any] = {
        "evaluation_result_id": result_id,
        "evaluation_name": name,
        "source_data": {
            "dataset_name": name,
            "source_type": "hf_dataset",
            "hf_repo": dataset,
            "additional_details": details(
                [("task_id", task), ("dataset_revision", row.get("dataset_revision"))]
            ),
        },
    }
    when = _entry_time(row.get("date"))
    if when is not None:
        result["evaluation_timestamp"] = when
    # The Hub states no scale or unit for these values: no bounds are claimed.
    # Lower is not better: the Hub ranks a benchmark's results highest first.
    result["metric_config"] = {
        "evaluation_description": f"{name} as the model repo's eval results report it",
        "metric_id": task_path,
        "lower_is_better": False,
    }
    result["score_details"] = {
        "score": row["value"],
        "details": details(
            [
                ("verified", row.get("verified")),
                ("notes", row.get("notes")),
                ("date", row.get("date")),
                ("filename", row["filename"]),
                ("source_url", row.get("source_url")),
                ("source_name", row.get("source_name")),
                ("source_user", row.get("source_user")),
                ("source_org", row.get("source_org")),
                ("first_observed", moment(row["valid_from"]).isoformat()),
                ("first_observed_at_model_commit", _model_commit(row.get("raw_object"))),
            ]
        ),
    }
    return result


def _result_order(row: Row) -> tuple[str, str, str, str, int]:
    return (
        row["filename"],
        row["dataset_id"],
        row["task_id"],
        row["notes"] or "",
        row["occurrence"],
    )


def eval_result_records(
    eval_results: Sequence[Row],
    benchmarks: Sequence[Row],
    identities: Identities,
    skipped: Counter[str],
) -> Iterator[Record]:
    """One record per model repo and branch (main, or one PR) per state its
    eval results held."""
    names = {(b["dataset_id"], b["task_id"]): b["name"] for b in benchmarks if b.get("name")}
    groups: dict[tuple[str, int | None], list[Row]] = {}
    for row in eval_results:
        if row.get("error") is not None:
            skipped["eval results the Hub rejected (error)"] += 1
            continue
        if row["dataset_id"] is None or row["task_id"] is None or not finite(row["value"]):
            skipped["eval results with no dataset, task or finite value"] += 1
            continue
        groups.setdefault((row["repo_id"], row["pull_request"]), []).append(row)
    for repo_id, pull_request in sorted(groups, key=lambda k: (k[0], -1 if k[1] is None else k[1])):
        rows = groups[(repo_id, pull_request)]
        path = identities.resolve(repo_id)
        if path is None:
            skipped["eval results of a repo with no datastore path"] += len(rows)
            continue
        branch = "main" if pull_request is None else f"refs/pr/{pull_request}"
        for at, held in states(rows):
            held.sort(key=_result_order)
            yield make_record(
                "eval_results",
                path,
                [repo_id, str(pull_request)],
                at,
                model_name=repo_id,
                source_details=[
                    ("hf_model_repo", repo_id),
                    ("hf_model_branch", branch),
                    ("pull_request", pull_request),
                    ("hf_model_files", ", ".join(sorted({r["filename"] for r in held}))),
                    ("observed_at", at.isoformat()),
                ],
                model_details=[("listed_as", repo_id if repo_id != path.model_id else None)],
                results=[_eval_result(r, names) for r in held],
            )
