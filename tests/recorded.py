"""The replay hub's recorded leaderboard exports (real data), parsed, and score
intervals built from them, for tests of the tables that read `scores`.

An export is named by a label, `v1-2024-07-07` (leaderboard and date); its
revision is the recordings' commit id.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache

import pyarrow as pa

from llmsync.replay.recordings import RecordingStore, default_recordings_dir
from llmsync.tables.intervals import Export, empty_scores, extend
from llmsync.tables.leaderboards import (
    LEADERBOARD_FILE,
    LEADERBOARD_REPOS,
    ParsedExport,
    parse_leaderboard,
)
from llmsync.tables.revisions import RevisionRecord, revisions_table

RECORDINGS = default_recordings_dir()


@dataclass(frozen=True)
class RecordedExport:
    label: str
    leaderboard: str
    date: dt.date
    revision: str
    parsed: ParsedExport

    def export(self) -> Export:
        return Export(self.leaderboard, self.revision, self.date, self.parsed.rows)

    def record(self) -> RevisionRecord:
        return RevisionRecord(
            self.leaderboard, self.revision, self.date, self.parsed.upstream_rows, "ok"
        )


@cache
def recorded_exports() -> tuple[RecordedExport, ...]:
    """Every recorded export of both leaderboards, v1 then v2, oldest first."""
    store = RecordingStore.load(RECORDINGS)
    found = []
    for leaderboard, repo_id in LEADERBOARD_REPOS.items():
        for commit in store.repos[f"dataset/{repo_id}"].commits:
            if LEADERBOARD_FILE not in commit.files:
                continue
            data = store.file_bytes(commit.files[LEADERBOARD_FILE])
            date = commit.date.date()
            short = leaderboard.removeprefix("open_llm_")
            found.append(
                RecordedExport(
                    label=f"{short}-{date}",
                    leaderboard=leaderboard,
                    date=date,
                    revision=commit.sha,
                    parsed=parse_leaderboard(data, leaderboard=leaderboard),
                )
            )
    return tuple(found)


def recorded(label: str) -> RecordedExport:
    return next(item for item in recorded_exports() if item.label == label)


def revision_of(label: str) -> str:
    return recorded(label).revision


@cache
def recorded_scores(*labels: str) -> tuple[pa.Table, pa.Table]:
    """(scores, revisions) built from the named exports (all when none is named)."""
    chosen = [item for item in recorded_exports() if not labels or item.label in labels]
    scores = extend(empty_scores(), [item.export() for item in chosen])
    return scores, revisions_table([item.record() for item in chosen])


def all_labels() -> tuple[str, ...]:
    return tuple(item.label for item in recorded_exports())
