"""Static SVG, drawn in Python: scales, ticks, marks, axes, legends, figures.

The report draws its charts as inline SVG strings rather than embedding a chart
library: the file stays small, opens offline, and needs no script. Hovering a
mark shows its `<title>` (the browser's own tooltip), so no JavaScript either.
"""

from __future__ import annotations

import datetime as dt
import html
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

# The article's six models, one hue each: Paul Tol's "bright" scheme (made to be
# told apart under the common colour-vision deficiencies) without its cyan, which
# reads as a second blue beside its blue, and with black. (Okabe-Ito, used before,
# has two blues and two oranges, which side by side read as one colour each.)
ARTICLE_COLOURS: tuple[str, ...] = (
    "#4477AA",  # blue
    "#EE6677",  # red
    "#228833",  # green
    "#CCBB44",  # yellow
    "#AA3377",  # purple
    "#000000",  # black
)
LEADERBOARD_COLOURS = {"open_llm_v1": "#0072B2", "open_llm_v2": "#E69F00"}
SUSPECT_COLOUR = "#D55E00"
GRID_COLOUR = "#e3e3e3"


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def num(value: float) -> str:
    """A coordinate, short: two decimals are finer than a pixel."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class Linear:
    """Maps a domain [lo, hi] onto pixels [start, end] (end may be below start)."""

    lo: float
    hi: float
    start: float
    end: float

    def __call__(self, value: float) -> float:
        span = self.hi - self.lo or 1.0
        return self.start + (value - self.lo) / span * (self.end - self.start)


def day(value: dt.date) -> float:
    return float(value.toordinal())


def nice_step(span: float, *, count: int) -> float:
    """A step of 1, 2 or 5 times a power of ten giving about `count` ticks."""
    raw = max(span, 1e-9) / max(count, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    return next(float(m * power) for m in (1, 2, 5, 10) if m * power >= raw)


def nice_ticks(lo: float, hi: float, *, count: int = 5) -> list[float]:
    step = nice_step(hi - lo, count=count)
    first = math.ceil(lo / step - 1e-9) * step
    ticks: list[float] = []
    value = first
    while value <= hi + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    return ticks


def nice_max(value: float, *, count: int = 5) -> float:
    step = nice_step(value, count=count)
    return math.ceil(value / step) * step if value > 0 else step


def month_ticks(lo: dt.date, hi: dt.date, *, every: int = 3) -> list[dt.date]:
    """First days of months from lo to hi, every `every` months (Jan-aligned)."""
    ticks: list[dt.date] = []
    year, month = lo.year, lo.month
    while True:
        tick = dt.date(year, month, 1)
        if tick > hi:
            return ticks
        if tick >= lo and (month - 1) % every == 0:
            ticks.append(tick)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def title(text: str) -> str:
    """A hover tooltip: an SVG `<title>` child."""
    return f"<title>{esc(text)}</title>"


def line(x1: float, y1: float, x2: float, y2: float, *, style: str, tip: str = "") -> str:
    coords = f'x1="{num(x1)}" y1="{num(y1)}" x2="{num(x2)}" y2="{num(y2)}"'
    if tip:
        return f"<line {coords} {style}>{title(tip)}</line>"
    return f"<line {coords} {style}/>"


def polyline(points: Sequence[tuple[float, float]], *, style: str, tip: str = "") -> str:
    coords = " ".join(f"{num(x)},{num(y)}" for x, y in points)
    inner = title(tip) if tip else ""
    return f'<polyline class="mark" points="{coords}" fill="none" {style}>{inner}</polyline>'


def circle(x: float, y: float, *, r: float, style: str, tip: str = "") -> str:
    return (
        f'<circle class="mark" cx="{num(x)}" cy="{num(y)}" r="{num(r)}" {style}>'
        f"{title(tip) if tip else ''}</circle>"
    )


def rect(x: float, y: float, w: float, h: float, *, style: str, tip: str = "") -> str:
    return (
        f'<rect class="mark" x="{num(x)}" y="{num(y)}" width="{num(max(w, 0))}" '
        f'height="{num(max(h, 0))}" {style}>{title(tip) if tip else ""}</rect>'
    )


def cross(x: float, y: float, *, size: float, colour: str, tip: str) -> str:
    """An X: a set-aside export, distinct from the round marks by shape too."""
    s = size
    down = f"M{num(x - s)},{num(y - s)}L{num(x + s)},{num(y + s)}"
    up = f"M{num(x - s)},{num(y + s)}L{num(x + s)},{num(y - s)}"
    path = down + up
    return f'<path class="mark" d="{path}" stroke="{colour}" stroke-width="2.5">{title(tip)}</path>'


def text(x: float, y: float, content: str, *, anchor: str = "start", extra: str = "") -> str:
    return f'<text x="{num(x)}" y="{num(y)}" text-anchor="{anchor}" {extra}>{esc(content)}</text>'


@dataclass(frozen=True)
class Frame:
    """A figure's size and its plot area inside the margins."""

    width: float
    height: float
    left: float = 64
    right: float = 16
    top: float = 52
    bottom: float = 58

    @property
    def x0(self) -> float:
        return self.left

    @property
    def x1(self) -> float:
        return self.width - self.right

    @property
    def y0(self) -> float:
        return self.height - self.bottom

    @property
    def y1(self) -> float:
        return self.top


def axes(
    frame: Frame,
    *,
    x: Linear,
    y: Linear,
    xticks: Iterable[float],
    yticks: Iterable[float],
    xfmt: Callable[[float], str],
    yfmt: Callable[[float], str],
    xlabel: str,
    ylabel: str,
) -> str:
    """Grid lines, tick labels and both axis labels (with their units)."""
    parts = []
    for value in yticks:
        py = y(value)
        parts.append(line(frame.x0, py, frame.x1, py, style=f'stroke="{GRID_COLOUR}"'))
        parts.append(text(frame.x0 - 6, py + 4, yfmt(value), anchor="end", extra='class="tick"'))
    for value in xticks:
        px = x(value)
        parts.append(line(px, frame.y0, px, frame.y0 + 5, style='stroke="#333"'))
        parts.append(text(px, frame.y0 + 18, xfmt(value), anchor="middle", extra='class="tick"'))
    parts.append(line(frame.x0, frame.y0, frame.x1, frame.y0, style='stroke="#333"'))
    parts.append(line(frame.x0, frame.y0, frame.x0, frame.y1, style='stroke="#333"'))
    parts.append(
        text(
            (frame.x0 + frame.x1) / 2,
            frame.height - 14,
            xlabel,
            anchor="middle",
            extra='class="axis-label"',
        )
    )
    cy = (frame.y0 + frame.y1) / 2
    parts.append(
        text(
            14,
            cy,
            ylabel,
            anchor="middle",
            extra=f'class="axis-label" transform="rotate(-90 14 {num(cy)})"',
        )
    )
    return "".join(parts)


def date_label(value: float) -> str:
    return dt.date.fromordinal(round(value)).strftime("%b %Y")


@dataclass(frozen=True)
class LegendItem:
    label: str
    colour: str
    shape: str = "line"  # line | dashed | dotted | dot | cross | bar


def _swatch(x: float, y: float, item: LegendItem) -> str:
    c = item.colour
    if item.shape == "dot":
        return f'<circle cx="{num(x + 9)}" cy="{num(y)}" r="4" fill="{c}"/>'
    if item.shape == "cross":
        return cross(x + 9, y, size=4, colour=c, tip=item.label)
    if item.shape == "bar":
        return f'<rect x="{num(x + 2)}" y="{num(y - 5)}" width="14" height="10" fill="{c}"/>'
    dashes = {"dashed": ' stroke-dasharray="5 3"', "dotted": ' stroke-dasharray="1.5 3"'}
    dash = dashes.get(item.shape, "")
    ends = f'x1="{num(x)}" y1="{num(y)}" x2="{num(x + 18)}" y2="{num(y)}"'
    return f'<line {ends} stroke="{c}" stroke-width="2.5"{dash}/>'


def legend_figure(items: Sequence[LegendItem], *, width: float, label: str) -> str:
    """A view's one legend, as a figure of its own above the view's charts."""
    rows = 1
    cx = 0.0
    for item in items:
        size = 34 + 7.2 * len(item.label)
        if cx + size > width - 16 and cx > 0:
            rows, cx = rows + 1, 0.0
        cx += size
    height = 12 + 16 * rows
    return (
        f'<svg class="chart legend-figure" role="img" aria-label="{esc(label)}" '
        f'width="{num(width)}" height="{num(height)}" viewBox="0 0 {num(width)} {num(height)}" '
        f'xmlns="http://www.w3.org/2000/svg">{legend(items, x=LEFT_EDGE, y=14, width=width - 16)}'
        "</svg>"
    )


def legend(items: Sequence[LegendItem], *, x: float, y: float, width: float) -> str:
    """A legend laid out left to right, wrapping at `width`."""
    parts = ['<g class="legend">']
    cx, cy = x, y
    for item in items:
        size = 34 + 7.2 * len(item.label)
        if cx + size > x + width and cx > x:
            cx, cy = x, cy + 16
        parts.append(_swatch(cx, cy, item))
        parts.append(text(cx + 22, cy + 4, item.label))
        cx += size
    parts.append("</g>")
    return "".join(parts)


LEFT_EDGE = 8


def figure(
    frame: Frame, *, heading: str, dated: str, body: str, label: str, extra: str = ""
) -> str:
    """One SVG figure: its title, its date line (every figure says when), its marks."""
    size = f'width="{num(frame.width)}" height="{num(frame.height)}"'
    box = f'viewBox="0 0 {num(frame.width)} {num(frame.height)}"'
    # From the figure's left edge, not the plot's: a wide label column (the bar
    # charts') would push a long date line past the right edge.
    heading_text = text(LEFT_EDGE, 18, heading, extra='class="fig-title"')
    date_text = text(LEFT_EDGE, 36, dated, extra='class="fig-date"')
    return (
        f'<svg class="chart" role="img" aria-label="{esc(label)}" {size} {box} {extra} '
        f'xmlns="http://www.w3.org/2000/svg"><rect width="100%" height="100%" fill="#fff"/>'
        f"{heading_text}{date_text}{body}</svg>"
    )
