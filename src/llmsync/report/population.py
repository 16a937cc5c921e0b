"""Views 2 and 3: how the leaderboards' population grew, and where the
article's models sit in the latest one."""

from __future__ import annotations

import math

import numpy as np
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
    last_ok_dates,
    of_boards,
    unbroken_runs,
)
from llmsync.report.data import ReportData

WIDE = svg.Frame(width=1200, height=380, top=72, left=70)
HALF = svg.Frame(width=596, height=366, top=106, left=58)


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
    # The leaderboards drawn here (v1 and v2): the axis spans their exports.
    drawn = of_boards(found, svg.LEADERBOARD_COLOURS)
    low, high = date_range(data, drawn)
    top = svg.nice_max(max((e.rows or 0 for e in drawn), default=1))
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
        applied = [e for e in drawn if e.leaderboard == board and e.status == "ok"]
        rows = {e.date: e.rows or 0 for e in applied}
        # No line across a stretch without exports: nothing was counted there.
        for run in unbroken_runs([e.date for e in applied]):
            points = [(x(svg.day(d)), y(rows[d])) for d in run]
            dates = " ".join(str(d) for d in run)
            style = f'data-board="{board}" data-dates="{dates}" stroke="{colour}" stroke-width="2"'
            body.append(svg.polyline(points, style=style))
        for e in applied:
            tip = f"{LEADERBOARD_NAMES[board]} export of {e.date}: {e.rows or 0:,} rows"
            px, py = x(svg.day(e.date)), y(e.rows or 0)
            body.append(svg.circle(px, py, r=2.5, style=f'fill="{colour}"', tip=tip))
    aside = [e for e in found if e.status != "ok"]
    shown = set(drawn)
    for e in (e for e in aside if e in shown):
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
        dated=dated(data, drawn or found),
        body="".join(body),
        label="rows per export over time",
        extra=f'data-x-max="{high}"',
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


# Where the article models' names go above a histogram: rows, top down, so
# that two models with (nearly) the same average are both named, not hidden.
_LABEL_ROWS = (54, 69, 84, 99)


def _label_places(
    marks: list[tuple[ArticleModel, float]], *, x: svg.Linear
) -> list[tuple[float, float]]:
    """Where each mark's name goes (left x, baseline y), by value, lowest
    first: the first row where it clears the names already placed; when none
    does, the row that frees up first, the name moved right of the last one
    there (its line still marks the value)."""
    ends: list[float] = [-math.inf] * len(_LABEL_ROWS)
    places: list[tuple[float, float]] = []
    for model, value in marks:
        left, right = _label_span(model, x(value))
        free = [r for r, end in enumerate(ends) if end + 4 < left]
        row = free[0] if free else min(range(len(ends)), key=lambda r: ends[r])
        if not free:
            left, right = ends[row] + 6, ends[row] + 6 + (right - left)
        ends[row] = right
        places.append((left, _LABEL_ROWS[row]))
    return places


def _label_span(model: ArticleModel, px: float) -> tuple[float, float]:
    """The pixels a model's name takes (12 px text: about 6.6 px a character),
    to the right of its mark, or to the left near the figure's right edge."""
    width = 6.6 * len(model.name) + 4
    return (px - width, px) if px + width > HALF.x1 else (px, px + width)


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
    marked = sorted(_marked(latest, models), key=lambda item: item[1])
    array = np.asarray(values, dtype=np.float64)
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
    for (model, value), (left, label_y) in zip(marked, _label_places(marked, x=x), strict=True):
        share = _share_below(array, value)
        tip = (
            f"{model.name} ({model.repo_id}): {name} average {value:.2f}, "
            f"above {share:.0%} of the models"
        )
        px = x(value)
        body.append(
            svg.line(
                px,
                label_y + 3,
                px,
                HALF.y0,
                style=f'class="mark" stroke="{model.colour}" stroke-width="2.5"',
                tip=tip,
            )
        )
        body.append(
            svg.text(
                left + 2,
                label_y,
                model.name,
                extra=f'class="model-label" fill="{model.colour}"',
            )
        )
    return svg.figure(
        HALF,
        heading=f"{name}: averages in the newest export ({len(values):,} rows)",
        dated=dated(data, [e for e in found if e.leaderboard == board] or found),
        body="".join(body),
        label=f"{name} averages histogram",
    )


def _absent(
    board: str, scores: pa.Table, models: list[ArticleModel], listed: set[str], newest: str
) -> list[str]:
    """Why each article model missing from a leaderboard's newest export is
    missing: never listed, or left with a given export."""
    name = LEADERBOARD_NAMES[board]
    on_board = scores.filter(pc.equal(scores.column("leaderboard"), board))
    lines = []
    for model in models:
        if model.repo_id in listed:
            continue
        rows = on_board.filter(pc.equal(on_board.column("repo_id"), model.repo_id))
        if not rows.num_rows:
            lines.append(f"{model.name} is not drawn on {name}: {name} never listed it.")
            continue
        left = pc.max(rows.column("valid_to")).as_py()
        lines.append(
            f"{model.name} is not drawn on {name}: it is not in the newest export "
            f"({newest}); upstream dropped it from {name} with the export of {left}."
        )
    return lines


def _share_below(values: np.ndarray, value: float) -> float:
    """The share of `values` below `value` (counted by numpy: an export holds
    thousands of values, and each article model is placed among them)."""
    return int(np.count_nonzero(values < value)) / len(values) if len(values) else 0.0


def _marked(latest: pa.Table, models: list[ArticleModel]) -> list[tuple[ArticleModel, float]]:
    """Each article model's best listing in the newest export, if listed."""
    best: dict[str, float] = {}
    # The article's repos' rows alone: a newest export lists thousands of models.
    wanted = pa.array(sorted({m.repo_id for m in models}), pa.string())
    theirs = latest.filter(pc.fill_null(pc.is_in(latest.column("repo_id"), wanted), False))
    for row in theirs.select(["repo_id", "value"]).to_pylist():
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
    figures, rows, absent = [], [], []
    last_ok = last_ok_dates(found)
    for board in svg.LEADERBOARD_COLOURS:
        latest = _latest_averages(scores, board)
        if latest.num_rows:
            figures.append(_histogram(board, latest, models, data=data, found=found))
            marked = _marked(latest, models)
            listed = {m.repo_id for m, _ in marked}
            absent += _absent(board, scores, models, listed, str(last_ok.get(board, "none")))
            values = np.asarray(latest.column("value").to_pylist(), dtype=np.float64)
            for model, value in marked:
                share = _share_below(values, value)
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
        "article's models marked and named (hover a line for its value).</p>"
    )
    legend = svg.legend_figure(
        [
            svg.LegendItem("all models", "#9a9a9a", shape="bar"),
            *[svg.LegendItem(m.name, m.colour) for m in models],
        ],
        width=1200,
        label="legend of the distributions",
    )
    missing = "".join(f"<p class=absent>{svg.esc(line)}</p>" for line in absent)
    return View(
        key,
        heading,
        body=intro + legend + '<div class="grid">' + "".join(figures) + "</div>" + missing + table,
    )
