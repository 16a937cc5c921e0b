"""The Hub's official benchmarks: a source of the sync.

What it costs a night: the `benchmark:official` listing (one request a page),
each benchmark's `eval.yaml` at the commit the listing names (asked again only
when that sha changes: a file of a commit, once landed, is read from
`data/raw/`), and its leaderboard (`base_model=false`), one request each. (The
eval results cost nothing of their own: they ride on the model requests,
`expand[]=evalResults`, see `hub.listing.INFO_QUERY` and `sources.models`.)

Every body lands in `data/raw/` as it came. A benchmark request that fails
costs that benchmark's row its fields (the snapshot is then partial), never
the run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from llmsync.hub.client import HubClient
from llmsync.hub.errors import FileNotFound, Gated, HubError
from llmsync.hub.ids import is_commit_sha
from llmsync.hub.landing import StoredObject
from llmsync.hub.pacing import Pacer
from llmsync.hub.secrets import redact
from llmsync.pipeline.sources.base import Fetched, SourceRun, raw_entry
from llmsync.pipeline.stages import SyncConfig, make_client
from llmsync.pipeline.threads import map_in_threads
from llmsync.store.raw import RawObjectError, RawStore
from llmsync.tables.benchmarks import leaderboard_entries, listing_ids

EVAL_YAML = "eval.yaml"
# A guard: the recorded eval.yaml files are a few kB of task ids.
EVAL_YAML_MAX_BYTES = 1_000_000
OFFICIAL_FILTER = "filter=benchmark:official"


@dataclass(frozen=True)
class LandedBenchmark:
    dataset_id: str
    sha: str | None
    eval_yaml: StoredObject | None
    leaderboard: StoredObject | None


@dataclass(frozen=True)
class LandedBenchmarks:
    """What one night read of the official benchmarks (raw objects)."""

    pages: tuple[StoredObject, ...]
    benchmarks: tuple[LandedBenchmark, ...]
    failures: tuple[str, ...] = field(default=())
    # Leaderboard entries that could not be read (counted in the run's
    # failures, but the Hub answered: they do not make the snapshot partial).
    skipped_entries: tuple[str, ...] = field(default=())


class Benchmarks:
    name = "benchmarks"

    def reads(self, config: SyncConfig) -> tuple[str, ...]:
        return ()

    def fetch(self, run: SourceRun) -> Fetched[LandedBenchmarks]:
        kept = previous_leaderboards(run.previous.manifest if run.previous else None)
        # Its own requests: other sources fetch meanwhile through the same pacer.
        with run.pacer.counting() as requests:
            landed = run.stage(
                "fetch benchmarks", fetch_official, run.config, pacer=run.pacer, previous=kept
            )
        return Fetched(
            landed,
            description=describe_benchmarks(landed),
            raw_objects=benchmark_raw_objects(RawStore(run.config.data_dir / "raw"), landed),
            failures=landed.failures + landed.skipped_entries,
            partial=bool(landed.failures),
            # What the benchmarks cost (eval results ride on the model requests).
            counts={"benchmark_requests": requests()},
        )


BENCHMARKS = Benchmarks()


def previous_leaderboards(manifest: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """The leaderboard bodies a previous snapshot was built from, by dataset id
    (their manifest entries): what stays in force when a board is refused."""
    entries = (manifest or {}).get("raw_objects", [])
    return {str(e["repo_id"]): dict(e) for e in entries if e.get("kind") == "benchmark_leaderboard"}


def fetch_benchmarks(
    client: HubClient,
    raw: RawStore,
    *,
    previous: Mapping[str, Mapping[str, Any]] | None = None,
    workers: int = 1,
) -> LandedBenchmarks:
    failures: list[str] = []
    pages: list[StoredObject] = []
    found: list[tuple[str, str | None]] = []
    url: str | None = f"{client.endpoint}/api/datasets?{OFFICIAL_FILTER}"
    try:
        while url is not None:
            body, url = client.list_page(url, what="the official benchmarks")
            pages.append(raw.put_listing(body))
            found += listing_ids(body)
    except HubError as exc:
        failures.append(redact(f"official benchmarks: {exc}"))

    def part(job: tuple[str, str | None, str]) -> tuple[StoredObject | None, list[str], int]:
        """One benchmark's eval.yaml, or its leaderboard with its skipped entries."""
        dataset_id, sha, which = job
        failed: list[str] = []
        if which == EVAL_YAML:
            return _eval_yaml(client, dataset_id, sha, failed), failed, 0
        board = _leaderboard(client, raw, dataset_id, failed, previous=(previous or {}))
        skipped = leaderboard_entries(board.path.read_bytes())[1] if board is not None else 0
        return board, failed, skipped

    # Each request waits on the Hub alone: a benchmark's eval.yaml and its
    # leaderboard, of every benchmark, go `workers` at a time (the pacer keeps
    # them within the rate limits); results and failures keep the listing's order.
    jobs = [(dataset_id, sha, which) for dataset_id, sha in found for which in (EVAL_YAML, "")]
    parts = map_in_threads(part, jobs, workers=workers)
    done: list[tuple[LandedBenchmark, list[str], int]] = []
    for i, (dataset_id, sha) in enumerate(found):
        (eval_yaml, yaml_failed, _), (board, board_failed, skipped) = parts[2 * i : 2 * i + 2]
        landed = LandedBenchmark(dataset_id, sha, eval_yaml, board)
        done.append((landed, yaml_failed + board_failed, skipped))
    failures += [line for _, failed, _ in done for line in failed]
    odd = [
        f"{landed.dataset_id} leaderboard: {skipped} entries skipped"
        " (no text modelId or no finite numeric value)"
        for landed, _, skipped in done
        if skipped
    ]
    benchmarks = tuple(landed for landed, _, _ in done)
    return LandedBenchmarks(tuple(pages), benchmarks, tuple(failures), tuple(odd))


def _eval_yaml(
    client: HubClient, dataset_id: str, sha: str | None, failures: list[str]
) -> StoredObject | None:
    if sha is None:
        return None
    if not is_commit_sha(sha):  # a file is read at a commit, never at a branch that moves
        failures.append(
            redact(f"{dataset_id} eval.yaml: the listing's sha {sha[:40]!r} is no commit")
        )
        return None
    try:
        # The listing named the commit: one request lands the file.
        landed = client.file_at(
            dataset_id, EVAL_YAML, repo_type="dataset", sha=sha, max_bytes=EVAL_YAML_MAX_BYTES
        )
    except FileNotFound:
        return None
    except HubError as exc:
        failures.append(redact(f"{dataset_id} eval.yaml: {exc}"))
        return None
    return StoredObject(landed.path, landed.sha256, landed.size)


def _leaderboard(
    client: HubClient,
    raw: RawStore,
    dataset_id: str,
    failures: list[str],
    *,
    previous: Mapping[str, Mapping[str, Any]],
) -> StoredObject | None:
    url = f"{client.endpoint}/api/datasets/{quote(dataset_id)}/leaderboard?base_model=false"
    try:
        body, _ = client.list_page(url, what=f"leaderboard of {dataset_id}")
    except Gated as exc:
        # A leaderboard can require a token (or a better one): named as such,
        # and the entries the previous snapshot read stay in force.
        kept = _kept(raw, previous.get(dataset_id))
        failures.append(
            redact(
                f"{dataset_id} leaderboard: refused, it needs a token or access (401/403); "
                + ("the previous entries stay in force" if kept else "no previous entries")
                + f": {exc}"
            )
        )
        return kept
    except HubError as exc:
        failures.append(redact(f"{dataset_id} leaderboard: {exc}"))
        return None
    return raw.put_listing(body)


def _kept(raw: RawStore, entry: Mapping[str, Any] | None) -> StoredObject | None:
    if entry is None:
        return None
    try:
        return raw.check_object(str(entry["path"]), sha256=str(entry["sha256"]))
    except (RawObjectError, OSError, ValueError):
        return None  # set aside or gone from the landing: nothing to keep


def leaderboard_models(landed: LandedBenchmarks) -> list[str]:
    """Every model the landed leaderboards rank, in first-seen order."""
    seen: dict[str, None] = {}
    for item in landed.benchmarks:
        if item.leaderboard is None:
            continue
        entries, _ = leaderboard_entries(item.leaderboard.path.read_bytes())
        for entry in entries:
            seen.setdefault(entry["modelId"], None)
    return list(seen)


def describe_benchmarks(landed: LandedBenchmarks) -> dict[str, Any]:
    """The benchmarks' part of a snapshot's sources (and so of its fingerprint)."""
    return {
        "pages": [page.sha256 for page in landed.pages],
        "benchmarks": {
            item.dataset_id: {
                "sha": item.sha,
                "eval_yaml_sha256": item.eval_yaml.sha256 if item.eval_yaml else None,
                "leaderboard_sha256": item.leaderboard.sha256 if item.leaderboard else None,
            }
            for item in landed.benchmarks
        },
    }


def benchmark_raw_objects(raw: RawStore, landed: LandedBenchmarks) -> list[dict[str, Any]]:
    """The manifest's `raw_objects` for the benchmarks."""

    entries = [raw_entry(raw, "benchmark_listing", None, None, page) for page in landed.pages]
    for item in landed.benchmarks:
        if item.eval_yaml is not None:
            entries.append(raw_entry(raw, "eval_yaml", item.dataset_id, item.sha, item.eval_yaml))
        if item.leaderboard is not None:
            entries.append(
                raw_entry(raw, "benchmark_leaderboard", item.dataset_id, None, item.leaderboard)
            )
    return entries


def fetch_official(
    config: SyncConfig,
    *,
    pacer: Pacer | None = None,
    previous: Mapping[str, Mapping[str, Any]] | None = None,
) -> LandedBenchmarks:
    """The benchmarks stage: a client of the run's pacer, the run's raw landing."""
    client, raw = make_client(config, pacer=pacer), RawStore(config.data_dir / "raw")
    return fetch_benchmarks(client, raw, previous=previous, workers=config.download_workers)
