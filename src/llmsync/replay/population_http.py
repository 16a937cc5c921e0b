"""The Hub's HTTP API over the population: `GET /api/models` listings and the
endpoints of a generated repo.

Listings take the Hub's parameters as huggingface_hub's `list_models` sends
them: `author`, `search`, `filter` (tags, repeated), `pipeline_tag`, `gated`,
`sort` (`lastModified`, `likes`, `downloads`, `createdAt`, `trendingScore`;
always descending, as the Hub now sorts), `limit` (the page size), `expand`
(repeated; `expand[]` too), `full`, `cardData`, `config` and `cursor`.
Pages follow one another through `Link: <...&cursor=...>; rel="next"`; a
cursor is the last item's (sort value, `_id`), so that a repo that changes
between two pages moves as it would on the Hub instead of shifting the pages.

What an item holds: `_id` and `id`, then with `expand` only the properties
asked; with `full` every property but `cardData` and `config` (asked by their
own flags); with none of them the Hub's default listing properties. A
generated repo's item always carries `llmsync_replay_generated`.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import heapq
import json
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode

from llmsync.hub.hashing import git_blob_oid
from llmsync.replay.generated import (
    CARD_FILE,
    MARKER_KEY,
    GeneratedRepo,
    Version,
    card,
    info_body,
)
from llmsync.replay.hubwide import CHURN_NAMESPACE, HubWide
from llmsync.replay.population import Entry, Population
from llmsync.replay.population_evals import items as eval_items
from llmsync.replay.replies import (
    JSON_TYPE,
    Reply,
    bytes_reply,
    content_type,
    dump_json,
    error_reply,
    gated_reply,
    iso,
)
from llmsync.replay.routes import Route

MAX_PAGE_SIZE = 1000
GENERATOR = "llmsync-replay-generator"

DEFAULT_PROPERTIES = (
    "_id",
    "id",
    "likes",
    "trendingScore",
    "private",
    "downloads",
    "tags",
    "pipeline_tag",
    "library_name",
    "createdAt",
    "modelId",
)
# huggingface_hub's ExpandModelProperty_T: what `expand` may ask for.
EXPAND_PROPERTIES = frozenset(
    {
        "author",
        "baseModels",
        "cardData",
        "childrenModelCount",
        "config",
        "createdAt",
        "disabled",
        "downloads",
        "downloadsAllTime",
        "evalResults",
        "gated",
        "gguf",
        "inference",
        "inferenceProviderMapping",
        "lastModified",
        "library_name",
        "likes",
        "mask_token",
        "model-index",
        "pipeline_tag",
        "private",
        "resourceGroup",
        "safetensors",
        "sha",
        "siblings",
        "spaces",
        "tags",
        "transformersInfo",
        "trendingScore",
        "usedStorage",
        "widgetData",
    }
)
_SORTS: dict[str, tuple[str, Any]] = {
    # sort parameter -> (item key, value when absent)
    "lastModified": ("lastModified", ""),
    "likes": ("likes", 0),
    "downloads": ("downloads", 0),
    "createdAt": ("createdAt", ""),
    "trendingScore": ("trendingScore", 0),
}
_SORT_ALIASES = {
    "last_modified": "lastModified",
    "created_at": "createdAt",
    "trending_score": "trendingScore",
}


def _true(values: list[str] | None) -> bool:
    """A boolean query parameter as the Hub reads one (`full=true`, `full=1`, `full`)."""
    if not values:
        return False
    return values[-1].lower() in ("true", "1", "")


# -- listings ---------------------------------------------------------------------


def listing(
    population: Population,
    *,
    query: str,
    base_url: str,
    default_page_size: int,
    hub_wide: HubWide | None = None,
) -> Reply:
    """One page of `GET /api/models`: the population, and with `hub_wide` the
    authors' other repos and the Hub-wide churn (`hubwide.py`), merged."""
    pairs = parse_qsl(query, keep_blank_values=True)
    params: dict[str, list[str]] = {}
    for key, value in pairs:
        params.setdefault(key.removesuffix("[]"), []).append(value)

    sort_name = (params.get("sort") or ["trendingScore"])[-1]
    sort_name = _SORT_ALIASES.get(sort_name, sort_name)
    if sort_name not in _SORTS:
        return error_reply(400, None, f"Invalid sort: {sort_name!r}; one of {sorted(_SORTS)}")
    expand = params.get("expand", [])
    unknown = sorted(set(expand) - EXPAND_PROPERTIES)
    if unknown:
        return error_reply(400, None, f'"expand" must be one of {sorted(EXPAND_PROPERTIES)}')
    full, with_card, with_config = (_true(params.get(k)) for k in ("full", "cardData", "config"))
    if expand and (full or with_card or with_config):
        return error_reply(400, None, '"expand" cannot be used with "full", "cardData" or "config"')
    try:
        limit = int((params.get("limit") or [str(default_page_size)])[-1])
    except ValueError:
        return error_reply(400, None, '"limit" must be an integer')
    page_size = max(1, min(limit, default_page_size, MAX_PAGE_SIZE))
    after: tuple[Any, str] | None = None
    if params.get("cursor"):
        after = _decode_cursor(params["cursor"][-1])
        if after is None:
            return error_reply(400, None, "Invalid cursor")

    author = (params.get("author") or [""])[-1].lower()
    sources = _sources(population, hub_wide, sort=sort_name, author=author)
    keep = _filter(params)
    page: list[tuple[Any, str, Entry]] = []
    for row in heapq.merge(*(_descending(s, after) for s in sources), key=_by, reverse=True):
        if keep(row[2]):
            page.append(row)
            if len(page) > page_size:
                break
    more = len(page) > page_size
    page = page[:page_size]
    items = [
        _project(entry, expand=expand, full=full, card=with_card, config=with_config)
        for _, _, entry in page
    ]
    headers = [("Content-Type", JSON_TYPE)]
    if more:
        value, object_id, _ = page[-1]
        rest = [(k, v) for k, v in pairs if k != "cursor"]
        rest.append(("cursor", _encode_cursor(value, object_id)))
        headers.append(("Link", f'<{base_url}/api/models?{urlencode(rest)}>; rel="next"'))
    return Reply(200, headers, dump_json(items))


def _sources(
    population: Population, hub_wide: HubWide | None, *, sort: str, author: str
) -> list[list[tuple[Any, str, Entry]]]:
    """The sorted lists a listing merges: the population, then an author's
    other repos (every author's without `author`) and the churn."""
    field, absent = _SORTS[sort]

    def sort_value(entry: Entry) -> Any:
        return entry.item.get(field) or absent

    sources = [population.sorted_entries(sort, sort_value)]
    if hub_wide is not None:
        sources.append(hub_wide.sorted_others(sort, sort_value, author=author))
        if not author or author.startswith(CHURN_NAMESPACE):  # churn has its own authors
            sources.append(hub_wide.churn(sort, sort_value))
    return sources


def _by(row: tuple[Any, str, Entry]) -> tuple[Any, str]:
    return row[0], row[1]


def _descending(
    ordered: list[tuple[Any, str, Entry]], after: tuple[Any, str] | None
) -> Iterator[tuple[Any, str, Entry]]:
    """`ordered` (ascending) from just before the cursor `after`, backwards."""
    start = len(ordered) if after is None else bisect.bisect_left(ordered, after, key=_by)
    return (ordered[index] for index in range(start - 1, -1, -1))


def _filter(params: dict[str, list[str]]) -> Callable[[Entry], bool]:
    author = (params.get("author") or [""])[-1].lower()
    search = (params.get("search") or [""])[-1].lower()
    tags = [t for t in params.get("filter", []) if t]
    pipeline = (params.get("pipeline_tag") or [""])[-1]
    gated = (params.get("gated") or [""])[-1].lower()

    def keep(entry: Entry) -> bool:
        repo_id = entry.repo_id.lower()
        if author and repo_id.partition("/")[0] != author:
            return False
        if search and search not in repo_id:
            return False
        item = entry.item
        if tags and not set(tags) <= set(item.get("tags") or ()):
            return False
        if pipeline and item.get("pipeline_tag") != pipeline:
            return False
        return gated not in ("true", "false") or bool(item.get("gated")) == (gated == "true")

    return keep


def _project(
    entry: Entry, *, expand: list[str], full: bool, card: bool, config: bool
) -> dict[str, Any]:
    item = entry.item
    if expand:
        wanted: Any = ("_id", "id", *expand)
    elif full:
        wanted = [k for k in item if k not in ("cardData", "config", "evalResults")]
    else:
        wanted = DEFAULT_PROPERTIES
    out = {key: item[key] for key in wanted if key in item}
    if not expand:
        if card and "cardData" in item:
            out["cardData"] = item["cardData"]
        if config and "config" in item:
            out["config"] = item["config"]
    if entry.generated:
        out[MARKER_KEY] = item[MARKER_KEY]
    return out


def _encode_cursor(value: Any, object_id: str) -> str:
    raw = json.dumps([value, object_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[Any, str] | None:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value, object_id = json.loads(raw)
    except (binascii.Error, ValueError, TypeError):
        return None
    if not isinstance(object_id, str) or not isinstance(value, str | int | float):
        return None
    return value, object_id


# -- one generated repo ---------------------------------------------------------------


def repo_api(repo: GeneratedRepo, method: str, route: Route, *, query: str, body: bytes) -> Reply:
    """`/api/models/{id}[/revision|tree|commits|paths-info/{rev}...]`."""
    tail = route.tail
    action = tail[0] if tail else "info"
    if action == "revision" and len(tail) < 2:
        return error_reply(404, None, "Not Found")
    revision = tail[1] if len(tail) >= 2 else "main"
    version = repo.version(revision)
    if version is None:
        return error_reply(404, "RevisionNotFound", f"Invalid rev id: {revision}")
    params = parse_qs(query, keep_blank_values=True)
    if action in ("info", "revision") and method in ("GET", "HEAD"):
        blobs = _true(params.get("blobs"))
        data = info_body(repo, version, blobs=blobs)
        properties = params.get("expand", []) + params.get("expand[]", [])
        if "evalResults" in properties:
            data["evalResults"] = eval_items(repo, version)
        if properties:
            keep = ("_id", "id", MARKER_KEY, *properties)
            data = {k: v for k, v in data.items() if k in keep}
        return Reply(200, [("Content-Type", JSON_TYPE)], dump_json(data))
    if action == "tree" and method in ("GET", "HEAD"):
        path = "/".join(tail[2:]).strip("/")
        if path:
            return error_reply(404, "EntryNotFound", f'{path} does not exist on "{revision}"')
        entry = _tree_entry(repo, version, expand=_true(params.get("expand")))
        return Reply(200, [("Content-Type", JSON_TYPE)], dump_json([entry]))
    if action == "commits" and method in ("GET", "HEAD"):
        history = repo.versions[: repo.versions.index(version) + 1]
        return Reply(
            200,
            [("Content-Type", JSON_TYPE)],
            dump_json([_commit(repo, v) for v in reversed(history)]),
        )
    if action == "paths-info" and method == "POST":
        form = parse_qs(body.decode("utf-8", "replace"))
        wanted = {p.strip("/") for p in form.get("paths", [])}
        entries = (
            [_tree_entry(repo, version, expand=_true(form.get("expand")))]
            if CARD_FILE in wanted
            else []
        )
        return Reply(200, [("Content-Type", JSON_TYPE)], dump_json(entries))
    return error_reply(404, None, "Not Found")


def _commit(repo: GeneratedRepo, version: Version) -> dict[str, Any]:
    title = (
        "Generated from the leaderboard row"
        if version.revision == 1
        else version.eval_commit or f"Population mutation (seed {version.seed})"
    )
    return {
        "id": version.sha,
        "title": title,
        "message": f"{MARKER_KEY}: generated commit of {repo.repo_id}, not a Hub commit",
        "date": iso(version.last_modified),
        "authors": [{"user": GENERATOR}],
    }


def _tree_entry(repo: GeneratedRepo, version: Version, *, expand: bool) -> dict[str, Any]:
    readme = card(repo, version)
    item: dict[str, Any] = {
        "type": "file",
        "oid": git_blob_oid(readme),
        "size": len(readme),
        "path": CARD_FILE,
    }
    if expand:
        commit = _commit(repo, version)
        item["lastCommit"] = {"id": commit["id"], "title": commit["title"], "date": commit["date"]}
    return item


def repo_resolve(
    repo: GeneratedRepo,
    route: Route,
    *,
    authorized: bool,
    range_header: str | None,
    endpoint: str,
) -> Reply:
    """`/{id}/resolve/{rev}/{path}`: the generated card is the repo's one file."""
    if len(route.tail) < 3:
        return error_reply(404, None, "Not Found")
    revision, path = route.tail[1], "/".join(route.tail[2:])
    version = repo.version(revision)
    if version is None:
        return error_reply(404, "RevisionNotFound", f"Invalid rev id: {revision}")
    commit_id = version.sha
    if repo.gated:
        return gated_reply(
            "model", repo.repo_id, status=403 if authorized else 401, endpoint=endpoint
        )
    if path != CARD_FILE:
        return error_reply(404, "EntryNotFound", "Entry not found", **{"X-Repo-Commit": commit_id})
    readme = card(repo, version)
    headers = [
        ("Content-Type", content_type(path)),
        ("ETag", f'"{git_blob_oid(readme)}"'),
        ("X-Repo-Commit", commit_id),
    ]
    return bytes_reply(readme, headers, range_header)
