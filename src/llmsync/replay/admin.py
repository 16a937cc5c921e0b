"""The replay hub's own endpoints under `/_replay/`: never rate-limited, never
delayed, not in the request log, not counted in the Hub's buckets.

    GET  /_replay/stats[?reset=1]     counters since start or the last reset
    POST /_replay/stats/reset         zero the counters
    GET  /_replay/clock               Hub time and the time scale
    POST /_replay/clock/advance       jump Hub time forward: {"hub_seconds": N}
    POST /_replay/ratelimit/reset     forget every rate-limit window
    GET  /_replay/population          what the population (and the Hub around it) holds
    POST /_replay/population          mutate it: {"seed": 7, "ops": [...]} (population.py)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from llmsync.replay.hubclock import HubClock
from llmsync.replay.hubwide import HubWide
from llmsync.replay.population import MutationError, Population
from llmsync.replay.ratelimit import RateLimiter
from llmsync.replay.replies import JSON_TYPE, Reply, dump_json, error_reply, iso
from llmsync.replay.stats import Stats

ADMIN_PREFIX = "/_replay/"


@dataclass(frozen=True)
class Controls:
    """The parts of a running replay hub its admin endpoints read and reset."""

    stats: Stats
    clock: HubClock
    limiter: RateLimiter | None
    population: Population | None
    rate_limits: str
    latency_ms: float
    hub_wide: HubWide | None = None


def _ok(data: Any) -> Reply:
    return Reply(200, [("Content-Type", JSON_TYPE)], dump_json(data))


def clock(controls: Controls) -> dict[str, Any]:
    return {
        "hub_time": iso(controls.clock.now()),
        "hub_seconds_since_start": round(controls.clock.elapsed(), 3),
        "time_scale": controls.clock.scale,
        "epoch": iso(controls.clock.epoch),
    }


def stats(controls: Controls) -> dict[str, Any]:
    population = controls.population
    return {
        **controls.stats.snapshot(),
        **clock(controls),
        "rate_limits": controls.rate_limits,
        "latency_ms": controls.latency_ms,
        "population": None
        if population is None
        else {"ready": population.ready, "version": population.version},
    }


def admin_reply(
    controls: Controls, method: str, raw_path: str, *, query: str, body: bytes
) -> Reply:
    path = raw_path.rstrip("/")
    params = parse_qs(query)
    if path == "/_replay/stats" and method in ("GET", "HEAD"):
        data = stats(controls)
        if params.get("reset", ["0"])[-1].lower() in ("1", "true"):
            controls.stats.reset()
        return _ok(data)
    if path == "/_replay/stats/reset" and method == "POST":
        controls.stats.reset()
        return _ok(stats(controls))
    if path == "/_replay/clock" and method in ("GET", "HEAD"):
        return _ok(clock(controls))
    if path == "/_replay/clock/advance" and method == "POST":
        try:
            controls.clock.advance(float(json.loads(body or b"{}").get("hub_seconds", 0)))
        except (ValueError, TypeError, AttributeError) as exc:
            return error_reply(400, None, f'the body is {{"hub_seconds": N}}, N >= 0: {exc}')
        return _ok(clock(controls))
    if path == "/_replay/ratelimit/reset" and method == "POST":
        if controls.limiter is not None:
            controls.limiter.reset()
        return _ok({"rate_limits": controls.rate_limits, "reset": controls.limiter is not None})
    if path == "/_replay/population":
        if controls.population is None:
            return error_reply(404, None, "the replay hub runs without --population")
        if method in ("GET", "HEAD"):
            summary = controls.population.wait().summary()
            if controls.hub_wide is not None:
                summary["hub_wide"] = controls.hub_wide.summary()
            return _ok(summary)
        if method == "POST":
            try:
                request = json.loads(body or b"{}")
                if not isinstance(request, dict):
                    raise MutationError('the body is a JSON object {"seed": ..., "ops": [...]}')
                return _ok(
                    controls.population.mutate(request.get("ops", []), seed=request.get("seed", 0))
                )
            except (ValueError, MutationError) as exc:
                return error_reply(400, None, str(exc))
    return error_reply(404, None, f"no replay endpoint {method} {raw_path}")
