"""The leaderboards' `scores` -> EEE records: one per leaderboard row (model,
precision, sha, occurrence) per state it held, dated by the export it starts in."""

from __future__ import annotations

import bisect
import datetime as dt
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

from llmsync.export.eee_fields import (
    BENCHMARK_NAMES,
    COLLECTIONS,
    LEADERBOARD_FILE,
    SOURCES,
    SourceFacts,
    epoch,
)
from llmsync.export.eee_identity import Identities
from llmsync.export.eee_record import Record, Row, details, finite, make_record, states
from llmsync.tables.schemas import BENCHMARKS, LEADERBOARDS


class _RevisionsInForce:
    """Per leaderboard, the `ok` export in force on a day (the newest on or before it)."""

    def __init__(self, revisions: Sequence[Row]) -> None:
        self._by: dict[str, tuple[list[dt.date], list[str]]] = {}
        # By day, then in the table's order (oldest first): of two exports of
        # one day, the later is in force.
        ok = sorted(
            (row["date"], position, row["leaderboard"], row["revision"])
            for position, row in enumerate(revisions)
            if row["status"] == "ok"
        )
        for day, _, leaderboard, revision in ok:
            days, shas = self._by.setdefault(leaderboard, ([], []))
            days.append(day)
            shas.append(revision)

    def at(self, leaderboard: str, day: dt.date) -> str | None:
        days, shas = self._by.get(leaderboard, ([], []))
        index = bisect.bisect_right(days, day) - 1
        return shas[index] if index >= 0 else None


def _leaderboard_result(collection: str, row: Row, facts: SourceFacts) -> dict[str, Any]:
    benchmark = str(row["benchmark"])
    name = BENCHMARK_NAMES.get(benchmark, benchmark)
    if "/" in benchmark:
        # OpenEvals names each benchmark by its Hub dataset id.
        source_data: dict[str, Any] = {
            "dataset_name": name,
            "source_type": "hf_dataset",
            "hf_repo": benchmark,
        }
    else:
        # The leaderboard exports name no benchmark dataset repo: none is claimed.
        source_data = {"dataset_name": name, "source_type": "other"}
    return {
        "evaluation_result_id": benchmark,
        "evaluation_name": name,
        "source_data": source_data,
        "evaluation_timestamp": epoch(row["valid_from"]),
        "metric_config": {
            "evaluation_description": f"{name} as the {facts.source_name} reports it",
            "metric_id": f"{collection}.{benchmark}",
            "metric_name": name,
            "metric_unit": "percent",
            "lower_is_better": False,
            "score_type": "continuous",
            "min_score": 0.0,
            "max_score": 100.0,
        },
        "score_details": {
            "score": row["value"],
            "details": details(
                [
                    ("raw_value", row.get("raw_value")),
                    ("first_seen_revision", row["valid_from_revision"]),
                ]
            ),
        },
    }


def leaderboard_records(
    scores: Sequence[Row],
    revisions: Sequence[Row],
    identities: Identities,
    skipped: Counter[str],
) -> Iterator[Record]:
    """One record per leaderboard row (model, precision, sha, occurrence) per
    state it held."""
    in_force = _RevisionsInForce(revisions)
    order = {lb: {b: i for i, b in enumerate(BENCHMARKS[lb])} for lb in LEADERBOARDS}
    groups: dict[tuple[Any, ...], list[Row]] = {}
    for row in scores:
        if row["repo_id"] is None:
            skipped["leaderboard values of a name with no Hub repo id"] += 1
            continue
        if not finite(row["value"]) or not 0.0 <= row["value"] <= 100.0:
            skipped["leaderboard values that are no number in 0-100"] += 1
            continue
        key = tuple(
            row[c] for c in ("leaderboard", "model_name", "precision", "model_sha", "occurrence")
        )
        groups.setdefault(key, []).append(row)
    for key in sorted(groups, key=lambda k: tuple("" if v is None else str(v) for v in k)):
        rows = groups[key]
        leaderboard, model_name, precision, model_sha, occurrence = key
        facts, collection = SOURCES[leaderboard], COLLECTIONS[leaderboard]
        path = identities.resolve(rows[0]["repo_id"])
        if path is None:
            skipped["leaderboard rows with no datastore path"] += 1
            continue
        listed_as = rows[0]["repo_id"]
        for at, held in states(rows):
            held.sort(key=lambda r: (order[leaderboard].get(r["benchmark"], 99), r["benchmark"]))
            yield make_record(
                leaderboard,
                path,
                [model_name, precision or "", model_sha or "", str(occurrence)],
                at,
                model_name=model_name,
                source_details=[
                    ("hf_dataset", facts.dataset),
                    ("hf_dataset_revision", in_force.at(leaderboard, at.date())),
                    ("hf_dataset_file", LEADERBOARD_FILE),
                    ("export_date", at.date().isoformat()),
                ],
                model_details=[
                    ("precision", precision),
                    ("model_sha", model_sha),
                    ("leaderboard_row_occurrence", occurrence),
                    ("listed_as", listed_as if listed_as != path.model_id else None),
                ],
                results=[_leaderboard_result(collection, r, facts) for r in held],
            )
