"""Prints how long parsing one large leaderboard export takes.

    .venv/bin/python bench/bench_parse.py [--repeat 5]

Parses the open_llm_v1 export of 2024-07-07 (7,169 rows x 7 benchmarks, the
largest v1 export) from the bundled recordings, `--repeat` times, and prints
each time and the best. The goal is under 2 s: a per-row Python loop takes far
longer, so a slower parse means the parse is no longer vectorised. Figures,
not assertions (the tests make no wall-clock claims).
"""

from __future__ import annotations

import argparse
import time

from llmsync.replay.recordings import RecordingStore
from llmsync.tables.leaderboards import LEADERBOARD_FILE, LEADERBOARD_REPOS, parse_leaderboard

GOAL_SECONDS = 2.0


def export_bytes(leaderboard: str, date: str) -> bytes:
    store = RecordingStore.load()
    repo = store.repos[f"dataset/{LEADERBOARD_REPOS[leaderboard]}"]
    commit = next(c for c in repo.commits if c.date.date().isoformat() == date)
    return store.file_bytes(commit.files[LEADERBOARD_FILE])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    raw = export_bytes("open_llm_v1", "2024-07-07")
    times = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        parsed = parse_leaderboard(raw, leaderboard="open_llm_v1")
        times.append(time.perf_counter() - started)
    print(f"open_llm_v1 2024-07-07: {parsed.upstream_rows:,} rows, {parsed.rows.num_rows:,} scores")
    print("parse seconds: " + ", ".join(f"{t:.3f}" for t in times))
    best = min(times)
    verdict = "meets" if best < GOAL_SECONDS else "MISSES"
    print(f"best {best:.3f} s; {verdict} the goal of under {GOAL_SECONDS:.0f} s")


if __name__ == "__main__":
    main()
