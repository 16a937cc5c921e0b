"""A night's rows merged into the previous table give the order a full sort
gives, and a table out of order is sorted whole (generated rows, not recorded)."""

from __future__ import annotations

import datetime as dt
import random

import numpy as np
import pyarrow as pa

from llmsync.tables.schemas import SCORES
from llmsync.tables.score_order import merged, sort_scores


def _rows(rng: random.Random, count: int, taken: set[tuple[object, ...]]) -> pa.Table:
    """`count` rows of distinct keys (nulls, shared names, two leaderboards)."""
    rows = []
    while len(rows) < count:
        key = (
            rng.choice(["p", "q", "r"]),
            rng.choice(["a/x", "b/y", "c", "d/z", "e"]),
            rng.choice([None, "bfloat16", "float16"]),
            rng.choice([None, "s1", "s2"]),
            rng.randint(0, 1),
            rng.choice(["average", "mmlu"]),
            dt.date(2024, 1, 1) + dt.timedelta(days=rng.randint(0, 5)),
            rng.choice(["r1", "r2", "r3"]),
        )
        if key in taken:
            continue
        taken.add(key)
        names = ("leaderboard", "model_name", "precision", "model_sha", "occurrence")
        row = dict(zip(names, key[:5], strict=True))
        row |= {"benchmark": key[5], "valid_from": key[6], "valid_from_revision": key[7]}
        row |= {"repo_id": None, "value": rng.random(), "raw_value": None}
        row |= {"valid_to": None, "valid_to_revision": None}
        rows.append(row)
    return pa.Table.from_pylist(rows, schema=SCORES.schema)


def test_merging_new_rows_into_an_ordered_table_is_sorting_them_all() -> None:
    for seed in range(40):
        rng = random.Random(seed)
        taken: set[tuple[object, ...]] = set()
        before = sort_scores(_rows(rng, rng.randint(0, 60), taken))
        new = _rows(rng, rng.randint(0, 20), taken)
        dropped = np.array([rng.random() < 0.3 for _ in range(before.num_rows + new.num_rows)])
        kept = pa.concat_tables([before, new]).filter(pa.array(~dropped))
        assert merged(before, new, dropped=dropped).equals(sort_scores(kept)), seed


def test_a_table_out_of_order_is_sorted_whole() -> None:
    rng = random.Random(7)
    taken: set[tuple[object, ...]] = set()
    shuffled = _rows(rng, 50, taken)
    assert not shuffled.equals(sort_scores(shuffled))
    new = _rows(rng, 5, taken)
    dropped = np.zeros(55, dtype=bool)
    expected = sort_scores(pa.concat_tables([shuffled, new]))
    assert merged(shuffled, new, dropped=dropped).equals(expected)
