"""View 4: what changed since the previous snapshot: counts per kind, and the
largest score moves."""

from __future__ import annotations

from typing import Any

import pyarrow.compute as pc

from llmsync.report import svg
from llmsync.report.charts import Bar, hbars, html_table
from llmsync.report.context import LEADERBOARD_NAMES, View
from llmsync.report.data import ReportData
from llmsync.tables.schemas import CHANGE_KINDS

LARGEST_MOVES = 20


def _moves(rows: list[dict[str, Any]]) -> list[list[object]]:
    moves = [
        r
        for r in rows
        if r["change_kind"] == "score_changed"
        and r["old_score"] is not None
        and r["new_score"] is not None
    ]
    moves.sort(
        key=lambda r: (
            -abs(r["new_score"] - r["old_score"]),
            str(r["model_name"]),
            str(r["benchmark"]),
        )
    )
    return [
        [
            r["model_name"],
            LEADERBOARD_NAMES.get(r["leaderboard"], r["leaderboard"]),
            r["benchmark"],
            r["precision"],
            f"{r['old_score']:.2f}",
            f"{r['new_score']:.2f}",
            f"{r['new_score'] - r['old_score']:+.2f}",
            r["date"],
        ]
        for r in moves[:LARGEST_MOVES]
    ]


def changes_view(data: ReportData) -> View:
    key, heading = "changes", "Since the previous snapshot"
    changes = data.table("changes")
    if changes is None:
        return View(key, heading, skipped="the snapshot has no changes table")
    previous = data.manifest.get("previous_snapshot")
    counts = {
        row["change_kind"]: row["count_all"]
        for row in changes.group_by("change_kind").aggregate([([], "count_all")]).to_pylist()
    }
    kinds = [*CHANGE_KINDS, *sorted(set(counts) - set(CHANGE_KINDS))]
    bars = [
        Bar(kind, float(counts.get(kind, 0)), "#0072B2", f"{kind}: {counts.get(kind, 0):,}")
        for kind in kinds
    ]
    since = f"since snapshot {previous}" if previous else "first snapshot: nothing to compare with"
    figure = hbars(
        bars,
        heading="Changes per kind",
        dated=f"snapshot {data.created} · {since}",
        xlabel="changes (rows of the changes table)",
        legend=[svg.LegendItem("changes of this kind", "#0072B2", shape="bar")],
    )
    rows = (
        changes.filter(pc.equal(changes.column("change_kind"), "score_changed")).to_pylist()
        if changes.num_rows
        else []
    )
    moves = _moves(rows)
    table = (
        html_table(
            ["model", "leaderboard", "benchmark", "precision", "old", "new", "move", "export date"],
            moves,
            numeric=(4, 5, 6),
        )
        if moves
        else "<p>No score changed since the previous snapshot.</p>"
    )
    intro = (
        f"<p>Compared with snapshot {svg.esc(previous)}.</p>"
        if previous
        else "<p>This is the first snapshot of its data directory: every change is counted "
        "against nothing, so there is none.</p>"
    )
    return View(
        key,
        heading,
        body=intro + figure + f"<h3>The {LARGEST_MOVES} largest score moves</h3>" + table,
    )
