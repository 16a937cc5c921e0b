"""Whether a score change is only a change of how many decimals an export writes.

Upstream changed its v2 export from values rounded for display (2 decimals) to
unrounded ones on 2024-12-11: `17.22` became `17.2201142`. That is a new
spelling of the same evaluation, not a re-evaluation. An export's precision for
a benchmark is the most decimals any of its values of that benchmark is written
with (the shortest spelling that reads back): counted over the column, because
one value's spelling drops its trailing zeros (`0.0` in a 2-decimal export is
`0.00`, and `0.0 -> 0.3776` is a re-evaluation). A change is a reformatting when
the old and new values are equal once both are rounded to the coarser of the
two exports' precisions. A value exactly halfway (17.225 against 17.22 or 17.23)
agrees with either neighbour: exports do not say which way they round ties.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from llmsync.tables.intervals import as_of

# More decimals than any rounding for display: a column this fine is unrounded.
UNROUNDED = 15


def column_decimals(values: np.ndarray) -> int:
    """The fewest decimals that write every one of `values` (at most UNROUNDED)."""
    for places in range(UNROUNDED):
        if np.all(np.round(values, places) == values):
            return places
    return UNROUNDED


def export_precisions(scores: pa.Table, *, leaderboard: str, day: dt.date) -> dict[str, int]:
    """benchmark -> decimals of the leaderboard's export in force on `day`."""
    mine = scores.filter(pc.equal(scores.column("leaderboard"), leaderboard))
    state = as_of(mine, day)
    found: dict[str, int] = {}
    for benchmark in pc.unique(state.column("benchmark")).to_pylist():
        values = state.filter(pc.equal(state.column("benchmark"), benchmark)).column("value")
        found[benchmark] = column_decimals(values.to_numpy())
    return found


def agree_when_rounded(old: float, new: float, *, places: int) -> bool:
    """Whether `old` and `new` are equal once rounded to `places` decimals: the
    finer rounds to the coarser exactly when they lie within half a unit."""
    half_unit = Decimal(5).scaleb(-places - 1)
    return abs(Decimal(repr(old)) - Decimal(repr(new))) <= half_unit


def reformatted(changes: pa.Table, *, scores: pa.Table) -> list[bool]:
    """For each score change (leaderboard, benchmark, date, old_score, new_score),
    whether it is a reformatting: the old value from the export before `date`,
    the new one from the export of `date`."""
    cache: dict[tuple[str, dt.date], dict[str, int]] = {}

    def precision(leaderboard: str, day: dt.date, benchmark: str) -> int:
        if (leaderboard, day) not in cache:
            cache[(leaderboard, day)] = export_precisions(scores, leaderboard=leaderboard, day=day)
        return cache[(leaderboard, day)].get(benchmark, UNROUNDED)

    found = []
    for row in changes.select(
        ["leaderboard", "benchmark", "date", "old_score", "new_score"]
    ).to_pylist():
        lb, benchmark, day = row["leaderboard"], row["benchmark"], row["date"]
        places = min(
            precision(lb, day - dt.timedelta(days=1), benchmark), precision(lb, day, benchmark)
        )
        found.append(agree_when_rounded(row["old_score"], row["new_score"], places=places))
    return found
