"""The pacer reads the rate-limit headers in the forms the Hub and the IETF
drafts use, learns each bucket's quota and window from them, and falls back
to a tier only before the server has said anything."""

from __future__ import annotations

import pytest

from llmsync.hub.pacing import Pacer, bucket_of, default_tier
from llmsync.hub.quotas import TIERS
from llmsync.hub.ratelimit_headers import RateLimitNews, read_ratelimit

API = "https://huggingface.co/api/models/Qwen/Qwen2.5-7B"
CARD = "https://huggingface.co/Qwen/Qwen2.5-7B/resolve/0123abcd/README.md"

# What the Hub sends (and huggingface_hub's parse_ratelimit_headers documents).
HUB_ANSWER = {
    "RateLimit": '"api";r=489;t=189',
    "RateLimit-Policy": '"fixed window";"api";q=500;w=300',
}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (
            HUB_ANSWER,
            RateLimitNews("api", remaining=489, reset_seconds=189, quota=500, window_seconds=300),
        ),
        # lower-case field names, as an HTTP/2 server sends them
        (
            {"ratelimit": '"api";r=0;t=55', "ratelimit-policy": '"fixed window";"api";q=500;w=300'},
            RateLimitNews("api", remaining=0, reset_seconds=55, quota=500, window_seconds=300),
        ),
        # draft 08+: the member names the policy; several policies, the named one read
        (
            {
                "RateLimit": '"burst";r=50;t=30',
                "RateLimit-Policy": '"daily";q=1000;w=86400, "burst";q=100;w=60',
            },
            RateLimitNews("api", remaining=50, reset_seconds=30, quota=100, window_seconds=60),
        ),
        # a line with every bucket: the request's own is read
        (
            {
                "RateLimit": '"api";r=10;t=20, "resolvers";r=2999;t=20',
                "RateLimit-Policy": '"fixed window";"api";q=500;w=300, '
                '"fixed window";"resolvers";q=3000;w=300',
            },
            RateLimitNews("api", remaining=10, reset_seconds=20, quota=500, window_seconds=300),
        ),
        # drafts 03-07: a dictionary and bare quotas
        (
            {"RateLimit": "limit=100, remaining=42, reset=7", "RateLimit-Policy": "100;w=60"},
            RateLimitNews("api", remaining=42, reset_seconds=7, quota=100, window_seconds=60),
        ),
        # drafts 00-02: one field each
        (
            {"RateLimit-Limit": "500", "RateLimit-Remaining": "3", "RateLimit-Reset": "12"},
            RateLimitNews("api", remaining=3, reset_seconds=12, quota=500, window_seconds=None),
        ),
        # the policy alone
        (
            {"RateLimit-Policy": '"fixed window";"api";q=1000;w=300'},
            RateLimitNews("api", quota=1000, window_seconds=300),
        ),
        ({}, None),
        ({"RateLimit": "garbage"}, None),
    ],
)
def test_headers_are_read_in_every_documented_form(
    headers: dict[str, str], expected: RateLimitNews | None
) -> None:
    assert read_ratelimit(headers, bucket="api") == expected


def test_the_server_names_the_bucket() -> None:
    news = read_ratelimit(
        {
            "RateLimit": '"resolvers";r=2990;t=100',
            "RateLimit-Policy": '"fixed window";"resolvers";q=3000;w=300',
        },
        bucket="api",
    )
    assert news == RateLimitNews(
        "resolvers", remaining=2990, reset_seconds=100, quota=3000, window_seconds=300
    )


def test_buckets_follow_the_hubs_definition() -> None:
    assert bucket_of(API) == "api"
    assert bucket_of(CARD) == "resolvers"
    assert bucket_of("https://huggingface.co/Qwen/Qwen2.5-7B") == "pages"
    # every URL with a /resolve/ segment is a resolver, whatever its prefix
    assert bucket_of("https://huggingface.co/api/datasets/x/y/resolve/main/a.json") == "resolvers"


def test_the_tier_is_guessed_only_on_huggingface_co() -> None:
    assert default_tier(token=False, endpoint="https://huggingface.co") == "anonymous"
    assert default_tier(token=True, endpoint="https://huggingface.co/") == "free"
    # a mirror or the replay hub: no pacing until its headers announce a quota
    assert default_tier(token=True, endpoint="http://127.0.0.1:8080") == "none"
    assert default_tier(token=False, endpoint="https://hf-mirror.example") == "none"


def _spend(pacer: Pacer, url: str, n: int, headers: dict[str, str] | None = None) -> None:
    for _ in range(n):
        pacer.release(pacer.acquire(url), headers, status=200)


def test_the_quota_is_learned_and_used_after_the_window_rolls_over() -> None:
    clock = FakeClock()
    pacer = Pacer("none", margin=0, clock=clock)
    _spend(
        pacer,
        API,
        1,
        {"RateLimit": '"api";r=2;t=300', "RateLimit-Policy": '"fixed window";"api";q=3;w=300'},
    )
    state = pacer._buckets["api"]
    assert (state.quota, state.window, state.remaining) == (3, 300.0, 2)
    _spend(pacer, API, 2)  # the window's last two slots
    clock.now += 300 + 1  # the window resets (and the safety second for `t`'s rounding)
    pacer.acquire(API)
    # A new window starts from the learned quota, not the tier's 10**9.
    assert state.remaining == 3 and state.in_flight == 1


def test_a_spent_window_waits_for_the_reset_the_server_announced() -> None:
    clock = FakeClock()
    pacer = Pacer("none", margin=0, clock=clock)
    _spend(
        pacer,
        API,
        1,
        {"RateLimit": '"api";r=0;t=42', "RateLimit-Policy": '"fixed window";"api";q=1;w=300'},
    )
    waits = _waiting(pacer, clock)
    pacer.acquire(API)
    # `t` is whole seconds, rounded no one says how: a safety second after it.
    assert round(sum(waits)) == 43
    assert round(pacer.waited()) == 43
    # The timeline: both requests' send times, and the one wait between them.
    seen = pacer.timeline()
    first = seen.sent["api"][0]
    assert [round(t - first) for t in seen.sent["api"]] == [0, 43]
    assert [(round(a - first), round(b - first)) for a, b in seen.waits["api"]] == [(0, 43)]
    assert seen.sent["resolvers"] == [] and seen.last_answer == first


def test_the_tier_is_the_guess_before_the_first_answer() -> None:
    pacer = Pacer("anonymous")
    assert pacer._buckets["api"].quota == TIERS["anonymous"].api == 500
    _spend(
        pacer,
        API,
        1,
        {"RateLimit": '"api";r=998;t=300', "RateLimit-Policy": '"fixed window";"api";q=1000;w=300'},
    )
    # The server says this caller is on a bigger quota (a token): it wins.
    assert pacer._buckets["api"].quota == 1000
    assert pacer._buckets["resolvers"].quota == 3000  # no word on resolvers yet


def _waiting(pacer: Pacer, clock: FakeClock) -> list[float]:
    """The pacer's waits, each advancing the fake clock (no real time passes)."""
    waits: list[float] = []
    original_wait = pacer._cond.wait

    def wait(timeout: float | None = None) -> bool:
        waits.append(timeout or 0.0)
        clock.now += timeout or 0.0
        return original_wait(timeout=0)

    pacer._cond.wait = wait  # type: ignore[method-assign]
    return waits


@pytest.mark.parametrize("quota", [1, 2])
def test_a_quota_no_bigger_than_the_margin_still_gets_its_slots(quota: int) -> None:
    """With q <= 2 a margin of 2 left no slot to take: the pacer waited forever.
    Clamped below the quota, it takes q - 1 slots a window (one when q is 1)."""
    clock = FakeClock()
    pacer = Pacer("none", margin=2, clock=clock)
    policy = f'"fixed window";"api";q={quota};w=300'
    _spend(pacer, API, 1, {"RateLimit": f'"api";r={quota - 1};t=300', "RateLimit-Policy": policy})
    waits = _waiting(pacer, clock)
    for _ in range(3):
        pacer.release(pacer.acquire(API), None, status=200)
    assert pacer.requests()["api"] == 4
    # Each further window: max(1, q - 1) requests; the windows' waits sum to whole windows.
    assert 0 < sum(waits) <= 3 * 301


def test_a_reset_rounded_down_is_not_trusted_to_the_second() -> None:
    """A server that rounds `t` down says 0 while up to a second remains: the
    pacer keeps a safety second rather than sending into the old window."""
    clock = FakeClock()
    pacer = Pacer("none", margin=0, clock=clock)
    policy = '"fixed window";"api";q=1;w=300'
    _spend(pacer, API, 1, {"RateLimit": '"api";r=0;t=0', "RateLimit-Policy": policy})
    waits = _waiting(pacer, clock)
    pacer.acquire(API)
    assert round(sum(waits), 3) == 1.0
