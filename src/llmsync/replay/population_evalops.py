"""Population mutations of generated eval results (`POST /_replay/population`).

    {"op": "add_result", "count": 3}      # a new file on main: a new commit
    {"op": "open_pr", "ids": ["a/b"]}     # a pull request with one new file
    {"op": "merge_pr", "count": 1}        # an open PR's files land on main: a new commit
    {"op": "close_pr", "count": 1}        # an open PR closed unmerged
    {"op": "flip_verified", "count": 2}   # verifyToken added or removed: a new commit
    {"op": "reject_file", "count": 1}     # a file rewritten with a non-numeric value
    {"op": "change_value", "count": 2}    # a result's value changes: a new commit
    {"op": "delete_file", "count": 1}     # a file removed from main: a new commit

A change of main is a commit, as on the Hub: a new sha, `lastModified` the
mutation's time, the card unchanged. Opening or closing a pull request leaves
main's sha alone and, by default, moves `lastModified` (the replay's
assumption: no recording shows what the Hub does there);
`ReplayHub(pr_moves_last_modified=False)` switches that off, as llmsync must
not rely on it (it re-reads every repo with an open PR each night). Each op
applies to generated repos whose results allow it, and `count` draws among those not changed by an
earlier eval op of the same call, so that each repo's change is one op's.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from typing import Any

from llmsync.replay.generated import GeneratedRepo
from llmsync.replay.population_evals import (
    REJECTED,
    Benchmarks,
    EvalFile,
    PullRequest,
    Result,
    file_name,
    open_prs,
    result,
)
from llmsync.replay.population_ops import commit
from llmsync.replay.replies import iso

EVAL_OPS = (
    "add_result",
    "open_pr",
    "merge_pr",
    "close_pr",
    "flip_verified",
    "reject_file",
    "change_value",
    "delete_file",
)


def free_benchmarks(repo: GeneratedRepo, benchmarks: Benchmarks) -> list[str]:
    """Benchmarks with no file on main nor in an open pull request."""
    taken = {name for pr in open_prs(repo) for name in pr.files} | set(repo.head.eval_files)
    return [d for d in sorted(benchmarks) if file_name(d) not in taken]


def _valid_files(repo: GeneratedRepo) -> list[str]:
    return sorted(n for n, f in repo.head.eval_files.items() if f.error is None)


def applies(repo: GeneratedRepo, name: str, benchmarks: Benchmarks) -> bool:
    """Whether eval op `name` can change `repo`."""
    if name in ("add_result", "open_pr"):
        return bool(free_benchmarks(repo, benchmarks))
    if name in ("merge_pr", "close_pr"):
        return bool(open_prs(repo))
    if name == "delete_file":
        return bool(repo.head.eval_files)
    return bool(_valid_files(repo))


def apply(
    repo: GeneratedRepo,
    name: str,
    rng: random.Random,
    *,
    benchmarks: Benchmarks,
    seed: int,
    at: dt.datetime,
    pr_moves_last_modified: bool = True,
) -> dict[str, Any]:
    """Apply eval op `name` to `repo`; what changed (its results as
    `[dataset_id, task_id]` pairs, before the change for removals)."""
    files = dict(repo.head.eval_files)
    if name in ("add_result", "open_pr"):
        dataset_id = rng.choice(free_benchmarks(repo, benchmarks))
        added = EvalFile((result(rng, dataset_id, benchmarks[dataset_id]),))
        filename = file_name(dataset_id)
        if name == "open_pr":
            number = max((pr.number for pr in repo.pull_requests), default=0) + 1
            repo.pull_requests = [*repo.pull_requests, PullRequest(number, {filename: added})]
            return _touched(
                repo, name, at, filename, added, pull_request=number, moves=pr_moves_last_modified
            )
        files[filename] = added
        return _commit(repo, name, files, seed=seed, at=at, filename=filename, changed=added)
    if name in ("merge_pr", "close_pr"):
        pr = rng.choice(open_prs(repo))
        state = "merged" if name == "merge_pr" else "closed"
        index = repo.pull_requests.index(pr)
        repo.pull_requests = [
            *repo.pull_requests[:index],
            dataclasses.replace(pr, state=state),
            *repo.pull_requests[index + 1 :],
        ]
        ((filename, pr_file),) = sorted(pr.files.items())[:1]
        if name == "close_pr":
            return _touched(
                repo,
                name,
                at,
                filename,
                pr_file,
                pull_request=pr.number,
                moves=pr_moves_last_modified,
            )
        files.update(pr.files)
        change = _commit(repo, name, files, seed=seed, at=at, filename=filename, changed=pr_file)
        return {**change, "pull_request": pr.number}
    filename = rng.choice(sorted(files) if name == "delete_file" else _valid_files(repo))
    before = files[filename]
    if name == "delete_file":
        del files[filename]
    elif name == "reject_file":
        files[filename] = EvalFile(before.results, error=REJECTED)
    else:
        files[filename] = EvalFile((_edited(before.results[0], name, rng), *before.results[1:]))
    return _commit(repo, name, files, seed=seed, at=at, filename=filename, changed=before)


def _edited(old: Result, name: str, rng: random.Random) -> Result:
    if name == "flip_verified":
        return dataclasses.replace(old, verified=not old.verified)
    step = round(rng.uniform(0.5, 5.0), 1) * rng.choice((-1, 1))
    new = round(old.value + step, 1)
    return dataclasses.replace(old, value=new if 0 <= new <= 100 else round(old.value - step, 1))


def _commit(
    repo: GeneratedRepo,
    name: str,
    files: dict[str, EvalFile],
    *,
    seed: int,
    at: dt.datetime,
    filename: str,
    changed: EvalFile,
) -> dict[str, Any]:
    title = f"{name.replace('_', ' ').capitalize()}: {filename}"
    version = commit(repo, seed=seed, at=at, eval_files=files, eval_commit=title)
    return {**_change(repo, name, filename, changed, pull_request=None), "sha": version.sha}


def _touched(
    repo: GeneratedRepo,
    name: str,
    at: dt.datetime,
    filename: str,
    changed: EvalFile,
    *,
    pull_request: int,
    moves: bool,
) -> dict[str, Any]:
    if moves:  # the replay's assumption (see the module's doc)
        repo.updated = max(at, repo.head.last_modified, repo.updated or at)
    change = _change(repo, name, filename, changed, pull_request=pull_request)
    return {
        **change,
        "sha": repo.head.sha,
        "lastModified": iso(repo.updated or repo.head.last_modified),
    }


def _change(
    repo: GeneratedRepo, name: str, filename: str, changed: EvalFile, *, pull_request: int | None
) -> dict[str, Any]:
    return {
        "op": name,
        "id": repo.repo_id,
        "lastModified": iso(repo.head.last_modified),
        "filename": filename,
        "pull_request": pull_request,
        "results": [[r.dataset_id, r.task_id] for r in changed.results],
    }
