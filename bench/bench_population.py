"""Prints what syncing the leaderboards' whole population costs at the Hub's
rate limits, against the replay hub in population mode (its own process), with
anonymous limits, Hub time sped up and a per-request latency:

    .venv/bin/python bench/bench_population.py [--time-scale 10] [--latency-ms 20]
        [--naive-sample 200] [--json]

Four variants, each from a fresh rate-limit window:

- naive: the loop a user would write with huggingface_hub (`HfApi.model_info`
  then `ModelCard.load`, one repo after another, sleeping on a 429 for what
  `Retry-After` says). It would take hours of Hub time, so it runs on a sample
  of repos and is extrapolated to the population (said so in the output);
- cold: `llmsync sync --population leaderboards` into an empty data dir;
- warm_1pct: the same again after a `new_sha` mutation of 1% of the repos;
- warm_unchanged: the same again with nothing changed.

Also what the official benchmarks cost each run (their listing, eval.yaml files
and leaderboards) against the requests the run would make without them.

For each: requests per bucket, 429s, wall time in Hub time (wall seconds x the
time scale) and the rate-budget minimum (max over buckets of requests / quota
x 300 s). Then merge + publish time and the peak RSS of the cold run.
Figures, not assertions.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx2

QUOTAS = {"api": 500, "resolvers": 3_000, "pages": 100}  # anonymous, per 300 s
WINDOW = 300.0


def start_hub(*, time_scale: float, latency_ms: float) -> tuple[subprocess.Popen[str], str]:
    command = [
        sys.executable,
        "-m",
        "llmsync.replay.server",
        "--port",
        "0",
        "--population",
        "--rate-limits",
        "anonymous",
        "--time-scale",
        str(time_scale),
        "--latency-ms",
        str(latency_ms),
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    httpx2.get(f"{url}/api/models", params={"limit": 1}, timeout=120)  # population built
    return process, url


def admin(url: str, path: str, body: Any = None) -> Any:
    if body is None and not path.endswith("reset"):
        return httpx2.get(f"{url}{path}", timeout=60).json()
    return httpx2.post(f"{url}{path}", json=body or {}, timeout=60).json()


def fresh(url: str) -> None:
    admin(url, "/_replay/ratelimit/reset")
    admin(url, "/_replay/stats/reset")


def budget(requests: dict[str, int]) -> float:
    return max(requests.get(b, 0) / q * WINDOW for b, q in QUOTAS.items())


def figures(url: str, seconds: float, *, scale: float) -> dict[str, Any]:
    stats = admin(url, "/_replay/stats")
    requests = {b: stats["requests"][b] for b in ("api", "resolvers", "pages")}
    return {
        "requests": requests,
        "throttled": sum(stats["rate_limited"].values()),
        "hub_seconds": round(seconds * scale, 1),
        "budget_min_seconds": round(budget(requests), 1),
    }


def naive_loop(repos: list[str]) -> None:
    """The user's loop; run in a child process whose HF_ENDPOINT is the hub
    (`ModelCard.load` takes no endpoint: huggingface_hub reads it at import)."""
    from huggingface_hub import HfApi, ModelCard
    from huggingface_hub.errors import HfHubHTTPError

    api = HfApi(token=False)
    if True:  # huggingface_hub's cache is the parent's temporary HF_HOME
        for repo_id in repos:
            for attempt in range(10):
                try:
                    api.model_info(repo_id)
                    ModelCard.load(repo_id, token=False)
                    break
                except HfHubHTTPError as exc:
                    response = exc.response
                    if response is None or response.status_code != 429 or attempt == 9:
                        break
                    time.sleep(float(response.headers.get("Retry-After", "1")))


def naive(url: str, repos: list[str], *, sample: int, scale: float) -> dict[str, Any]:
    picked = repos[:: max(1, len(repos) // sample)][:sample]
    fresh(url)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "HF_ENDPOINT": url, "HF_HOME": home}
        env["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
        subprocess.run(
            [sys.executable, __file__, "--naive-child"],
            input="\n".join(picked),
            text=True,
            env=env,
            check=True,
        )
    seconds = time.perf_counter() - started
    measured = figures(url, seconds, scale=scale)
    factor = len(repos) / len(picked)
    requests = {b: round(n * factor) for b, n in measured["requests"].items()}
    # One repo after another: the sample's pace, unless the quotas bind harder.
    hub_seconds = max(measured["hub_seconds"] * factor, budget(requests))
    return {
        "requests": requests,
        "throttled": round(measured["throttled"] * factor),
        "hub_seconds": round(hub_seconds, 1),
        "budget_min_seconds": round(budget(requests), 1),
        "extrapolated_from_sample": len(picked),
        "sample": measured,
    }


def llmsync_run(url: str, data_dir: Path, *, scale: float) -> tuple[dict[str, Any], dict[str, Any]]:
    from llmsync.pipeline import SyncConfig, run_sync

    fresh(url)
    config = SyncConfig(
        data_dir=data_dir, endpoint=url, population="leaderboards", rate_tier="anonymous"
    )
    started = time.perf_counter()
    report = run_sync(config)
    seconds = time.perf_counter() - started
    result = figures(url, seconds, scale=scale)
    result["status"] = report.status
    result["models"] = report.row_counts.get("models")
    result["rate_limit_wait_hub_seconds"] = round(report.rate_limit_wait_seconds * scale, 1)
    return result, {"seconds": report.seconds, "fetch": report.fetch}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--time-scale", type=float, default=10.0)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--naive-sample", type=int, default=200)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--naive-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.naive_child:
        naive_loop(sys.stdin.read().split())
        return 0
    scale = args.time_scale
    process, url = start_hub(time_scale=scale, latency_ms=args.latency_ms)
    try:
        results: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        with tempfile.TemporaryDirectory() as tmp:
            data_dir = Path(tmp) / "data"
            results["cold"], extra["cold"] = llmsync_run(url, data_dir, scale=scale)
            peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            models = results["cold"]["models"] or 0
            admin(
                url,
                "/_replay/population",
                {"seed": 1, "ops": [{"op": "new_sha", "count": round(models / 100)}]},
            )
            results["warm_1pct"], extra["warm_1pct"] = llmsync_run(url, data_dir, scale=scale)
            results["warm_unchanged"], extra["warm_unchanged"] = llmsync_run(
                url, data_dir, scale=scale
            )
            from llmsync.store.snapshots import SnapshotStore

            latest = SnapshotStore(data_dir).latest()
            repos = latest.read_table("models").column("repo_id").to_pylist() if latest else []
        results["naive"] = naive(url, repos, sample=args.naive_sample, scale=scale)
        cold_seconds = extra["cold"]["seconds"]
        merge_publish = cold_seconds.get("merge", 0.0) + cold_seconds.get("publish", 0.0)
        summary = {
            "time_scale": scale,
            "latency_ms": args.latency_ms,
            "merge_publish_seconds": round(merge_publish, 2),
            "peak_rss_mb": round(peak_rss_mb, 1),
            "stage_seconds": {k: v["seconds"] for k, v in extra.items()},
            "fetch": {k: v["fetch"] for k, v in extra.items()},
        }
    finally:
        process.terminate()
        process.wait(timeout=10)
    ordered = {k: results[k] for k in ("naive", "cold", "warm_1pct", "warm_unchanged")}
    if args.json:
        print(json.dumps({**ordered, "summary": summary}, indent=2))
        return 0
    for name, item in ordered.items():
        print(
            f"{name:<15} requests {item['requests']}  429s {item['throttled']}  "
            f"hub time {item['hub_seconds']:,.0f}s  budget min {item['budget_min_seconds']:,.0f}s"
        )
    print(
        f"naive: extrapolated from a sample of {results['naive']['extrapolated_from_sample']} repos"
    )
    cold, naive_result = results["cold"], results["naive"]
    print(f"cold / budget min: {cold['hub_seconds'] / max(cold['budget_min_seconds'], 1e-9):.2f}")
    print(f"naive / cold: {naive_result['hub_seconds'] / max(cold['hub_seconds'], 1e-9):.1f}x")
    total = lambda r: sum(r["requests"].values())  # noqa: E731
    print(f"warm unchanged / cold requests: {total(results['warm_unchanged']) / total(cold):.2%}")
    # The official benchmarks' requests (listing, eval.yaml, leaderboards); the
    # eval results themselves ride on the model requests (`expand[]=evalResults`).
    for name in ("cold", "warm_unchanged"):
        extra_requests = extra[name]["fetch"].get("benchmark_requests", 0)
        base = total(results[name]) - extra_requests
        print(f"{name}: benchmark requests {extra_requests} ({extra_requests / base:.2%} more)")
    print(f"merge + publish (cold, {cold['models']:,} models): {merge_publish:.2f}s")
    print(f"peak RSS: {peak_rss_mb:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
