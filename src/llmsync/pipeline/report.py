"""What a run did, for the CLI summary, the run log and the Prefect artifact,
and the one exception a failed run raises."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from llmsync.hub.secrets import redact


class SyncFailed(RuntimeError):
    """The run published nothing; `str(exc)` is the one-line reason."""

    def __init__(self, reason: str, *, report: SyncReport | None = None) -> None:
        super().__init__(reason)
        self.report = report


@dataclass
class SyncReport:
    """What a run did, for the CLI summary, the run log and the Prefect artifact."""

    run_id: str
    status: str
    snapshot: str | None
    endpoint: str
    reason: str | None = None
    partial: bool = False
    row_counts: dict[str, int] = field(default_factory=dict)
    change_counts: dict[str, int] = field(default_factory=dict)
    change_examples: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    # Models the replay hub has no recording of (`not_recorded`): gaps in its
    # recordings, kept apart from failures so no one reads them as Hub facts.
    recording_gaps: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    unmatched_aliases: list[str] = field(default_factory=list)
    sources: dict[str, Any] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    # Leaderboard revisions parsed by this run (a later sync parses only new ones),
    # and whether it extended the previous snapshot's intervals or rebuilt them.
    parsed_revisions: int = 0
    incremental: bool = False
    # Revisions first seen by this run that were not applied to `scores`, and why.
    not_applied: list[str] = field(default_factory=list)
    # Leaderboards whose newest export is not applied (one line each): the
    # snapshot serves an older export of them as current.
    suspect_newest: list[str] = field(default_factory=list)
    # Requests per rate-limit bucket, 429s received, and time spent waiting
    # for the rate limit (the pacer's waits, before a request).
    requests: dict[str, int] = field(default_factory=dict)
    throttled: int = 0
    rate_limit_wait_seconds: float = 0.0
    # How a leaderboards population was fetched (full or incremental, ...), and
    # what the official benchmarks cost and brought in (every run).
    fetch: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()}

    def to_markdown(self) -> str:
        lines = [f"# llmsync sync: {self.status}", ""]
        lines.append(f"- run: `{self.run_id}`")
        lines.append(f"- snapshot: `{self.snapshot or 'none'}`")
        lines.append(f"- hub: {self.endpoint}")
        if self.reason:
            lines.append(f"- reason: {self.reason}")
        if self.partial:
            lines.append("- **partial**: some models could not be fetched (see failures)")
        lines += [f"- **newest export not applied**: {line}" for line in self.suspect_newest]
        if self.status != "unchanged":
            how = "extending the previous snapshot" if self.incremental else "building anew"
            lines.append(f"- leaderboard revisions parsed: {self.parsed_revisions:,} ({how})")
        if self.row_counts:
            lines += ["", "| table | rows |", "|---|---:|"]
            lines += [f"| {name} | {rows:,} |" for name, rows in self.row_counts.items()]
        if self.change_counts:
            lines += ["", "## Changes", "", "| kind | count |", "|---|---:|"]
            lines += [f"| {kind} | {n:,} |" for kind, n in sorted(self.change_counts.items())]
            lines += ["", *[f"- {example}" for example in self.change_examples]]
        for title, items in (
            ("Leaderboard revisions not applied", self.not_applied),
            ("Failures", self.failures),
            ("Gaps in the replay hub's recordings", self.recording_gaps),
            ("Curated vs Hub conflicts", self.conflicts),
            ("Unmatched aliases", self.unmatched_aliases),
        ):
            if items:
                lines += ["", f"## {title}", "", *[f"- {item}" for item in items]]
        if self.requests:
            lines += ["", "## Hub requests", "", "| bucket | requests |", "|---|---:|"]
            lines += [f"| {name} | {n:,} |" for name, n in self.requests.items()]
            lines += [
                "",
                f"- 429 (rate limited): {self.throttled}",
                f"- waited for the rate limit: {self.rate_limit_wait_seconds:.1f}s",
            ]
            if self.fetch:
                lines.append("- fetch: " + ", ".join(f"{k} {v}" for k, v in self.fetch.items()))
        if self.seconds:
            timing = ", ".join(f"{k} {v:.1f}s" for k, v in self.seconds.items())
            lines += ["", f"Stage times: {timing}"]
        return redact("\n".join(lines) + "\n")


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return redact(text)


def summarise_changes(changes: pa.Table) -> tuple[dict[str, int], list[str]]:
    """Counts per kind, and up to ten examples: model changes first, then the
    largest score moves (by how far the value moved), rounded as displayed."""
    counts = {
        row["change_kind"]: row["count_all"]
        for row in changes.group_by("change_kind").aggregate([([], "count_all")]).to_pylist()
    }
    examples: list[str] = []
    for kind in ("model_added", "model_removed", "license_changed"):
        rows = changes.filter(pc.equal(changes.column("change_kind"), kind))
        for row in rows.slice(0, 10 - len(examples)).to_pylist():
            examples.append(f"{kind}: {row['repo_id']} {row['new_value'] or ''}")
    scored = changes.filter(
        pc.and_(
            pc.equal(changes.column("change_kind"), "score_changed"),
            pc.is_valid(changes.column("repo_id")),
        )
    ).to_pylist()
    scored.sort(key=_move, reverse=True)
    for row in scored[: 10 - len(examples)]:
        examples.append(
            f"{row['repo_id']} {row['leaderboard']} {row['benchmark']}: "
            f"{_score(row['old_score'])} -> {_score(row['new_score'])} ({row['date']})"
        )
    return dict(sorted(counts.items())), examples


def _move(row: dict[str, Any]) -> float:
    old, new = row["old_score"], row["new_score"]
    return abs(new - old) if old is not None and new is not None else 0.0


def _score(value: float | None) -> str:
    """A score as the leaderboards display it (0-100, two decimals)."""
    return "none" if value is None else f"{value:.2f}"
