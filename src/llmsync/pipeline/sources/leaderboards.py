"""The leaderboards' commit histories: a source of the sync.

Each leaderboard's table (v1, v2, OpenEvals) at every commit of its dataset
repo that has one. Revisions are immutable, so one landed before is read from
`data/raw/` without asking the Hub. A leaderboard that cannot be listed or
fetched fails the run: a snapshot without it would be a lie by omission.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from llmsync.hub.client import HubClient
from llmsync.hub.errors import CommitRef, FileNotFound, HubError, RepoNotFound
from llmsync.hub.landing import StoredObject
from llmsync.hub.pacing import Pacer
from llmsync.pipeline.report import SyncFailed
from llmsync.pipeline.revision import LeaderboardRevision
from llmsync.pipeline.scores import ScoresBuild, build_scores, read_prior
from llmsync.pipeline.sources.base import Fetched, SourceRun, in_raw_order, raw_entry
from llmsync.pipeline.stages import SyncConfig, make_client
from llmsync.store.raw import RawStore
from llmsync.tables.leaderboards import (
    EXPORT_MAX_BYTES,
    LEADERBOARD_FILE,
    LEADERBOARD_REPOS,
    LEADERBOARDS_SINCE_2026,
)


class Leaderboards:
    name = "leaderboards"

    def fetch(self, run: SourceRun) -> Fetched[list[LeaderboardRevision]]:
        revisions = run.stage("fetch leaderboards", fetch_leaderboards, run.config, pacer=run.pacer)
        raw = RawStore(run.config.data_dir / "raw")
        return Fetched(
            revisions,
            description=describe_leaderboards(revisions),
            raw_objects=leaderboard_raw_objects(raw, revisions),
        )


LEADERBOARDS = Leaderboards()


def built_scores(run: SourceRun) -> ScoresBuild:
    """The scores of this run's landed revisions, built once (a leaderboards
    population is read off them before the models are fetched)."""
    if run.scores is None:
        run.scores = run.run_stage(
            "build scores",
            build_scores,
            run.landed.data(LEADERBOARDS),
            prior=read_prior(run.previous),
            suspect_row_loss=run.config.suspect_row_loss,
        )
    return run.scores


def leaderboard_raw_objects(
    raw: RawStore, revisions: Sequence[LeaderboardRevision]
) -> list[dict[str, Any]]:
    """Each revision's landed table."""
    return in_raw_order(
        [
            raw_entry(raw, "leaderboard", item.repo_id, item.revision, stored)
            for item in revisions
            for stored in [item.stored or raw.stored(item.path)]
        ]
    )


def describe_leaderboards(revisions: Sequence[LeaderboardRevision]) -> dict[str, Any]:
    """Every revision read, per leaderboard (the manifest's `sources.leaderboards`)."""
    leaderboards: dict[str, Any] = {}
    for item in revisions:
        entry = leaderboards.setdefault(
            item.leaderboard, {"repo_id": item.repo_id, "revisions": []}
        )
        entry["revisions"].append({"revision": item.revision, "date": item.date.isoformat()})
    return leaderboards


def fetch_leaderboards(
    config: SyncConfig, *, pacer: Pacer | None = None
) -> list[LeaderboardRevision]:
    """Land every revision of each leaderboard's table (newest first).

    Revisions are immutable, so one landed before is read from `data/raw/`
    without asking the Hub. A leaderboard that cannot be listed or fetched
    fails the run: a snapshot without it would be a lie by omission.
    """
    client = make_client(config, pacer=pacer)
    raw = RawStore(config.data_dir / "raw")
    landed: list[LeaderboardRevision] = []
    for leaderboard in config.leaderboards:
        repo_id = LEADERBOARD_REPOS[leaderboard]
        try:
            commits = client.list_commits(repo_id, repo_type="dataset")
        except HubError as exc:
            if isinstance(exc, RepoNotFound) and leaderboard in LEADERBOARDS_SINCE_2026:
                continue  # not there yet (a replay as of an earlier date)
            raise SyncFailed(f"leaderboard {leaderboard} ({repo_id}) unavailable: {exc}") from exc
        if config.max_revisions is not None:
            commits = commits[: config.max_revisions]
        found = _land_all(
            client, raw, leaderboard, repo_id, commits, workers=config.download_workers
        )
        if not found:
            raise SyncFailed(f"leaderboard {leaderboard} ({repo_id}) has no table to read")
        landed.extend(found)
    return landed


def _land_all(
    client: HubClient,
    raw: RawStore,
    leaderboard: str,
    repo_id: str,
    commits: Sequence[CommitRef],
    *,
    workers: int,
) -> list[LeaderboardRevision]:
    """Each commit's table, in the commits' order. The newest is fetched alone
    first, so a Hub that refuses fails once, not once per worker; the rest go
    `workers` at a time. On a failure the downloads not yet started are
    dropped; every file that landed stays landed for the next run."""
    if not commits:
        return []
    results: list[LeaderboardRevision | None] = [
        _land_one(client, raw, leaderboard, repo_id, commits[0])
    ]
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures: list[Future[LeaderboardRevision | None]] = [
            pool.submit(_land_one, client, raw, leaderboard, repo_id, commit)
            for commit in commits[1:]
        ]
        try:
            results.extend(future.result() for future in futures)
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    return [item for item in results if item is not None]


def _land_one(
    client: HubClient, raw: RawStore, leaderboard: str, repo_id: str, commit: CommitRef
) -> LeaderboardRevision | None:
    stored = raw.get(repo_id, LEADERBOARD_FILE, repo_type="dataset", revision=commit.sha)
    if stored is None:
        try:
            # The commit listing named the sha: one request lands the file.
            file = client.file_at(
                repo_id,
                LEADERBOARD_FILE,
                repo_type="dataset",
                sha=commit.sha,
                max_bytes=EXPORT_MAX_BYTES,
            )
        except FileNotFound:
            # That commit predates the table (or dropped it): nothing to read there.
            return None
        except HubError as exc:
            raise SyncFailed(
                f"leaderboard {leaderboard} at {commit.sha[:10]} unavailable: {exc}"
            ) from exc
        stored = StoredObject(file.path, file.sha256, file.size)
    date = commit.date.date()
    return LeaderboardRevision(leaderboard, repo_id, commit.sha, date, stored.path, stored)
