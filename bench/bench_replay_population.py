"""Prints what the replay hub costs at the leaderboards' scale (`--population`).

    .venv/bin/python bench/bench_replay_population.py [--clients 8] [--requests 2000]

Figures, not assertions. The hub runs in its own process (as `llmsync
replay-hub` does), so that the clients here do not share its interpreter:

- startup: process start to the URL line, to the population being ready, and to
  the first listing page answered;
- a full listing of every repo through huggingface_hub's `list_models`;
- requests per second for model info and card downloads with N concurrent
  keep-alive clients, without and with `--latency-ms`;
- a mutation of 1,000 repos.

The hub lists the population alone (no other repos of its authors, no Hub-wide
churn: POPULATION.md), as these figures always measured.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx2
from huggingface_hub import HfApi

# The population alone: no other repos, no churn (a one-author table at size 0
# replaces the default table of big authors).
POPULATION_ONLY = (
    "--population",
    "--other-repos-per-author",
    "0",
    "--author-repos",
    "TheBloke=0",
    "--daily-churn",
    "0",
)


@contextlib.contextmanager
def hub_process(*options: str) -> Iterator[tuple[str, float, subprocess.Popen[str]]]:
    started = time.perf_counter()
    command = [sys.executable, "-m", "llmsync.replay.server", "--port", "0", *options]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        yield url, started, process
    finally:
        process.terminate()
        process.wait(timeout=10)


def startup() -> None:
    with hub_process(*POPULATION_ONLY) as (url, started, process):
        to_url = time.perf_counter() - started
        response = httpx2.get(f"{url}/api/models", params={"limit": 1}, timeout=60)
        to_listing = time.perf_counter() - started
        assert response.status_code == 200
        assert process.stderr is not None
        ready_line = process.stderr.readline().strip()
    print(f"{'startup: process start to URL line':<52} {to_url:6.2f}s")
    print(f"{'startup: process start to first listing page':<52} {to_listing:6.2f}s")
    print(f"  ({ready_line})")


def rate(url: str, paths: list[str], *, clients: int) -> float:
    """Requests per second over `paths`, spread over `clients` keep-alive clients."""
    chunks = [paths[n::clients] for n in range(clients)]
    barrier = threading.Barrier(clients + 1)

    def run(chunk: list[str]) -> int:
        with httpx2.Client(base_url=url, timeout=60) as client:
            barrier.wait()
            return sum(client.get(path).status_code == 200 for path in chunk)

    with ThreadPoolExecutor(max_workers=clients) as pool:
        futures = [pool.submit(run, chunk) for chunk in chunks]
        barrier.wait()
        started = time.perf_counter()
        ok = sum(f.result() for f in futures)
        took = time.perf_counter() - started
    assert ok == len(paths), f"{len(paths) - ok} requests failed"
    return len(paths) / took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()

    startup()
    for latency in (0, 50):
        with hub_process(*POPULATION_ONLY, "--latency-ms", str(latency)) as (url, _, _process):
            api = HfApi(endpoint=url, token=False)
            started = time.perf_counter()
            models = list(api.list_models(expand=["sha", "lastModified", "likes"]))
            listing = time.perf_counter() - started
            ids = [m.id for m in models]
            # Generated repos all have a card; some recorded ones have none.
            generated = [m.id for m in models if getattr(m, "llmsync_replay_generated", None)]
            pages = httpx2.get(f"{url}/_replay/stats").json()["kinds"]["list"]
            print(f"latency {latency} ms")
            print(
                f"  {'full listing: ' + f'{len(ids):,} repos, {pages} pages':<50} {listing:6.2f}s"
            )
            picked = random.Random(0).choices(generated, k=args.requests)
            for kind, paths in (
                ("model info", [f"/api/models/{i}" for i in picked]),
                ("card download", [f"/{i}/resolve/main/README.md" for i in picked]),
            ):
                per_second = rate(url, paths, clients=args.clients)
                label = f"{kind}: {args.clients} clients, {args.requests:,} requests"
                print(f"  {label:<50} {per_second:6.0f}/s")
            if latency == 0:
                started = time.perf_counter()
                response = httpx2.post(
                    f"{url}/_replay/population",
                    json={"seed": 1, "ops": [{"op": "new_sha", "count": 1000}]},
                    timeout=60,
                )
                assert response.status_code == 200
                took = time.perf_counter() - started
                print(f"  {'mutation: new_sha on 1,000 repos':<50} {took:6.2f}s")


if __name__ == "__main__":
    main()
