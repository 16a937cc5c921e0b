"""Model info JSON + model card -> one `models` row per tracked repo.

The /api/models body changes shape over time (fields appear, `gated` turns
from a bool into a string, projections return three keys), so every field is
read defensively: a missing or wrongly typed field becomes null, never an error.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from llmsync.tables.cards import (
    DEFAULT_MAX_BYTES,
    ParsedCard,
    as_string,
    as_string_list,
    card_evals,
    model_index_evals,
    parse_card,
)
from llmsync.tables.schemas import MODEL_STATUSES, MODELS

# Card statuses that carry over to the row as they are; `no_front_matter` is a
# plain Markdown card, which is fine (the row stays `ok`, with the reason kept).
_CARD_STATUS_TO_MODEL = {
    "ok": "ok",
    "no_front_matter": "ok",
    "card_parse_error": "card_parse_error",
    "card_too_large": "card_too_large",
}


def model_record(
    repo_id: str,
    *,
    info_json: bytes | None,
    card: bytes | None,
    status: str | None = None,
    detail: str | None = None,
    max_card_bytes: int = DEFAULT_MAX_BYTES,
) -> dict[str, Any]:
    """One MODELS row from the exact /api/models body and README.md bytes.

    `status` overrides the derived status when the fetch itself failed
    (not_found, gated, unavailable, invalid_repo_id, card_unavailable,
    card_gated, card_too_large).
    """
    if status is not None and status not in MODEL_STATUSES:
        raise ValueError(f"unknown model status {status!r}; expected one of {MODEL_STATUSES}")
    if info_json is None and status is None:
        raise ValueError(f"{repo_id}: info_json is None, so status must say why")

    info, info_problem = _load_info(info_json)
    parsed = parse_card(card, max_bytes=max_card_bytes) if card is not None else None
    front_matter: Mapping[str, Any] = parsed.front_matter if parsed else {}
    card_data = _mapping(info.get("cardData"))
    tags = _tags(info, front_matter)

    row_status, row_detail = _status(status, detail, parsed=parsed, info_problem=info_problem)
    return {
        "repo_id": repo_id,
        "hub_repo_id": _string(info.get("id")),
        "status": row_status,
        "status_detail": row_detail,
        "sha": _string(info.get("sha")),
        "author": _string(info.get("author")),
        "license": _first_string(
            front_matter.get("license"),
            card_data.get("license"),
            _tag_values(tags or [], "license"),
        ),
        "base_model": _first_string(
            front_matter.get("base_model"),
            card_data.get("base_model"),
            _tag_values(tags or [], "base_model"),
        ),
        "params_b": _params_b(info.get("safetensors")),
        "pipeline_tag": _string(info.get("pipeline_tag")),
        "library_name": _string(info.get("library_name")),
        "tags": tags,
        "languages": _first_list(front_matter.get("language"), card_data.get("language")),
        "datasets": _first_list(
            front_matter.get("datasets"),
            card_data.get("datasets"),
            _tag_values(tags or [], "dataset"),
        ),
        "downloads": _integer(info.get("downloads")),
        "likes": _integer(info.get("likes")),
        "gated": _gated(info.get("gated")),
        "created_at": _timestamp(info.get("createdAt")),
        "last_modified": _timestamp(info.get("lastModified")),
        "card_present": card is not None,
        "card_sha256": parsed.sha256 if parsed else None,
        "card_evals": _evals(front_matter, info),
    }


def models_table(records: list[dict[str, Any]]) -> pa.Table:
    """The MODELS table, one row per repo, sorted by repo_id."""
    seen: set[str] = set()
    for record in records:
        if record["repo_id"] in seen:
            raise ValueError(f"duplicate repo_id in models records: {record['repo_id']}")
        seen.add(record["repo_id"])
    ordered = sorted(records, key=lambda record: str(record["repo_id"]))
    return pa.Table.from_pylist(ordered, schema=MODELS.schema)


def _load_info(info_json: bytes | None) -> tuple[Mapping[str, Any], str | None]:
    if info_json is None:
        return {}, None
    try:
        info = json.loads(info_json)
    except (ValueError, RecursionError):
        return {}, "model info is not valid JSON"
    if not isinstance(info, dict):
        return {}, "model info is not a JSON object"
    return info, None


def _status(
    status: str | None,
    detail: str | None,
    *,
    parsed: ParsedCard | None,
    info_problem: str | None,
) -> tuple[str, str | None]:
    if status is not None:
        return status, detail
    if info_problem is not None:
        return "unavailable", info_problem
    if parsed is None:
        return "no_card", detail
    return _CARD_STATUS_TO_MODEL[parsed.status], parsed.detail or detail


def _evals(front_matter: Mapping[str, Any], info: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The card's own model-index first; else what the Hub parsed from it."""
    for source in (
        card_evals(front_matter),
        model_index_evals(info.get("model-index")),
        model_index_evals(_mapping(info.get("cardData")).get("model-index")),
    ):
        if source:
            return source
    return []


def _tags(info: Mapping[str, Any], front_matter: Mapping[str, Any]) -> list[str] | None:
    """The Hub's tags (they include the card's); the card's own only when info is absent."""
    if "tags" in info:
        return as_string_list(info["tags"])
    card_tags = as_string_list(front_matter.get("tags"))
    return card_tags or None


def _tag_values(tags: list[str], prefix: str) -> list[str]:
    """Values of `prefix:value` tags; `base_model:finetune:x` style relation tags are skipped."""
    values = []
    for tag in tags:
        name, sep, value = tag.partition(":")
        if sep and name == prefix and value and ":" not in value:
            values.append(value)
    return values


def _first_string(*candidates: Any) -> str | None:
    for candidate in candidates:
        value = as_string(candidate)
        if value is not None:
            return value
    return None


def _first_list(*candidates: Any) -> list[str] | None:
    for candidate in candidates:
        values = as_string_list(candidate)
        if values:
            return values
    return None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _integer(value: Any) -> int | None:
    # JSON booleans are ints in Python; a `likes: true` is not a count.
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def _params_b(safetensors: Any) -> float | None:
    total = _mapping(safetensors).get("total")
    if isinstance(total, int | float) and not isinstance(total, bool) and total > 0:
        return float(total) / 1e9
    return None


def _gated(value: Any) -> str | None:
    # Older bodies say `false`/`true`; current ones `false`/"auto"/"manual".
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value:
        return value
    return None


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        # The Hub writes UTC; a bare timestamp is read as UTC rather than local time.
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
