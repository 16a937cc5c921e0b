"""The Hub's rate limits: fixed 5-minute windows per bucket and per caller.

Buckets, as the Hub documents them: `api` (every `/api/...` request),
`resolvers` (every URL with a `/resolve/` segment) and `pages` (anything else
on the Hub's host). The CDN is another host and is not limited.

Quotas per 5-minute window (the Hub's documented tiers):

| tier      | api   | resolvers | pages |
|-----------|-------|-----------|-------|
| anonymous | 500   | 3,000     | 100   |
| free      | 1,000 | 5,000     | 200   |
| pro       | 2,500 | 12,000    | 400   |

Which tier applies (`--rate-limits MODE`): a request without an
`Authorization` header is anonymous and counted per client IP; one with a
token is counted per token and gets the mode's tier: `free` or `pro`. Mode
`anonymous` treats every request as anonymous (a token does not help), and
`none` turns limits off (no headers either, as the replay hub always did).

Every limited response carries, as the Hub's do,

    RateLimit: "api";r=<remaining>;t=<seconds until the window resets>
    RateLimit-Policy: "fixed window";"api";q=<quota>;w=<window seconds>

and a request past the quota gets 429 with the same headers and `Retry-After`.

A window opens at a caller's first request in a bucket and lasts 300 Hub
seconds (see `hubclock.py`). Durations in headers (`t`, `w`, `Retry-After`)
are announced in *wall* seconds, rounded up: a client does not know the time
scale, and one that waits what the headers say sees the Hub's pacing, sped
up. At scale 1 the headers are the Hub's exactly.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass

from llmsync.replay.hubclock import HubClock

WINDOW_SECONDS = 300
BUCKETS = ("api", "resolvers", "pages")
MODES = ("none", "anonymous", "free", "pro")


@dataclass(frozen=True)
class Quotas:
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


def bucket_of(raw_path: str) -> str:
    """The Hub's bucket for a request path on the Hub's own host."""
    if raw_path == "/api" or raw_path.startswith("/api/"):
        return "api"
    if "/resolve/" in raw_path:
        return "resolvers"
    return "pages"


@dataclass(frozen=True)
class Verdict:
    """What the limiter decided for one request."""

    allowed: bool
    bucket: str
    headers: list[tuple[str, str]]
    retry_after: int = 0


@dataclass
class _Window:
    start: float  # Hub seconds
    used: int


class RateLimiter:
    """Counts requests per (bucket, caller) in fixed windows of Hub time."""

    def __init__(self, mode: str, *, clock: HubClock) -> None:
        if mode not in MODES or mode == "none":
            raise ValueError(f"rate-limit mode must be one of {MODES[1:]}, got {mode!r}")
        self.mode = mode
        self.clock = clock
        self._windows: dict[tuple[str, str], _Window] = {}
        self._lock = threading.Lock()

    def tier(self, *, authorization: str | None) -> str:
        return "anonymous" if authorization is None or self.mode == "anonymous" else self.mode

    @staticmethod
    def caller(*, authorization: str | None, client_ip: str) -> str:
        """Anonymous callers by IP; token holders by a digest of the token (the
        token itself is never kept)."""
        if authorization is None:
            return f"ip:{client_ip}"
        digest = hashlib.sha256(authorization.encode("utf-8", "replace")).hexdigest()
        return f"token:{digest[:16]}"

    def check(self, bucket: str, *, authorization: str | None, client_ip: str) -> Verdict:
        tier = self.tier(authorization=authorization)
        key = f"{tier}/{self.caller(authorization=authorization, client_ip=client_ip)}"
        quota = TIERS[tier].of(bucket)
        with self._lock:
            now = self.clock.elapsed()
            window = self._windows.get((bucket, key))
            if window is None or now >= window.start + WINDOW_SECONDS:
                window = _Window(start=now, used=0)
                self._windows[(bucket, key)] = window
            allowed = window.used < quota
            if allowed:
                window.used += 1
            remaining = quota - window.used
            reset = self.clock.announce(window.start + WINDOW_SECONDS - now)
        headers = [
            ("RateLimit", f'"{bucket}";r={remaining};t={reset}'),
            (
                "RateLimit-Policy",
                f'"fixed window";"{bucket}";q={quota};w={self.clock.announce(WINDOW_SECONDS)}',
            ),
        ]
        if not allowed:
            headers.append(("Retry-After", str(max(1, reset))))
        return Verdict(allowed=allowed, bucket=bucket, headers=headers, retry_after=reset)

    def reset(self) -> None:
        """Forget every window (a benchmark starting afresh)."""
        with self._lock:
            self._windows.clear()
