"""Request paths as the Hub lays them out: which repo, which kind of endpoint."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

_API_SUBPATHS = frozenset({"revision", "tree", "commits", "paths-info", "resolve", "refs"})
CDN_PREFIX = "/cdn-lfs/"


@dataclass(frozen=True)
class Route:
    """A parsed request path: `prefix + repo_id + suffix` is the raw path."""

    kind: str  # "api" | "list" | "resolve" | "cdn" | "other"
    repo_type: str = "model"
    repo_id: str = ""
    prefix: str = ""
    suffix: str = ""
    tail: tuple[str, ...] = ()  # decoded segments after the repo id

    def renamed(self, new_id: str) -> str:
        return self.prefix + new_id + self.suffix


def parse_route(raw_path: str) -> Route:
    segments = raw_path.split("/")[1:]
    if raw_path.startswith(CDN_PREFIX):
        return Route("cdn", tail=tuple(unquote(s) for s in segments[1:]))
    if raw_path in ("/api/models", "/api/models/"):
        return Route("list")
    if raw_path in ("/api/datasets", "/api/datasets/"):
        return Route("list", repo_type="dataset")
    if len(segments) >= 3 and segments[0] == "api" and segments[1] in ("models", "datasets"):
        repo_type = segments[1][:-1]
        rest = segments[2:]
        id_len = 1 if len(rest) == 1 or rest[1] in _API_SUBPATHS else 2
        return _route("api", repo_type, f"/api/{segments[1]}/", rest, id_len)
    repo_type, offset = ("dataset", 1) if segments[:1] == ["datasets"] else ("model", 0)
    rest = segments[offset:]
    prefix = "/datasets/" if offset else "/"
    if len(rest) >= 2 and rest[1] == "resolve":
        return _route("resolve", repo_type, prefix, rest, 1)
    if len(rest) >= 3 and rest[2] == "resolve":
        return _route("resolve", repo_type, prefix, rest, 2)
    return Route("other")


def _route(kind: str, repo_type: str, prefix: str, rest: list[str], id_len: int) -> Route:
    id_parts = rest[:id_len]
    tail_raw = rest[id_len:]
    suffix = "/" + "/".join(tail_raw) if tail_raw else ""
    return Route(
        kind=kind,
        repo_type=repo_type,
        repo_id="/".join(unquote(p) for p in id_parts),
        prefix=prefix,
        suffix=suffix,
        tail=tuple(unquote(s) for s in tail_raw),
    )
