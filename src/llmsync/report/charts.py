"""Charts shared by several views: horizontal bars, and HTML tables."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from llmsync.report import svg


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    colour: str
    tip: str


def hbars(
    bars: Sequence[Bar],
    *,
    heading: str,
    dated: str,
    xlabel: str,
    legend: Sequence[svg.LegendItem] = (),
    width: float = 596,
) -> str:
    """One bar per row, its value written at its end; zero bars keep their row.
    No `legend`: the view draws one for all its charts."""
    label_width = 8 + 7 * max((len(b.label) for b in bars), default=4)
    frame = svg.Frame(
        width=width, height=96 + 22 * max(len(bars), 1) + 48, top=80, left=label_width, right=56
    )
    top = svg.nice_max(max((b.value for b in bars), default=1.0) or 1.0)
    x = svg.Linear(0.0, top, frame.x0, frame.x1)
    y0 = frame.y1
    body = [
        svg.axes(
            frame,
            x=x,
            y=svg.Linear(0, 1, frame.y0, frame.y1),
            xticks=svg.nice_ticks(0.0, top, count=4),
            yticks=[],
            xfmt=lambda v: f"{v:,.0f}",
            yfmt=str,
            xlabel=xlabel,
            ylabel="",
        ),
    ]
    if legend:
        body.append(svg.legend(legend, x=frame.x0, y=58, width=frame.x1 - frame.x0))
    for i, bar in enumerate(bars):
        top_y = y0 + 4 + 22 * i
        body.append(
            svg.text(frame.x0 - 6, top_y + 13, bar.label, anchor="end", extra='class="tick"')
        )
        body.append(
            svg.rect(
                frame.x0,
                top_y,
                x(bar.value) - frame.x0,
                16,
                style=f'fill="{bar.colour}"',
                tip=bar.tip,
            )
        )
        shown = f"{bar.value:,.0f}" if bar.value.is_integer() else f"{bar.value:,.2f}"
        body.append(svg.text(x(bar.value) + 4, top_y + 13, shown, extra='class="tick"'))
    return svg.figure(frame, heading=heading, dated=dated, body="".join(body), label=heading)


def html_table(
    headers: Sequence[str], rows: Iterable[Sequence[object]], *, numeric: Iterable[int] = ()
) -> str:
    """A plain table; columns listed in `numeric` align right."""
    right = set(numeric)
    head = "".join(f"<th>{svg.esc(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td{' class=num' if i in right else ''}>{svg.esc('' if c is None else c)}</td>"
            for i, c in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
