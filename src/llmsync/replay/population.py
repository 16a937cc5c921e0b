"""The leaderboards' whole population of model repos, served by the replay hub.

`--population` makes every repo named on either leaderboard (in any export the
hub serves, as of its date) a model repo of the replay hub. A repo with a
recording is served exactly as recorded; every other repo is generated from its
own leaderboard row (`generated.py`). The population is built in a background
thread when the hub starts; a request that needs it waits until it is ready.

Repo ids are case-insensitive, as on the Hub: names on the leaderboards that
differ only in case are one repo with one sha, spelled as the recording spells
it, else as the newest export does (the first spelling `collect_facts` keeps);
any spelling of its id is served as that repo.

Mutations change it while the hub runs, so that a second sync sees a Hub that
moved on (`mutate`, or `POST /_replay/population`; the ops in POPULATION.md):
`new_sha`, `counts`, `rename`, `delete`, `gate`, `ungate`, and the eval
results' (`population_evalops.py`). A share of the generated repos carries
generated eval results (`population_evals.py`).

`count` picks that many live generated repos with a random generator seeded by
(`seed`, the population's version, the op's index): the same calls with the
same seeds change the same repos the same way. A new commit's `lastModified`
is Hub time (`hubclock.py`), or `at` when given.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from llmsync.hub.ids import is_valid_repo_id
from llmsync.replay.facts import Export, collect_facts, leaderboard_exports, parse_day
from llmsync.replay.generated import GeneratedRepo, first_version, info_body, object_id
from llmsync.replay.hubclock import HubClock
from llmsync.replay.population_evalops import EVAL_OPS, applies, apply
from llmsync.replay.population_evals import DEFAULT_SHARE, count_results, items, seed_repo
from llmsync.replay.population_ops import MutationError, counts, gate, new_sha
from llmsync.replay.recordings import Repo
from llmsync.replay.replies import iso
from llmsync.replay.view import HubView

__all__ = ["OPS", "Entry", "Found", "MutationError", "Population"]
OPS = ("new_sha", "counts", "rename", "delete", "gate", "ungate", *EVAL_OPS)
MAX_COUNT = 100_000


@dataclass
class Entry:
    """A live model repo as a listing sees it: its full item (the body a
    listing projects) and the keys it sorts by."""

    repo_id: str
    object_id: str
    item: dict[str, Any]
    generated: bool


@dataclass(frozen=True)
class Found:
    """What an id names: a generated repo, a redirect, or a deleted repo."""

    kind: str  # "generated" | "redirect" | "deleted"
    repo: GeneratedRepo | None = None
    new_id: str | None = None


class Population:
    """Generated repos, the recorded model repos, and the mutations of both."""

    def __init__(
        self,
        view: HubView,
        *,
        clock: HubClock,
        eval_results: Callable[[Repo], list[Any]] | None = None,
        eval_benchmarks: Mapping[str, Sequence[str]] | None = None,
        eval_share: float = DEFAULT_SHARE,
        pr_moves_last_modified: bool = True,
    ) -> None:
        self.view = view
        self.pr_moves_last_modified = pr_moves_last_modified  # population_evalops.py
        # A recorded repo's `evalResults` (replay.evals), for `expand[]=evalResults`.
        self.eval_results = eval_results
        # The official benchmarks' task ids, and the share of generated repos with results.
        self.eval_benchmarks, self.eval_share = dict(eval_benchmarks or {}), eval_share
        self._touched: set[str] = set()  # repos an eval op of the current call changed
        self.clock = clock
        self.generated: dict[str, GeneratedRepo] = {}
        self.recorded_ids: list[str] = sorted(
            repo.repo_id for repo in view.repos.values() if repo.repo_type == "model"
        )
        self.renamed: dict[str, str] = {}  # old id -> current id
        self.deleted: set[str] = set()
        self.version = 0
        self.exports: list[Export] = []
        self.counts: dict[str, int] = {}
        self.build_seconds: float | None = None
        self._lock = threading.RLock()
        self._ready = threading.Event()
        self._building = False
        self._error: BaseException | None = None
        self._entries: dict[str, Entry] = {}
        self._sorted: dict[str, list[tuple[Any, str, Entry]]] = {}
        # Lower-cased id -> the one spelling served (every id ever live).
        self._spelling: dict[str, str] = {}

    # building

    def build(self) -> None:
        """Read the leaderboards and make every repo (in the background thread)."""
        if self._ready.is_set():
            return
        started = time.perf_counter()
        try:
            self.exports = leaderboard_exports(self.view.repos.values())
            facts, self.counts = collect_facts(self.exports, read=self.view.store.file_bytes)
            self._spelling = {repo_id.lower(): repo_id for repo_id in self.recorded_ids}
            folded = 0
            for repo_id, row in facts.items():
                if repo_id.lower() in self._spelling:  # another spelling of a kept repo
                    folded += repo_id != self._spelling[repo_id.lower()]
                    continue
                if self.view.store.redirect("model", repo_id):
                    continue
                self._spelling[repo_id.lower()] = repo_id
                self.generated[repo_id] = GeneratedRepo(
                    repo_id=repo_id, facts=row, versions=[first_version(row)], likes=row.likes
                )
                seed_repo(self.generated[repo_id], self.eval_benchmarks, share=self.eval_share)
            self.counts["from_leaderboards"] = len(facts)
            self.counts["case_variants_folded"] = folded
            with self._lock:  # the listing items, so that the first listing is quick
                for repo_id in [*self.recorded_ids, *self.generated]:
                    self._entry(repo_id)
        except BaseException as exc:  # surfaced to every request that waits
            self._error = exc
            raise
        finally:
            self.build_seconds = time.perf_counter() - started
            self._ready.set()

    def start_building(self) -> None:
        """Build in a background thread, the first time only."""
        with self._lock:
            if self._building:
                return
            self._building = True
        threading.Thread(target=self.build, name="replay-population", daemon=True).start()

    def wait(self, timeout: float | None = 60.0) -> Population:
        if not self._ready.wait(timeout):
            raise TimeoutError("the population is still being built")
        if self._error is not None:
            raise RuntimeError("building the population failed") from self._error
        return self

    @property
    def ready(self) -> bool:
        return self._ready.is_set() and self._error is None

    # lookups

    def spelling(self, repo_id: str) -> str:
        """The one spelling the population serves `repo_id` as (ids are
        case-insensitive on the Hub); `repo_id` itself when it has none."""
        if self.view.repo("model", repo_id) is not None:
            return repo_id  # recorded, as spelled: no need to wait for the build
        self.wait()
        with self._lock:
            return self._spelling.get(repo_id.lower(), repo_id)

    def find(self, repo_id: str) -> Found | None:
        """A deleted or renamed id (answered before any recording), else a
        generated repo; None: not the population's (recorded, or unknown)."""
        with self._lock:
            if repo_id in self.deleted:
                return Found("deleted")
            new_id = self.renamed.get(repo_id)
            if new_id is not None:
                return Found("redirect", new_id=new_id)
        if self.view.repo("model", repo_id) is not None:
            return None
        self.wait()
        with self._lock:
            repo = self.generated.get(repo_id)
        return Found("generated", repo=repo) if repo is not None else None

    def entries(self) -> list[Entry]:
        """Every live model repo (recorded and generated), for listings."""
        self.wait()
        with self._lock:
            live = [i for i in self.recorded_ids if i not in self.deleted] + list(self.generated)
            return [self._entry(repo_id) for repo_id in live]

    def sorted_entries(
        self, sort: str, key: Callable[[Entry], Any]
    ) -> list[tuple[Any, str, Entry]]:
        """Live entries as (sort value, object id, entry), ascending; cached
        per sort until the next mutation."""
        self.wait()  # never while holding the lock: the build takes it too
        with self._lock:
            cached = self._sorted.get(sort)
            if cached is None:
                cached = sorted(
                    ((key(e), e.object_id, e) for e in self.entries()), key=lambda t: t[:2]
                )
                self._sorted[sort] = cached
            return cached

    def _entry(self, repo_id: str) -> Entry:
        entry = self._entries.get(repo_id)
        if entry is None:
            repo = self.generated.get(repo_id)
            if repo is not None:
                item = info_body(repo, repo.head, blobs=False)
                item["evalResults"] = items(repo, repo.head)
                entry = Entry(repo_id, repo.object_id, item, generated=True)
            else:
                entry = self._recorded_entry(repo_id)
            self._entries[repo_id] = entry
        return entry

    def _recorded_entry(self, repo_id: str) -> Entry:
        repo = self.view.repo("model", repo_id)
        assert repo is not None
        item = json.loads(self.view.info(repo, repo.head, blobs=False))
        # Article bodies built from the data lack a date: the commit's, as the
        # recorded view dates that commit.
        item.setdefault("lastModified", iso(repo.head.date))
        if self.eval_results is not None:
            item["evalResults"] = self.eval_results(repo)
        return Entry(repo_id, str(item.get("_id") or object_id(repo_id)), item, generated=False)

    # mutations

    def mutate(self, ops: Sequence[Mapping[str, Any]], *, seed: int) -> dict[str, Any]:
        """Apply `ops` in order, all or nothing; what changed, for the caller."""
        self.wait()
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise MutationError("seed must be an integer")
        if not isinstance(ops, Sequence) or isinstance(ops, str | bytes):
            raise MutationError("ops must be a list of operations")
        with self._lock:
            snapshot, self._touched = self._save(), set()
            try:
                changes: list[dict[str, Any]] = []
                for index, op in enumerate(ops):
                    changes += self._apply(op, seed=seed, index=index)
            except BaseException:
                self._restore(snapshot)
                raise
            self.version += 1
            self._sorted.clear()
            for change in changes:
                for key in ("id", "old_id"):
                    self._entries.pop(str(change.get(key)), None)
            return {
                "version": self.version,
                "hub_time": iso(self.clock.now()),
                "seed": seed,
                "changes": changes,
            }

    def _save(self) -> Any:
        repos = {
            k: dataclasses.replace(r, versions=[*r.versions], pull_requests=[*r.pull_requests])
            for k, r in self.generated.items()
        }
        saved = dict(self.renamed), set(self.deleted), dict(self._entries), dict(self._spelling)
        return repos, *saved

    def _restore(self, snapshot: Any) -> None:
        self.generated, self.renamed, self.deleted, self._entries, self._spelling = snapshot

    def _apply(self, op: Mapping[str, Any], *, seed: int, index: int) -> list[dict[str, Any]]:
        if not isinstance(op, Mapping) or op.get("op") not in OPS:
            raise MutationError(f"each op is a mapping with `op` one of {OPS}: {op!r}")
        name = str(op["op"])
        known = {"op", "count", "ids", "to", "likes", "downloads", "at"}
        unknown = set(op) - known
        if unknown:
            raise MutationError(f"unknown fields in {name}: {sorted(unknown)}")
        rng = random.Random(f"{seed}/{self.version}/{index}/{name}")
        targets = self._targets(op, rng, name=name)
        if name == "new_sha":
            at = self._time(op.get("at"))
            return [new_sha(self.generated[i], seed=seed, at=at) for i in targets]
        if name == "counts":
            return [counts(self.generated[i], op, rng, seed=seed) for i in targets]
        if name == "rename":
            to = op.get("to")
            if to is not None and (not isinstance(to, list) or len(to) != len(targets)):
                raise MutationError("rename: `to` is a list as long as `ids`")
            return [
                self._rename(repo_id, str(to[n]) if to is not None else None)
                for n, repo_id in enumerate(targets)
            ]
        if name == "delete":
            return [self._delete(repo_id) for repo_id in targets]
        if name in EVAL_OPS:
            self._touched.update(targets)
            bench, at = self.eval_benchmarks, self._time(op.get("at"))
            moves = {"pr_moves_last_modified": self.pr_moves_last_modified}
            return [
                apply(self.generated[i], name, rng, benchmarks=bench, seed=seed, at=at, **moves)
                for i in targets
            ]
        return [gate(self.generated[i], gated=name == "gate") for i in targets]

    def _targets(self, op: Mapping[str, Any], rng: random.Random, *, name: str) -> list[str]:
        ids, count = op.get("ids"), op.get("count")
        if (ids is None) == (count is None):
            raise MutationError(f"{name}: give either `ids` or `count`")
        if ids is not None:
            if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
                raise MutationError(f"{name}: `ids` is a list of repo ids")
            for repo_id in ids:
                self._check_target(repo_id, name=name)
            return list(ids)
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_COUNT:
            raise MutationError(f"{name}: `count` is an integer from 0 to {MAX_COUNT}")
        pool = sorted(
            repo_id
            for repo_id, repo in self.generated.items()
            if self._applies(repo, name) and (name not in EVAL_OPS or repo_id not in self._touched)
        )
        if count > len(pool):
            raise MutationError(f"{name}: {count} repos asked, {len(pool)} can be changed")
        return rng.sample(pool, count)

    def _applies(self, repo: GeneratedRepo, name: str) -> bool:
        if name in ("gate", "ungate"):
            return repo.gated == (name == "ungate")
        return name not in EVAL_OPS or applies(repo, name, self.eval_benchmarks)

    def _check_target(self, repo_id: str, *, name: str) -> None:
        if repo_id in self.generated:
            if name in EVAL_OPS and not self._applies(self.generated[repo_id], name):
                raise MutationError(f"{name}: the eval results of {repo_id} do not allow it")
            return
        if repo_id in self.recorded_ids and repo_id not in self.deleted:
            if name == "delete":
                return
            raise MutationError(
                f"{name}: {repo_id} is served as recorded; only `delete` applies to it"
            )
        raise MutationError(f"{name}: no live repo {repo_id!r} in the population")

    def _time(self, value: Any) -> dt.datetime:
        if value is None:
            return self.clock.now().replace(microsecond=0)
        parsed = parse_day(value) if isinstance(value, str) else None
        if parsed is None:
            raise MutationError(f"`at` is an ISO date or time, got {value!r}")
        return parsed

    def _rename(self, repo_id: str, new_id: str | None) -> dict[str, Any]:
        if new_id is None:
            namespace, name = repo_id.split("/")
            new_id = f"{namespace}/{name[:80]}-renamed"
            n = 2
            while self._taken(new_id):
                new_id = f"{namespace}/{name[:80]}-renamed-{n}"
                n += 1
        if "/" not in new_id or not is_valid_repo_id(new_id):
            raise MutationError(f"rename: {new_id!r} is not a namespaced Hub repo id")
        if self._taken(new_id):
            raise MutationError(f"rename: {new_id!r} is taken")
        repo = self.generated.pop(repo_id)
        repo.repo_id = new_id
        self.generated[new_id] = repo
        self._spelling[new_id.lower()] = new_id
        for old, current in list(self.renamed.items()):
            if current == repo_id:
                self.renamed[old] = new_id
        self.renamed[repo_id] = new_id
        return {"op": "rename", "id": new_id, "old_id": repo_id}

    def _taken(self, repo_id: str) -> bool:
        return (
            repo_id.lower() in self._spelling
            or repo_id in self.generated
            or repo_id in self.recorded_ids
            or repo_id in self.renamed
            or repo_id in self.deleted
            or self.view.store.redirect("model", repo_id) is not None
        )

    def _delete(self, repo_id: str) -> dict[str, Any]:
        self.generated.pop(repo_id, None)
        self.deleted.add(repo_id)
        for old, current in list(self.renamed.items()):
            if current == repo_id:
                del self.renamed[old]
                self.deleted.add(old)
        return {"op": "delete", "id": repo_id}

    def generated_eval_results(self) -> list[tuple[str, list[dict[str, Any]]]]:
        """(repo id, `evalResults`) of each generated repo that has any, for leaderboards."""
        self.wait()
        with self._lock:
            found = [
                (i, items(r, r.head))
                for i, r in self.generated.items()
                if r.head.eval_files or r.pull_requests
            ]
        return [(repo_id, results) for repo_id, results in found if results]

    # reporting

    def summary(self) -> dict[str, Any]:
        ready = self._ready.is_set()
        with self._lock:
            generated = list(self.generated.values())
            return {
                "ready": ready,
                "build_seconds": None
                if self.build_seconds is None
                else round(self.build_seconds, 3),
                "version": self.version,
                "hub_time": iso(self.clock.now()),
                "repos": len(generated) + len(set(self.recorded_ids) - self.deleted),
                "generated": len(generated),
                "recorded": len(set(self.recorded_ids) - self.deleted),
                "generated_shas": sum(1 for r in generated if r.versions[0].generated_sha),
                "new_commits": sum(len(r.versions) - 1 for r in generated),
                "gated": sum(1 for r in generated if r.gated),
                "renamed": len(self.renamed),
                "deleted": len(self.deleted),
                "exports": [e.label for e in self.exports],
                "eval_results": {
                    "share": self.eval_share,
                    "repos": sum(1 for r in generated if r.head.eval_files or r.pull_requests),
                    "results": sum(count_results(r) for r in generated),
                },
                **{f"leaderboard_{k}": v for k, v in self.counts.items()},
            }
