"""What every view shares: the article's models and their colours, the export
dates, the known change of format, and the shape of a rendered view."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import pyarrow.compute as pc

from llmsync.report.data import ReportData
from llmsync.report.svg import ARTICLE_COLOURS

# v2 exports from this date carry unrounded normalized scores and averages
# (tables/schemas.py): a step there can be the format, not the model.
FORMAT_CHANGE = dt.date(2024, 12, 11)
LEADERBOARD_NAMES = {"open_llm_v1": "v1", "open_llm_v2": "v2"}
# A line is never drawn across more days than this without an export of its
# leaderboard: nothing was observed there (v1 has none from October 2023 to
# June 2024), and a line would read as a value that held steady.
MAX_GAP_DAYS = 60


@dataclass(frozen=True)
class View:
    """One section of the report: drawn (`body`) or skipped (`skipped`, the reason)."""

    key: str
    heading: str
    body: str = ""
    skipped: str | None = None


@dataclass(frozen=True)
class ArticleModel:
    name: str
    repo_id: str
    colour: str


def article_models(data: ReportData) -> list[ArticleModel]:
    """The article's models, each with the repo that stands for it (the
    catalog's `primary` row), in the catalog's order of names."""
    catalog = data.table("catalog")
    if catalog is None or "role" not in catalog.column_names:
        return []
    rows = catalog.filter(pc.equal(catalog.column("role"), "primary")).to_pylist()
    rows.sort(key=lambda row: str(row["article_model"]))
    return [
        ArticleModel(
            str(row["article_model"]),
            str(row["repo_id"]),
            ARTICLE_COLOURS[i % len(ARTICLE_COLOURS)],
        )
        for i, row in enumerate(rows)
    ]


@dataclass(frozen=True)
class Export:
    leaderboard: str
    date: dt.date
    rows: int | None
    status: str
    reason: str | None


def exports(data: ReportData) -> list[Export]:
    """Every export the snapshot's `revisions` lists, oldest first."""
    revisions = data.table("revisions")
    if revisions is None:
        return []
    found = [
        Export(r["leaderboard"], r["date"], r["rows"], r["status"], r["reason"])
        for r in revisions.to_pylist()
    ]
    return sorted(found, key=lambda e: (e.date, e.leaderboard))


def last_ok_dates(found: list[Export]) -> dict[str, dt.date]:
    """Each leaderboard's newest applied export: where a still-valid value ends."""
    last: dict[str, dt.date] = {}
    for export in found:
        if export.status == "ok":
            last[export.leaderboard] = max(export.date, last.get(export.leaderboard, export.date))
    return last


def of_boards(found: list[Export], boards: Iterable[str]) -> list[Export]:
    """The exports of some leaderboards only: a chart's axis spans what it draws."""
    wanted = set(boards)
    return [e for e in found if e.leaderboard in wanted]


def unbroken_runs(days: list[dt.date]) -> list[list[dt.date]]:
    """`days` (sorted) cut wherever two neighbours are more than MAX_GAP_DAYS
    apart: each run can be drawn as one line."""
    runs: list[list[dt.date]] = []
    for day in days:
        if runs and (day - runs[-1][-1]).days <= MAX_GAP_DAYS:
            runs[-1].append(day)
        else:
            runs.append([day])
    return runs


def date_range(data: ReportData, found: list[Export]) -> tuple[dt.date, dt.date]:
    """The span of the exports given: a time axis covers it and no more."""
    if found:
        return found[0].date, found[-1].date
    scores = data.table("scores")
    if scores is not None and scores.num_rows and "valid_from" in scores.column_names:
        column = scores.column("valid_from")
        return pc.min(column).as_py(), pc.max(column).as_py()
    made = dt.datetime.strptime(data.snapshot_id, "%Y%m%dT%H%M%SZ").date()
    return made, made


def dated(data: ReportData, found: list[Export]) -> str:
    """The date line of a figure drawn from the exports."""
    newest = found[-1].date.isoformat() if found else "none"
    return f"snapshot {data.created} · newest export {newest}"
