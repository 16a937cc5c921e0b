"""Deterministic fault injection for the replay hub (off unless a plan is given).

A plan is an ordered list of rules. Each request is checked against the rules
in order; the first rule that matches (method, path regex) and still has
`times` left fires and uses one of its turns. A rule with `times: null` fires
forever. Counters are shared by all server threads, under a lock, so "fail the
first 2 requests" means exactly 2 whatever the concurrency.

Plan file (JSON or YAML):

```yaml
faults:
  - {path: "/api/models/", action: status, status: 429, retry_after: 2, times: 1}
  - {method: GET, path: "/resolve/", action: truncate, fraction: 0.5}
  - {path: "^/api/models/databricks/", action: gated, status: 403}
  - {path: "/datasets/", action: reset}
  - {path: "/api/", action: delay, seconds: 0.5, times: null}
  - {path: "/api/models/old/name", action: redirect, to: "new/name"}
  - {path: "/resolve/", action: header, header: X-Repo-Commit, value: "0000…"}
partial_captures: true   # optional: serve the recorded partial captures as commits
odd_eval_items: [google/gemma-4-12B-it]   # optional: serve generated odd eval items too
rewritten_history: {open-llm-leaderboard/contents: 2024-07-16}   # optional, see below
```

`rewritten_history` maps dataset repo ids to a date: the repo's history is
served as a force-push that dropped its first commit on or after that date
would leave it (`rewritten`): the commits before keep their ids, every later
one gets a new one, as a commit id hashes its parent's. The new ids are
generated (the sha1 of `rewritten ` and the recorded id) and each such
commit's title says so; the files are the recorded ones.

`odd_eval_items` names model repos whose `evalResults` also carry the
generated odd item shapes of `odd_evals.py` (labelled generated); the
official leaderboards then end with generated odd entries.

`partial_captures: true` makes the replay hub serve the recordings' partial
captures (real but bad upstream revisions, such as a leaderboard export of a
few dozen rows) as ordinary commits; see `recordings.py`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from llmsync.replay.recordings import Repo

ACTIONS = ("status", "delay", "reset", "truncate", "redirect", "gated", "header")
FAULT_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class FaultRule:
    """One rule. Only the fields of its `action` are used:

    - status: `status` (429, 500, 502, 503, 504); for 429, `retry_after`
      seconds (None: no `Retry-After` header) and `ratelimit_reset` seconds for
      the `RateLimit` header's `t=` (None: same as `retry_after`, or 1).
    - delay: wait `seconds`, then serve normally.
    - reset: send part of the body (`fraction`) then reset the connection (RST);
      a response without a body is reset before its headers.
    - truncate: send the headers with the full Content-Length, then only
      `fraction` of the body, then close cleanly.
    - redirect: 307 to the same URL with the repo renamed to `to`.
    - gated: the Hub's gated-repo refusal; `status` 401 or 403 (None: 401 for
      an anonymous request, 403 for an authenticated one).
    - header: the answer is served with its `header` set to `value` (None:
      left out), as a proxy or a broken server might; a false Content-Length
      is sent as such (the body is the true one) and the connection closed.

    `echo_auth` (status and gated): the error message repeats the request's
    `Authorization` header, as a careless proxy might, so that tests prove the
    token is redacted wherever an error message travels.
    """

    path: str
    action: str
    method: str | None = None
    times: int | None = 1
    status: int | None = None
    retry_after: float | None = 1
    ratelimit_reset: int | None = None
    seconds: float = 0.0
    fraction: float = 0.5
    to: str | None = None
    header: str | None = None
    value: str | None = None
    echo_auth: bool = False
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"unknown fault action {self.action!r}; expected one of {ACTIONS}")
        if self.action == "status" and self.status not in FAULT_STATUSES:
            raise ValueError(f"status fault needs status in {sorted(FAULT_STATUSES)}")
        if self.action == "gated" and self.status not in (None, 401, 403):
            raise ValueError("gated fault status must be 401 or 403")
        if self.action == "redirect" and not self.to:
            raise ValueError("redirect fault needs `to` (the new repo id)")
        if self.action == "header" and not self.header:
            raise ValueError("header fault needs `header` (the header's name)")
        if not 0.0 <= self.fraction < 1.0:
            raise ValueError("fraction must be within [0, 1)")
        if self.times is not None and self.times < 0:
            raise ValueError("times must be >= 0 or null (forever)")
        object.__setattr__(self, "pattern", re.compile(self.path))

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return self.pattern.search(path) is not None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FaultRule:
        known = {
            "path",
            "action",
            "method",
            "times",
            "status",
            "retry_after",
            "ratelimit_reset",
            "seconds",
            "fraction",
            "to",
            "header",
            "value",
            "echo_auth",
        }
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault rule fields: {sorted(unknown)}")
        return cls(**dict(data))


class FaultPlan:
    """An ordered list of rules with thread-safe use counters."""

    def __init__(
        self,
        rules: Iterable[FaultRule] = (),
        *,
        partial_captures: bool = False,
        odd_eval_items: Iterable[str] = (),
        rewritten_history: Mapping[str, dt.date] | None = None,
    ) -> None:
        self.rules: tuple[FaultRule, ...] = tuple(rules)
        self.partial_captures = partial_captures
        self.odd_eval_items = frozenset(odd_eval_items)
        self.rewritten_history = dict(rewritten_history or {})
        self._used = [0] * len(self.rules)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.rules)

    def take(self, method: str, path: str) -> FaultRule | None:
        """The rule that fires for this request, its turn used; None: serve normally."""
        with self._lock:
            for index, rule in enumerate(self.rules):
                if not rule.matches(method, path):
                    continue
                if rule.times is not None and self._used[index] >= rule.times:
                    continue
                self._used[index] += 1
                return rule
        return None

    def fired(self) -> list[int]:
        """How many times each rule fired, in rule order."""
        with self._lock:
            return list(self._used)

    def reset(self) -> None:
        with self._lock:
            self._used = [0] * len(self.rules)

    @classmethod
    def from_data(cls, data: Any) -> FaultPlan:
        """From `{"faults": [...], "partial_captures": bool, "odd_eval_items": [...]}`
        or a bare list of rules."""
        partial_captures = False
        odd: list[str] = []
        rewrites: dict[str, dt.date] = {}
        if isinstance(data, Mapping):
            rewrites = _rewrites(data.get("rewritten_history") or {})
            partial_captures = data.get("partial_captures", False)
            if not isinstance(partial_captures, bool):
                raise ValueError("partial_captures is true or false")
            odd = data.get("odd_eval_items") or []
            if not isinstance(odd, list) or not all(isinstance(r, str) for r in odd):
                raise ValueError("odd_eval_items is a list of model repo ids")
            data = data.get("faults", [])
        if not isinstance(data, Sequence) or isinstance(data, str | bytes):
            raise ValueError("a fault plan is a list of rules (or {faults: [...]})")
        rules = []
        for item in data:
            if not isinstance(item, Mapping):
                raise ValueError(f"a fault rule is a mapping, got {type(item).__name__}")
            rules.append(FaultRule.from_dict(item))
        return cls(
            rules, partial_captures=partial_captures, odd_eval_items=odd, rewritten_history=rewrites
        )

    @classmethod
    def load(cls, path: Path | str) -> FaultPlan:
        """From a JSON or YAML file (YAML is a superset of JSON, but JSON files
        go through the JSON parser for its clearer error messages)."""
        path = Path(path)
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        return cls.from_data(data)


def _rewrites(data: Any) -> dict[str, dt.date]:
    if not isinstance(data, Mapping):
        raise ValueError("rewritten_history maps dataset repo ids to dates")
    found: dict[str, dt.date] = {}
    for repo_id, since in data.items():
        if isinstance(since, str):
            since = dt.date.fromisoformat(since)
        if not isinstance(repo_id, str) or not isinstance(since, dt.date):
            raise ValueError("rewritten_history maps dataset repo ids to dates")
        found[repo_id] = since
    return found


def rewritten(repo: Repo, since: dt.date) -> Repo:
    """`repo`'s history after a force-push that dropped its first commit on or
    after `since`: the commits before keep their ids; every later one gets a
    new, generated id (labelled in its title). Unchanged when no commit is that
    recent, or when none would be left."""
    before = [commit for commit in repo.commits if commit.date.date() < since]
    later = [commit for commit in repo.commits if commit.date.date() >= since][1:]
    if len(before) == len(repo.commits) or not before + later:
        return repo
    moved = [
        replace(
            commit,
            sha=hashlib.sha1(f"rewritten {commit.sha}".encode(), usedforsecurity=False).hexdigest(),
            title=f"{commit.title} (rewritten history: a generated commit id)",
            api_sha=None,
        )
        for commit in later
    ]
    return replace(repo, commits=tuple(before + moved))
