"""The Hub's rate limits as documented: buckets, tiers, the 5-minute window.

One table, read by the client's pacer (as the fallback before the server has
said anything), by the replay hub (which enforces it) and by the benchmark.

Buckets: `resolvers` (every URL with a `/resolve/` segment), `api` (every
`/api/...` request) and `pages` (anything else on the Hub's host). The CDN is
another host and is not limited.

| tier      | api   | resolvers | pages |
|-----------|-------|-----------|-------|
| anonymous | 500   | 3,000     | 100   |
| free      | 1,000 | 5,000     | 200   |
| pro       | 2,500 | 12,000    | 400   |
"""

from __future__ import annotations

from dataclasses import dataclass

BUCKETS = ("api", "resolvers", "pages")
WINDOW_SECONDS = 300


@dataclass(frozen=True)
class Quotas:
    """Requests allowed per bucket in one window."""

    api: int
    resolvers: int
    pages: int

    def of(self, bucket: str) -> int:
        quota: int = getattr(self, bucket)
        return quota


TIERS: dict[str, Quotas] = {
    "anonymous": Quotas(api=500, resolvers=3_000, pages=100),
    "free": Quotas(api=1_000, resolvers=5_000, pages=200),
    "pro": Quotas(api=2_500, resolvers=12_000, pages=400),
}


def bucket_of(path: str) -> str:
    """The bucket the Hub counts a request for `path` (a URL's path) in.

    The Hub defines resolvers as every URL with a `/resolve/` segment, so that
    test comes first; then the API; everything else is a page.
    """
    path = path.partition("?")[0]
    if "/resolve/" in path:
        return "resolvers"
    if path == "/api" or path.startswith("/api/"):
        return "api"
    return "pages"
