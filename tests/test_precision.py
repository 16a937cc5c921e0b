"""An export's precision and the reformatting rule, on real values."""

from __future__ import annotations

import datetime as dt

import numpy as np

from llmsync.tables.precision import (
    UNROUNDED,
    agree_when_rounded,
    column_decimals,
    export_precisions,
)
from tests.recorded import recorded_scores


def test_decimals_are_counted_over_the_column() -> None:
    # 0.0 alone is written with no decimal; in a 2-decimal column it is 0.00.
    assert column_decimals(np.array([0.0, 17.22, 1.66])) == 2
    assert column_decimals(np.array([0.0, 63.0])) == 0
    assert column_decimals(np.array([17.2201142032645])) == 13
    assert column_decimals(np.array([1.96374622356495, 0.0])) == 14


def test_the_v2_exports_are_2_decimals_until_2024_12_10_then_unrounded() -> None:
    scores, _ = recorded_scores("v2-2024-12-10", "v2-2024-12-11")
    before = export_precisions(scores, leaderboard="open_llm_v2", day=dt.date(2024, 12, 10))
    after = export_precisions(scores, leaderboard="open_llm_v2", day=dt.date(2024, 12, 11))
    assert set(before.values()) == {2}
    assert min(after.values()) > 2 and max(after.values()) <= UNROUNDED


def test_agreement_at_the_coarser_precision() -> None:
    # Falcon-40B-Instruct's BBH on 2024-12-10 and 2024-12-11.
    assert agree_when_rounded(17.22, 17.2201142032645, places=2)
    # A halfway value agrees with either neighbour (musr 20.225, shown as 20.22).
    assert agree_when_rounded(20.22, 20.225, places=2)
    assert agree_when_rounded(20.23, 20.225, places=2)
    # Falcon-40B-Instruct's MATH was re-scored: 1.66 -> 1.96374622356495.
    assert not agree_when_rounded(1.66, 1.96374622356495, places=2)
    assert not agree_when_rounded(0.0, 0.377643504531722, places=2)
