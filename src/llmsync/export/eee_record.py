"""One Every Eval Ever (EEE) record and the parts every source's records share:
the envelope (schema version, ids, source, library, model), EEE's string-only
details, and the states of a group of intervals (a new record where one starts)."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from llmsync.export.eee_fields import (
    COLLECTIONS,
    SCHEMA_VERSION,
    SOURCES,
    UNKNOWN,
    epoch,
    moment,
    stable_uuid,
)
from llmsync.export.eee_identity import ModelPath

Row = dict[str, Any]


@dataclass(frozen=True)
class Record:
    collection: str
    path: ModelPath
    uuid: str
    start: dt.datetime
    body: dict[str, Any]

    @property
    def relative_path(self) -> str:
        return f"data/{self.collection}/{self.path.developer}/{self.path.model}/{self.uuid}.json"


def rows_of(table: pa.Table | None) -> list[Row]:
    return [] if table is None else table.to_pylist()


def states(rows: Sequence[Row]) -> Iterator[tuple[dt.datetime, list[Row]]]:
    """Each time the group's held values change, with the values held from then:
    every interval start, and every end while other values still hold."""
    spans = [
        (moment(r["valid_from"]), moment(r["valid_to"]) if r["valid_to"] else None, r) for r in rows
    ]
    times = {start for start, _, _ in spans} | {end for _, end, _ in spans if end is not None}
    for at in sorted(times):
        held = [r for start, end, r in spans if start <= at and (end is None or end > at)]
        if held:
            yield at, held


def details(pairs: Iterable[tuple[str, Any]]) -> dict[str, str]:
    """EEE's `additional_details`: strings only, nulls left out."""
    out: dict[str, str] = {}
    for key, value in pairs:
        if value is None:
            continue
        out[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return out


def finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def make_record(
    source: str,
    path: ModelPath,
    key: Sequence[str],
    at: dt.datetime,
    *,
    model_name: str,
    source_details: Iterable[tuple[str, Any]],
    model_details: Iterable[tuple[str, Any]],
    results: list[dict[str, Any]],
) -> Record:
    """One record of `source` (a key of `SOURCES`) as it stood from `at`. Its
    ids are a hash of `key` (what tells it apart within the source) and `at`."""
    facts, collection = SOURCES[source], COLLECTIONS[source]
    record_uuid = stable_uuid("\x1f".join([collection, *key, at.isoformat()]))
    body = {
        "schema_version": SCHEMA_VERSION,
        "evaluation_id": f"{collection}/{path.developer}_{path.model}/{record_uuid}",
        "retrieved_timestamp": epoch(at),
        "source_metadata": {
            "source_name": facts.source_name,
            # Aggregate numbers read off a published table, not per-item outputs.
            "source_type": "documentation",
            "source_organization_name": "Hugging Face",
            "source_organization_url": "https://huggingface.co",
            "evaluator_relationship": facts.relationship,
            "additional_details": details(source_details),
        },
        "eval_library": {"name": facts.eval_library, "version": UNKNOWN},
        "model_info": {
            "name": model_name,
            "id": path.model_id,
            "developer": path.model_id.split("/", 1)[0],
            "additional_details": {
                "deployment_type": facts.deployment,
                "model_availability": facts.availability,
                **details(model_details),
            },
        },
        "evaluation_results": results,
    }
    return Record(collection, path, record_uuid, at, body)


def encode(record: Record) -> bytes:
    return (json.dumps(record.body, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
