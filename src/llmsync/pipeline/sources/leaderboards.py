"""The leaderboards' commit histories: a source of the sync.

Each leaderboard's table (v1, v2, OpenEvals) at every commit of its dataset
repo that has one. Revisions are immutable, so one landed before is read from
`data/raw/` without asking the Hub. A leaderboard that cannot be listed or
fetched fails the run: a snapshot without it would be a lie by omission.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from llmsync.hub.client import HubClient
from llmsync.hub.errors import CommitRef, FileNotFound, HubError, RepoNotFound
from llmsync.hub.ids import is_commit_sha
from llmsync.hub.landing import StoredObject
from llmsync.hub.pacing import Pacer
from llmsync.pipeline.report import SyncFailed
from llmsync.pipeline.revision import LeaderboardRevision
from llmsync.pipeline.scores import ParseAhead, ScoresBuild, build_scores, read_prior
from llmsync.pipeline.sources.base import Fetched, SourceRun, in_raw_order, raw_entry
from llmsync.pipeline.stages import SyncConfig, make_client
from llmsync.pipeline.threads import map_in_threads
from llmsync.store.raw import RawStore
from llmsync.tables.leaderboards import (
    EXPORT_MAX_BYTES,
    LEADERBOARD_FILE,
    LEADERBOARD_REPOS,
    LEADERBOARDS_SINCE_2026,
)


class Leaderboards:
    name = "leaderboards"

    def reads(self, config: SyncConfig) -> tuple[str, ...]:
        return ()

    def fetch(self, run: SourceRun) -> Fetched[list[LeaderboardRevision]]:
        # What lands is parsed while the fetch waits on the Hub; the build takes it.
        run.parse_ahead = ParseAhead()
        revisions = run.stage(
            "fetch leaderboards",
            fetch_leaderboards,
            run.config,
            pacer=run.pacer,
            known=known_histories(run.previous.manifest if run.previous else None),
            on_landed=run.parse_ahead.landed,
        )
        raw = RawStore(run.config.data_dir / "raw")
        description = describe_leaderboards(revisions)
        return Fetched(
            revisions,
            description=description,
            raw_objects=leaderboard_raw_objects(raw, revisions),
            # A cut history is not spliced onto the next listing: it lacks the older part.
            manifest={
                COMPLETE_HISTORIES: sorted(description) if run.config.max_revisions is None else []
            },
        )


LEADERBOARDS = Leaderboards()


def built_scores(run: SourceRun) -> ScoresBuild:
    """The scores of this run's landed revisions, built once (a leaderboards
    population is read off them before the models are fetched)."""
    if run.scores is None:
        try:
            run.scores = run.run_stage(
                "build scores",
                build_scores,
                run.landed.data(LEADERBOARDS),
                prior=read_prior(run.previous),
                suspect_row_loss=run.config.suspect_row_loss,
                ahead=run.parse_ahead,
            )
        finally:
            run.close()
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


# The manifest's list of the leaderboards whose `revisions` are their whole
# history (not cut by `max_revisions`): only those are spliced onto a listing.
COMPLETE_HISTORIES = "complete_histories"


def known_histories(manifest: Mapping[str, Any] | None) -> dict[str, list[CommitRef]]:
    """Each leaderboard's revisions a previous snapshot read, newest first, as
    the commits they were read at: for the leaderboards whose whole history it
    read. A manifest that does not say so (an older llmsync's, or a run cut by
    `max_revisions`) gives none, and the next listing pages to the end."""
    complete = (manifest or {}).get(COMPLETE_HISTORIES)
    read = ((manifest or {}).get("sources") or {}).get("leaderboards")
    if not isinstance(complete, list) or not isinstance(read, dict):
        return {}
    known: dict[str, list[CommitRef]] = {}
    for leaderboard, entry in read.items():
        if leaderboard not in complete:
            continue
        try:
            # The manifest keeps a revision's date, not its time, and no title:
            # the date is all a landed revision reads of its commit (midnight
            # UTC stands in for the time, never read).
            known[leaderboard] = [
                CommitRef(
                    sha=_commit_sha(item["revision"]),
                    date=dt.datetime.combine(
                        dt.date.fromisoformat(str(item["date"])), dt.time(), tzinfo=dt.UTC
                    ),
                    title="",
                )
                for item in entry["revisions"]
            ]
        except (KeyError, TypeError, ValueError):
            continue  # unreadable: that leaderboard is listed to its end
    return known


def _commit_sha(value: Any) -> str:
    if not (isinstance(value, str) and is_commit_sha(value)):
        raise ValueError(f"not a commit sha: {str(value)[:40]!r}")
    return value


def fetch_leaderboards(
    config: SyncConfig,
    *,
    pacer: Pacer | None = None,
    known: Mapping[str, Sequence[CommitRef]] | None = None,
    on_landed: Callable[[LeaderboardRevision], None] | None = None,
) -> list[LeaderboardRevision]:
    """Land every revision of each leaderboard's table (newest first).

    The leaderboards are listed at once. A listing stops at the first commit
    `known` holds for its leaderboard (what a previous snapshot read, newest
    first; see `known_histories`) and takes that commit's known history from
    there; one that never meets it (the history was rewritten) pages to the
    end, and the build decides whether the intervals extend or are rebuilt.
    `on_landed` is told of each table as it lands (not of those landed before).
    Revisions are immutable, so one landed before is read from `data/raw/`
    without asking the Hub. A leaderboard that cannot be listed or fetched
    fails the run: a snapshot without it would be a lie by omission.
    """
    client = make_client(config, pacer=pacer)
    raw = RawStore(config.data_dir / "raw")

    def listed(leaderboard: str) -> tuple[str, str, list[CommitRef]] | None:
        repo_id = LEADERBOARD_REPOS[leaderboard]
        try:
            commits = _history(
                client,
                repo_id,
                known=(known or {}).get(leaderboard, ()),
                limit=config.max_revisions,
            )
        except HubError as exc:
            if isinstance(exc, RepoNotFound) and leaderboard in LEADERBOARDS_SINCE_2026:
                return None  # not there yet (a replay as of an earlier date)
            raise SyncFailed(f"leaderboard {leaderboard} ({repo_id}) unavailable: {exc}") from exc
        return leaderboard, repo_id, commits

    # Each listing waits on the Hub alone: all go at once (the pacer keeps
    # them within the rate limits); a failure is raised in the boards' order.
    boards = config.leaderboards
    histories = [h for h in map_in_threads(listed, boards, workers=len(boards)) if h is not None]
    found = _land_all(client, raw, histories, workers=config.download_workers, on_landed=on_landed)
    landed: list[LeaderboardRevision] = []
    for leaderboard, repo_id, _ in histories:
        if not found[leaderboard]:
            raise SyncFailed(f"leaderboard {leaderboard} ({repo_id}) has no table to read")
        landed.extend(found[leaderboard])
    return landed


def _history(
    client: HubClient, repo_id: str, *, known: Sequence[CommitRef], limit: int | None
) -> list[CommitRef]:
    """The commits to read, newest first: listed until a known one, then the
    known history from it on (what was read before, no request)."""
    position = {commit.sha: i for i, commit in enumerate(known)}
    commits = client.list_commits(repo_id, repo_type="dataset", until=position, limit=limit)
    if commits and commits[-1].sha in position:
        commits += known[position[commits[-1].sha] + 1 :]
    return commits[:limit] if limit is not None else commits


def _land_all(
    client: HubClient,
    raw: RawStore,
    histories: Sequence[tuple[str, str, Sequence[CommitRef]]],
    *,
    workers: int,
    on_landed: Callable[[LeaderboardRevision], None] | None = None,
) -> dict[str, list[LeaderboardRevision]]:
    """Each leaderboard's commits' tables (leaderboard, repo id, commits), in
    the commits' order, through one pool. Each leaderboard's first export not
    landed yet (its newest, on a first sync) goes first, the leaderboards' at
    once, so a Hub that refuses one fails once for it, not once per worker;
    then all the rest, `workers` at a time. On a failure the downloads not yet
    started are dropped; every file that landed stays landed for the next run."""
    jobs = [
        (leaderboard, repo_id, commit)
        for leaderboard, repo_id, commits in histories
        for commit in commits
    ]
    firsts: dict[str, int] = {}
    for i, (leaderboard, repo_id, commit) in enumerate(jobs):
        if leaderboard not in firsts and not _on_disk(raw, repo_id, commit):
            firsts[leaderboard] = i
    results: dict[int, LeaderboardRevision | None] = {}
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures: dict[int, Future[LeaderboardRevision | None]] = {}
        try:
            first = list(firsts.values())
            rest = [i for i in range(len(jobs)) if i not in firsts.values()]
            for wave in (first, rest):
                futures |= {
                    i: pool.submit(_land_one, client, raw, *jobs[i], on_landed=on_landed)
                    for i in wave
                }
                results |= {i: futures[i].result() for i in wave}
        except BaseException:
            for future in futures.values():
                future.cancel()
            raise
    found: dict[str, list[LeaderboardRevision]] = {board: [] for board, _, _ in histories}
    for i, (leaderboard, _, _) in enumerate(jobs):
        item = results[i]
        if item is not None:
            found[leaderboard].append(item)
    return found


def _on_disk(raw: RawStore, repo_id: str, commit: CommitRef) -> bool:
    """Whether the commit's table is in the landing (its hash is checked when read)."""
    path = raw.path_for(repo_id, LEADERBOARD_FILE, repo_type="dataset", revision=commit.sha)
    return path.is_file()


def _land_one(
    client: HubClient,
    raw: RawStore,
    leaderboard: str,
    repo_id: str,
    commit: CommitRef,
    *,
    on_landed: Callable[[LeaderboardRevision], None] | None = None,
) -> LeaderboardRevision | None:
    stored = raw.get(repo_id, LEADERBOARD_FILE, repo_type="dataset", revision=commit.sha)
    landed_now = stored is None
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
    item = LeaderboardRevision(leaderboard, repo_id, commit.sha, date, stored.path, stored)
    if landed_now and on_landed is not None:
        on_landed(item)
    return item
