"""Model listings (`GET /api/models`): many repos' info in one request.

An author's listing names every repo of that author, up to 1,000 per page,
pages chained by `Link: <...>; rel="next"`. Asked with `expand[]=...`, each
item holds the same keys (in the same JSON shape) as that repo's
`/api/models/{id}` body, for the properties asked, which are the ones the
`models` table reads. A listing sorted by `lastModified` (newest first) tells
what changed since a given time.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from urllib.parse import urlencode

# Every property `tables.models.model_record` reads from a model's info.
LISTING_EXPAND = (
    "author",
    "sha",
    "lastModified",
    "createdAt",
    "cardData",
    "likes",
    "downloads",
    "gated",
    "tags",
    "safetensors",
    "pipeline_tag",
    "library_name",
    "model-index",
    # The Hub's eval results (`.eval_results/*.yaml`): no request of their own.
    "evalResults",
)
PAGE_SIZE = 1000
# A model-info request asks for the same properties: with `expand` the Hub
# answers those (and `_id`, `id`) only.
INFO_QUERY = urlencode([("expand[]", name) for name in LISTING_EXPAND])


def listing_url(
    endpoint: str, *, author: str | None = None, sort: str | None = None, limit: int = PAGE_SIZE
) -> str:
    """The first page's URL of a model listing with every property we read."""
    params: list[tuple[str, str]] = []
    if author is not None:
        params.append(("author", author))
    if sort is not None:
        params.append(("sort", sort))
    params += [("expand[]", name) for name in LISTING_EXPAND]
    params.append(("limit", str(limit)))
    return f"{endpoint.rstrip('/')}/api/models?{urlencode(params)}"


def page_items(raw: bytes) -> list[dict[str, Any]]:
    """The items of a landed listing page (the client checked it is a JSON list
    of objects when it landed; a page that is not yields nothing)."""
    data = json.loads(raw)
    if not isinstance(data, list):
        return []
    return [item for item in data if isinstance(item, dict) and isinstance(item.get("id"), str)]


def item_bytes(item: dict[str, Any]) -> bytes:
    """One item as the JSON the `models` table reads: the same bytes from the
    same landed page on every read, so a rebuild hashes what the sync hashed."""
    return json.dumps(item, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def item_modified(item: dict[str, Any]) -> dt.datetime | None:
    value = item.get("lastModified")
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
