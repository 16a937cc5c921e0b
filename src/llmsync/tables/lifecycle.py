"""The `leaderboards` table: each leaderboard's life, so that no reader takes an
archived or retired leaderboard's last table for a current one.

Export dates and counts are read off the `revisions` table (what a sync read);
the status (`live`, `archived`, `retired`) and since when are upstream facts no
export states, so they come from a reviewed file with its sources
(`llmsync/curated/leaderboards.yaml`), kept with each snapshot like the curated
article metadata.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import yaml

from llmsync.tables.schemas import LEADERBOARD_STATUSES, LEADERBOARDS, LEADERBOARDS_TABLE

_SINCE = re.compile(r"^\d{4}-\d{2}(-\d{2})?$")
_KEYS = frozenset({"dataset", "status", "status_since", "sources"})


class LeaderboardFactsError(ValueError):
    """The leaderboard facts file is invalid; the message names the entry and field."""


@dataclass(frozen=True)
class LeaderboardFacts:
    """The reviewed facts file: its bytes (kept in the raw landing), and its entries."""

    source: bytes
    entries: dict[str, dict[str, Any]]

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.source).hexdigest()


def default_facts_bytes() -> bytes:
    return resources.files("llmsync.curated").joinpath("leaderboards.yaml").read_bytes()


def load_leaderboard_facts(path: Path | None = None) -> LeaderboardFacts:
    """The facts file at `path` (default: the one shipped with llmsync), checked."""
    source = path.read_bytes() if path is not None else default_facts_bytes()
    return parse_leaderboard_facts(source)


def parse_leaderboard_facts(source: bytes) -> LeaderboardFacts:
    document = yaml.safe_load(source) or {}
    entries = document.get("leaderboards") if isinstance(document, dict) else None
    if not isinstance(entries, dict) or set(entries) != set(LEADERBOARDS):
        raise LeaderboardFactsError(f"leaderboard facts must name exactly {list(LEADERBOARDS)}")
    for name, entry in entries.items():
        if not isinstance(entry, dict) or set(entry) != _KEYS:
            raise LeaderboardFactsError(f"{name}: needs exactly {sorted(_KEYS)}")
        if entry["status"] not in LEADERBOARD_STATUSES:
            raise LeaderboardFactsError(f"{name}: status {entry['status']!r} is unknown")
        since = entry["status_since"]
        if since is not None and not _SINCE.match(str(since)):
            raise LeaderboardFactsError(
                f"{name}: status_since must be YYYY-MM-DD, YYYY-MM or null (no source says)"
            )
        if not entry["sources"]:
            raise LeaderboardFactsError(f"{name}: a status needs its sources")
    return LeaderboardFacts(source, entries)


def leaderboards_table(facts: LeaderboardFacts, *, revisions: pa.Table) -> pa.Table:
    """One row per leaderboard: its dataset, its applied exports' first and last
    dates and count, the newest export read and its status, and its life."""
    rows = []
    for leaderboard in LEADERBOARDS:
        entry = facts.entries[leaderboard]
        mine = revisions.filter(pc.equal(revisions.column("leaderboard"), leaderboard))
        ok = mine.filter(pc.equal(mine.column("status"), "ok"))
        dates = ok.column("date")
        newest = mine.slice(mine.num_rows - 1).to_pylist() if mine.num_rows else [{}]
        rows.append(
            {
                "leaderboard": leaderboard,
                "dataset": entry["dataset"],
                "first_export_date": pc.min(dates).as_py() if ok.num_rows else None,
                "last_export_date": pc.max(dates).as_py() if ok.num_rows else None,
                "exports": ok.num_rows,
                "newest_export_date": newest[0].get("date"),
                "newest_export_status": newest[0].get("status"),
                "status": entry["status"],
                "status_since": None
                if entry["status_since"] is None
                else str(entry["status_since"]),
                "status_sources": [" ".join(str(s).split()) for s in entry["sources"]],
            }
        )
    return pa.Table.from_pylist(rows, schema=LEADERBOARDS_TABLE.schema)
