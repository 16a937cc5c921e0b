"""View 1: the article's models over time, one panel per benchmark family.

Each model's values are drawn as step lines over their validity intervals
(`scores.valid_from` to `valid_to`); a value still held ends at its
leaderboard's newest applied export. Set-aside exports and the 2024-12-11
change of v2's format are marked where they fall.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from llmsync.report import svg
from llmsync.report.context import (
    FORMAT_CHANGE,
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

# (panel title, {leaderboard: benchmark}): v2 replaced some of v1's benchmarks
# with harder ones of the same kind, drawn in one panel.
FAMILIES: tuple[tuple[str, dict[str, str]], ...] = (
    ("Average", {"open_llm_v1": "average", "open_llm_v2": "average"}),
    ("Knowledge: MMLU (v1), MMLU-Pro (v2)", {"open_llm_v1": "mmlu", "open_llm_v2": "mmlu_pro"}),
    ("Maths: GSM8K (v1), MATH Lvl 5 (v2)", {"open_llm_v1": "gsm8k", "open_llm_v2": "math_lvl5"}),
    ("ARC (v1)", {"open_llm_v1": "arc"}),
    ("HellaSwag (v1)", {"open_llm_v1": "hellaswag"}),
    ("TruthfulQA (v1)", {"open_llm_v1": "truthfulqa"}),
    ("Winogrande (v1)", {"open_llm_v1": "winogrande"}),
    ("IFEval (v2)", {"open_llm_v2": "ifeval"}),
    ("BBH (v2)", {"open_llm_v2": "bbh"}),
    ("GPQA (v2)", {"open_llm_v2": "gpqa"}),
    ("MuSR (v2)", {"open_llm_v2": "musr"}),
)
PANEL = svg.Frame(width=596, height=300, top=52, left=58)
_SERIES = (
    "repo_id",
    "leaderboard",
    "benchmark",
    "model_name",
    "precision",
    "model_sha",
    "occurrence",
)


def _article_rows(scores: pa.Table, models: list[ArticleModel]) -> list[dict[str, Any]]:
    wanted = pa.array([m.repo_id for m in models], pa.string())
    mask = pc.fill_null(pc.is_in(scores.column("repo_id"), value_set=wanted), False)
    return scores.filter(mask).to_pylist()  # type: ignore[no-any-return]


def _series(rows: list[dict[str, Any]]) -> dict[tuple[Any, ...], list[dict[str, Any]]]:
    """Rows of one listing (name, precision, commit, occurrence) of one benchmark,
    oldest first: one step line each."""
    grouped: dict[tuple[Any, ...], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        grouped[tuple(row[k] for k in _SERIES)].append(row)
    for chain in grouped.values():
        chain.sort(key=lambda row: row["valid_from"])
    return grouped


def _tip(model: ArticleModel, row: dict[str, Any], end: dt.date, held: bool) -> str:
    board = LEADERBOARD_NAMES.get(row["leaderboard"], row["leaderboard"])
    until = f"still held at the newest export ({end})" if held else f"until {end}"
    listing = row["model_name"] + (f", {row['precision']}" if row["precision"] else "")
    return (
        f"{model.name} ({listing}) · {board} {row['benchmark']}: {row['value']:.2f} "
        f"· from the export of {row['valid_from']}, {until}"
    )


def _step_marks(
    chain: list[dict[str, Any]],
    *,
    model: ArticleModel,
    last: dict[str, dt.date],
    applied: dict[str, list[dt.date]],
    x: svg.Linear,
    y: svg.Linear,
) -> list[str]:
    """One value's line from the export that first held it to the last that
    did, cut where its leaderboard has no export for MAX_GAP_DAYS."""
    marks = []
    board = chain[0]["leaderboard"]
    dash = ' stroke-dasharray="6 3"' if board == "open_llm_v2" else ""
    style = f'stroke="{model.colour}" stroke-width="2.5"{dash}'
    for i, row in enumerate(chain):
        held = row["valid_to"] is None
        start = row["valid_from"]
        end = last.get(board, start) if held else row["valid_to"]
        py = y(row["value"])
        tip = _tip(model, row, end, held)
        days = sorted({start, end, *(d for d in applied.get(board, []) if start <= d <= end)})
        for run in unbroken_runs(days):
            x0, x1 = x(svg.day(run[0])), x(svg.day(run[-1]))
            span = f'data-board="{board}" data-from="{run[0]}" data-to="{run[-1]}"'
            marks.append(
                svg.line(x0, py, max(x1, x0 + 1), py, style=f'class="mark" {span} {style}', tip=tip)
            )
        marks.append(
            svg.circle(x(svg.day(start)), py, r=3, style=f'fill="{model.colour}"', tip=tip)
        )
        following = chain[i + 1] if i + 1 < len(chain) else None
        if following is not None and following["valid_from"] == row["valid_to"]:
            px = x(svg.day(end))
            marks.append(
                svg.line(
                    px,
                    py,
                    px,
                    y(following["value"]),
                    style=f'stroke="{model.colour}" stroke-width="1.5"',
                )
            )
    return marks


def _rule(day: dt.date, *, colour: str, dash: str, tip: str, x: svg.Linear) -> str:
    """A vertical rule across the plot at one day."""
    px = x(svg.day(day))
    style = f'class="mark" stroke="{colour}" stroke-width="1.5" stroke-dasharray="{dash}"'
    return svg.line(px, PANEL.y1, px, PANEL.y0, style=style, tip=tip)


def _event_marks(found: list[Export], *, x: svg.Linear) -> list[str]:
    """Vertical rules where an export was set aside, and at v2's change of format."""
    marks = [
        _rule(
            e.date,
            colour=svg.SUSPECT_COLOUR,
            dash="3 3",
            tip=f"{e.leaderboard} export of {e.date} set aside ({e.status}): {e.reason}",
            x=x,
        )
        for e in found
        if e.status != "ok"
    ]
    if _shows_format_change(found):
        tip = f"{FORMAT_CHANGE}: v2 exports carry unrounded normalized scores from here on"
        marks.append(_rule(FORMAT_CHANGE, colour="#333", dash="1.5 3", tip=tip, x=x))
    return marks


def _shows_format_change(found: list[Export]) -> bool:
    v2 = [e.date for e in found if e.leaderboard == "open_llm_v2"]
    return bool(v2) and v2[0] <= FORMAT_CHANGE <= v2[-1]


def _legend(models: list[ArticleModel], found: list[Export]) -> str:
    """The view's one legend: every panel draws the same models the same way."""
    items = [svg.LegendItem(m.name, m.colour) for m in models]
    # Grey: the line's style, not a model (Vicuna's black is one).
    items += [
        svg.LegendItem("v1 (solid)", "#999"),
        svg.LegendItem("v2 (dashed)", "#999", shape="dashed"),
    ]
    if any(e.status != "ok" for e in found):
        items.append(svg.LegendItem("export set aside", svg.SUSPECT_COLOUR, shape="dashed"))
    if _shows_format_change(found):
        items.append(svg.LegendItem(f"v2 format change {FORMAT_CHANGE}", "#333", shape="dotted"))
    return svg.legend_figure(items, width=1200, label="legend of the article models' panels")


def _panel(
    heading: str,
    chains: list[tuple[ArticleModel, list[dict[str, Any]]]],
    *,
    boards: list[str],
    data: ReportData,
    found: list[Export],
) -> str:
    # The axis spans the exports of the leaderboards this panel draws, no more.
    mine = of_boards(found, boards)
    low, high = date_range(data, mine)
    x = svg.Linear(svg.day(low), svg.day(high), PANEL.x0, PANEL.x1)
    top = svg.nice_max(max((r["value"] for _, chain in chains for r in chain), default=1.0))
    y = svg.Linear(0.0, top, PANEL.y0, PANEL.y1)
    last = last_ok_dates(mine)
    applied = {b: [e.date for e in mine if e.leaderboard == b and e.status == "ok"] for b in boards}
    every = 4 if (high - low).days > 500 else 2
    body = [
        svg.axes(
            PANEL,
            x=x,
            y=y,
            xticks=[svg.day(d) for d in svg.month_ticks(low, high, every=every)],
            yticks=svg.nice_ticks(0.0, top),
            xfmt=svg.date_label,
            yfmt=lambda v: f"{v:g}",
            xlabel="export date (UTC day)",
            ylabel="score (points of 100)",
        ),
        *_event_marks(mine, x=x),
    ]
    for model, chain in chains:
        body += _step_marks(chain, model=model, last=last, applied=applied, x=x, y=y)
    if not chains:
        body.append(
            svg.text(
                (PANEL.x0 + PANEL.x1) / 2,
                (PANEL.y0 + PANEL.y1) / 2,
                "none of the article's models is listed",
                anchor="middle",
            )
        )
    return svg.figure(
        PANEL,
        heading=heading,
        dated=dated(data, mine or found),
        body="".join(body),
        label=f"article models over time: {heading}",
        extra=f'data-x-max="{high}"',
    )


def history_view(data: ReportData) -> View:
    key, heading = "history", "The article's models over time"
    scores = data.table("scores")
    if scores is None:
        return View(key, heading, skipped="the snapshot has no scores table")
    if data.versions.get("scores", 1) < 2:
        return View(
            key,
            heading,
            skipped="the snapshot's scores are in the per-export shape "
            "of schema version 1, before validity intervals",
        )
    models = article_models(data)
    if not models:
        return View(key, heading, skipped="the snapshot's catalog names no article model")
    by_repo = {m.repo_id: m for m in models}
    series = _series(_article_rows(scores, models))
    found = exports(data)
    panels = []
    for title, members in FAMILIES:
        chains = [
            (by_repo[k[0]], chain)
            for k, chain in sorted(series.items(), key=lambda item: str(item[0]))
            if members.get(k[1]) == k[2]
        ]
        panels.append(_panel(title, chains, boards=list(members), data=data, found=found))
    intro = (
        "<p>Each article model's values on both leaderboards, as step lines over the exports "
        "that held them (v1 solid, v2 dashed). Hover a line or a dot for the value and the dates. "
        "A line stops where its leaderboard published no export for more than 60 days "
        "(v1 from October 2023 to June 2024): nothing was observed there. "
        "A model listed more than once (several precisions or commits) has one line per "
        "listing. Rows whose name is no Hub repo id (some 2023 exports list a bare "
        "<code>llama-7b</code>) are not drawn.</p>"
    )
    legend = _legend(models, of_boards(found, LEADERBOARD_NAMES))
    return View(
        key, heading, body=intro + legend + '<div class="grid">' + "".join(panels) + "</div>"
    )
