"""Views 2 and 3: how the leaderboards' population grew, and where the
article's models sit in the latest one."""

from __future__ import annotations

import math

import pyarrow as pa
import pyarrow.compute as pc

from llmsync.report import svg
from llmsync.report.context import (
    LEADERBOARD_NAMES,
    ArticleModel,
    Export,
    View,
    article_models,
    date_range,
    dated,
    exports,
)
from llmsync.report.data import ReportData

WIDE = svg.Frame(width=1200, height=380, top=72, left=70)
HALF = svg.Frame(width=596, height=360, top=96, left=58)


def _count(value: float) -> str:
    return f"{value:,.0f}"


def population_view(data: ReportData) -> View:
    key, heading = "population", "The population over time"
    found = exports(data)
    if data.table("revisions") is None:
        return View(
            key,
            heading,
            skipped="the snapshot has no revisions table (written before "
            "llmsync recorded every export read)",
        )
    low, high = date_range(data, found)
    top = svg.nice_max(max((e.rows or 0 for e in found), default=1))
    x = svg.Linear(svg.day(low), svg.day(high), WIDE.x0, WIDE.x1)
    y = svg.Linear(0.0, top, WIDE.y0, WIDE.y1)
    body = [
        svg.axes(
            WIDE,
            x=x,
            y=y,
            xticks=[svg.day(d) for d in svg.month_ticks(low, high, every=2)],
            yticks=svg.nice_ticks(0.0, top),
            xfmt=svg.date_label,
            yfmt=_count,
            xlabel="export date (UTC day)",
            ylabel="rows per export (models listed)",
        ),
        svg.legend(
            [
                svg.LegendItem(
                    "v1 export (applied)", svg.LEADERBOARD_COLOURS["open_llm_v1"], shape="dot"
                ),
                svg.LegendItem(
                    "v2 export (applied)", svg.LEADERBOARD_COLOURS["open_llm_v2"], shape="dot"
                ),
                svg.LegendItem(
                    "export set aside (suspect or malformed)", svg.SUSPECT_COLOUR, shape="cross"
                ),
            ],
            x=WIDE.x0,
            y=54,
            width=WIDE.x1 - WIDE.x0,
        ),
    ]
    for board, colour in svg.LEADERBOARD_COLOURS.items():
        applied = [e for e in found if e.leaderboard == board and e.status == "ok"]
        points = [(x(svg.day(e.date)), y(e.rows or 0)) for e in applied]
        if points:
            body.append(svg.polyline(points, style=f'stroke="{colour}" stroke-width="2"'))
        for e, (px, py) in zip(applied, points, strict=True):
            tip = f"{LEADERBOARD_NAMES[board]} export of {e.date}: {e.rows or 0:,} rows"
            body.append(svg.circle(px, py, r=2.5, style=f'fill="{colour}"', tip=tip))
    aside = [e for e in found if e.status != "ok"]
    for e in aside:
        board = LEADERBOARD_NAMES.get(e.leaderboard, e.leaderboard)
        tip = f"set aside: {board} export of {e.date} ({e.status}): {e.reason}"
        body.append(
            svg.cross(
                x(svg.day(e.date)), y(e.rows or 0), size=5, colour=svg.SUSPECT_COLOUR, tip=tip
            )
        )
    figure = svg.figure(
        WIDE,
        heading="Rows per leaderboard export",
        dated=dated(data, found),
        body="".join(body),
        label="rows per export over time",
    )
    note = _aside_note(aside)
    return View(key, heading, body=figure + note)


def _aside_note(aside: list[Export]) -> str:
    if not aside:
        return "<p>No export was set aside in this snapshot: every export read was applied.</p>"
    items = "".join(
        f"<li>{svg.esc(e.leaderboard)} {e.date}: "
        f"{e.rows if e.rows is not None else 'unreadable'} rows "
        f"({svg.esc(e.status)}): {svg.esc(e.reason or '')}</li>"
        for e in aside
    )
    return f"<p>Exports set aside (kept out of the scores):</p><ul>{items}</ul>"


def _latest_averages(scores: pa.Table, board: str) -> pa.Table:
    mask = pc.and_(
        pc.and_(
            pc.equal(scores.column("leaderboard"), board),
            pc.equal(scores.column("benchmark"), "average"),
        ),
        pc.is_null(scores.column("valid_to")),
    )
    return scores.filter(mask).select(["repo_id", "model_name", "value"])


def _histogram(
    board: str,
    latest: pa.Table,
    models: list[ArticleModel],
    *,
    data: ReportData,
    found: list[Export],
) -> str:
    values = latest.column("value").to_pylist()
    high = max(values, default=1.0)
    width = svg.nice_step(high, count=40)
    bins = [0] * (math.floor(high / width) + 1)
    for value in values:
        bins[min(int(value // width), len(bins) - 1)] += 1
    top = svg.nice_max(max(bins, default=1))
    x = svg.Linear(0.0, len(bins) * width, HALF.x0, HALF.x1)
    y = svg.Linear(0.0, top, HALF.y0, HALF.y1)
    name = LEADERBOARD_NAMES[board]
    marked = _marked(latest, models)
    body = [
        svg.axes(
            HALF,
            x=x,
            y=y,
            xticks=svg.nice_ticks(0.0, len(bins) * width, count=6),
            yticks=svg.nice_ticks(0.0, top),
            xfmt=lambda v: f"{v:g}",
            yfmt=_count,
            xlabel=f"{name} average (points of 100; bins of {width:g})",
            ylabel="models in the newest export",
        ),
        svg.legend(
            [
                svg.LegendItem("all models", "#9a9a9a", shape="bar"),
                *[svg.LegendItem(m.name, m.colour) for m, _ in marked],
            ],
            x=HALF.x0,
            y=54,
            width=HALF.x1 - HALF.x0,
        ),
    ]
    for i, count in enumerate(bins):
        if count:
            tip = f"{count:,} models with a {name} average in [{i * width:g}, {(i + 1) * width:g})"
            body.append(
                svg.rect(
                    x(i * width) + 0.5,
                    y(count),
                    x(width) - x(0) - 1,
                    y(0) - y(count),
                    style='fill="#9a9a9a"',
                    tip=tip,
                )
            )
    for model, value in marked:
        share = sum(v < value for v in values) / len(values) if values else 0.0
        tip = (
            f"{model.name} ({model.repo_id}): {name} average {value:.2f}, "
            f"above {share:.0%} of the models"
        )
        px = x(value)
        body.append(
            svg.line(
                px,
                HALF.y1,
                px,
                HALF.y0,
                style=f'class="mark" stroke="{model.colour}" stroke-width="2.5"',
                tip=tip,
            )
        )
    return svg.figure(
        HALF,
        heading=f"{name}: averages in the newest export ({len(values):,} rows)",
        dated=dated(data, [e for e in found if e.leaderboard == board] or found),
        body="".join(body),
        label=f"{name} averages histogram",
    )


def _marked(latest: pa.Table, models: list[ArticleModel]) -> list[tuple[ArticleModel, float]]:
    """Each article model's best listing in the newest export, if listed."""
    best: dict[str, float] = {}
    for row in latest.to_pylist():
        if row["repo_id"] is not None:
            best[row["repo_id"]] = max(row["value"], best.get(row["repo_id"], -math.inf))
    return [(m, best[m.repo_id]) for m in models if m.repo_id in best]


def distributions_view(data: ReportData) -> View:
    key, heading = "distributions", "Distributions"
    scores = data.table("scores")
    if scores is None or data.versions.get("scores", 1) < 2:
        return View(
            key,
            heading,
            skipped="the snapshot has no scores as validity intervals (schema version 2)",
        )
    models, found = article_models(data), exports(data)
    figures, rows = [], []
    for board in svg.LEADERBOARD_COLOURS:
        latest = _latest_averages(scores, board)
        if latest.num_rows:
            figures.append(_histogram(board, latest, models, data=data, found=found))
            values = latest.column("value").to_pylist()
            for model, value in _marked(latest, models):
                share = sum(v < value for v in values) / len(values)
                rows.append(
                    f"<tr><td>{svg.esc(model.name)}</td><td>{svg.esc(model.repo_id)}</td>"
                    f"<td>{LEADERBOARD_NAMES[board]}</td><td class=num>{value:.2f}</td>"
                    f"<td class=num>{share:.0%}</td></tr>"
                )
    table = (
        "<table><thead><tr><th>article model</th><th>repo</th><th>leaderboard</th>"
        "<th>average</th><th>models below it</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )
    intro = (
        "<p>Each leaderboard's averages as its newest export holds them, with the "
        "article's models marked (hover a line for its value).</p>"
    )
    return View(
        key, heading, body=intro + '<div class="grid">' + "".join(figures) + "</div>" + table
    )
