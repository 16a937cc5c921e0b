"""One landed leaderboard revision: what the fetch stage hands the build stage."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from llmsync.hub.landing import StoredObject


@dataclass(frozen=True)
class LeaderboardRevision:
    leaderboard: str
    repo_id: str
    revision: str
    date: dt.date
    path: Path
    # The landed object, with the sha256 it was checked against when read
    # (None where the caller has only the path).
    stored: StoredObject | None = None
