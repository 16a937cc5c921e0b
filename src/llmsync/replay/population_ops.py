"""The population's mutations of one generated repo that need nothing but the
repo: a new commit, new counts, a gate (`Population.mutate` picks the repos)."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping
from typing import Any

from llmsync.replay.generated import GeneratedRepo, Version, generated_sha
from llmsync.replay.replies import iso


class MutationError(ValueError):
    """A mutation request the population cannot apply (nothing was changed)."""


def commit(
    repo: GeneratedRepo,
    *,
    seed: int,
    at: dt.datetime,
    eval_files: dict[str, Any],
    eval_commit: str | None = None,
) -> Version:
    """A new commit on main (a generated sha), never older than its parent."""
    head = repo.head
    revision = head.revision + 1
    sha = generated_sha(repo.facts.repo_id, f"mutation seed {seed}", f"revision {revision}")
    version = Version(
        sha=sha,
        last_modified=max(at, head.last_modified, repo.updated or at),
        revision=revision,
        seed=seed,
        generated_sha=True,
        eval_files=eval_files,
        eval_commit=eval_commit,
    )
    repo.versions.append(version)
    return version


def new_sha(repo: GeneratedRepo, *, seed: int, at: dt.datetime) -> dict[str, Any]:
    """A new commit: new sha, new card, the eval results kept."""
    version = commit(repo, seed=seed, at=at, eval_files=repo.head.eval_files)
    return {
        "op": "new_sha",
        "id": repo.repo_id,
        "sha": version.sha,
        "lastModified": iso(version.last_modified),
    }


def counts(
    repo: GeneratedRepo, op: Mapping[str, Any], rng: random.Random, *, seed: int
) -> dict[str, Any]:
    """Likes and downloads change; sha and `lastModified` do not (as on the Hub)."""
    likes, downloads = op.get("likes"), op.get("downloads")
    for field, value in (("likes", likes), ("downloads", downloads)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise MutationError(f"counts: `{field}` is an integer")
    if likes is None and downloads is None:
        likes = (repo.likes or 0) + rng.randint(1, 100)
        downloads = rng.randint(0, 100_000)
    if likes is not None:
        repo.likes = likes
    if downloads is not None:
        repo.downloads = downloads
    repo.counts_changed_by = seed
    return {"op": "counts", "id": repo.repo_id, "likes": repo.likes, "downloads": repo.downloads}


def gate(repo: GeneratedRepo, *, gated: bool) -> dict[str, Any]:
    repo.gated = gated
    return {"op": "gate" if gated else "ungate", "id": repo.repo_id}
