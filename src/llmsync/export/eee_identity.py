"""Which datastore folder a model's records go to: one folder per organisation.

The Hub treats owner names case-insensitively (`TheBloke` and `thebloke` are one
account) while leaderboards spell them as submitted. Every record of one owner
goes under one spelling: the Hub's own (a `models` row's `hub_repo_id`, what the
Hub answered), else the spelling the snapshot uses most often (ties: the first
in code-point order). A model renamed on the Hub is filed under its new id.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import pyarrow as pa

from llmsync.export.eee_fields import path_component


@dataclass(frozen=True)
class ModelPath:
    """A model's EEE identity: `model_info.id` and its two path components."""

    model_id: str
    developer: str
    model: str


class Identities:
    def __init__(self, models: pa.Table | None, repo_ids: Iterable[str]) -> None:
        # The Hub's answer per repo id as listed (exact, then case-folded).
        self._hub: dict[str, str] = {}
        if models is not None and "hub_repo_id" in models.column_names:
            for listed, hub in zip(
                models.column("repo_id").to_pylist(),
                models.column("hub_repo_id").to_pylist(),
                strict=True,
            ):
                if hub and "/" in hub:
                    self._hub.setdefault(listed, hub)
                    self._hub.setdefault(listed.lower(), hub)
        spellings: dict[str, Counter[str]] = {}
        for repo_id in repo_ids:
            owner = repo_id.split("/", 1)[0]
            spellings.setdefault(owner.lower(), Counter())[owner] += 1
        self._owner = {
            folded: min(counts, key=lambda spelling: (-counts[spelling], spelling))
            for folded, counts in spellings.items()
        }
        # The Hub's spelling wins over any count.
        for hub in self._hub.values():
            owner = hub.split("/", 1)[0]
            self._owner[owner.lower()] = owner

    def resolve(self, repo_id: str) -> ModelPath | None:
        """The identity a listed repo id files under; None where EEE's datastore
        has no path for it (a name no portable folder can hold)."""
        canonical = self._hub.get(repo_id) or self._hub.get(repo_id.lower()) or repo_id
        if canonical.count("/") != 1:
            return None
        owner, name = canonical.split("/")
        owner = self._owner.get(owner.lower(), owner)
        developer, model = path_component(owner), path_component(name)
        if developer is None or model is None:
            return None
        return ModelPath(f"{owner}/{name}", developer, model)
