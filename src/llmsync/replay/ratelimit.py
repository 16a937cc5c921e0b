"""The Hub's rate limits: fixed 5-minute windows per bucket and per caller.

Buckets and quotas per 5-minute window are the Hub's documented ones, in one
table shared with the client's pacer: `llmsync.hub.quotas`.

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

from llmsync.hub.quotas import BUCKETS, TIERS, WINDOW_SECONDS, bucket_of
from llmsync.replay.hubclock import HubClock

MODES = ("none", *TIERS)
__all__ = ["BUCKETS", "MODES", "TIERS", "WINDOW_SECONDS", "RateLimiter", "Verdict", "bucket_of"]


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
