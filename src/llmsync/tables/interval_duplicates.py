"""A group with duplicates (two items of one export), applied export by
export by the rules `tables.intervals` states: an export's values matched with
the open intervals' as multisets, the n-th copy of a value in occurrence order
continuing the n-th open interval of it, a new value keeping its own
occurrence where free, else taking the lowest free one.

The columnar pass (`tables.interval_pass`) hands the few such groups here.
"""

from __future__ import annotations

# (source entry, start export, end export, occurrence): one interval as the pass makes it.
Made = tuple[int, int, int, int]
# An item's value as compared: exact bits of value and raw value, and their nulls.
ValueKey = tuple[int, int, bool, bool]
# An item as `apply_group` reads it: (occurrence, value, entry).
Item = tuple[int, ValueKey, int]
# An open interval there: (occurrence, value, entry, start export or -1 for its own).
Open = tuple[int, ValueKey, int, int]


def apply_group(steps: dict[int, list[Item]], exports: list[int]) -> list[Made]:
    """One group's intervals, its items applied export by export: `steps` maps a
    position (-1: the open intervals) to its items (occurrence, value, entry) in
    occurrence order; `exports` are the leaderboard's exports in the batch."""
    made: list[Made] = []
    # Open intervals: (occurrence, value, entry, start export or -1 for its own).
    state = [(o, key, item, -1) for o, key, item in steps.pop(-1, [])]
    previous = -1
    for position in sorted(steps):
        if state and position > previous + 1:
            # The export after the last one held none of the group's values.
            made += [(item, start, exports[previous + 1], o) for o, _, item, start in state]
            state = []
        state = _step(state, steps[position], exports[position], made)
        previous = position
    if state and previous + 1 < len(exports):
        made += [(item, start, exports[previous + 1], o) for o, _, item, start in state]
        state = []
    return made + [(item, start, -1, o) for o, _, item, start in state]


def _step(state: list[Open], rows: list[Item], export: int, made: list[Made]) -> list[Open]:
    """One group's open intervals after one export's rows of it (appending the
    intervals it closes to `made`): the n-th copy of a value in the export, in
    occurrence order, continues the n-th open interval of that value."""
    copies: dict[ValueKey, int] = {}
    by_copy: dict[tuple[ValueKey, int], Open] = {}
    for entry in sorted(state):
        n = copies[entry[1]] = copies.get(entry[1], -1) + 1
        by_copy[entry[1], n] = entry
    copies.clear()
    continuing: list[Open] = []
    new: list[Item] = []
    for o, key, item in rows:
        n = copies[key] = copies.get(key, -1) + 1
        if (key, n) in by_copy:
            continuing.append(by_copy.pop((key, n)))
        else:
            new.append((o, key, item))
    made += [(item, start, export, o) for o, _, item, start in by_copy.values()]
    numbers = [o for o, _, _ in new]
    if continuing:
        # A new value keeps its own occurrence where no continuing interval
        # holds it, else takes the lowest free one, in occurrence order.
        taken = {entry[0] for entry in continuing}
        moved = []
        for i, number in enumerate(numbers):
            if number in taken:
                moved.append(i)
            else:
                taken.add(number)
        for i in moved:
            numbers[i] = next(n for n in range(len(taken) + 1) if n not in taken)
            taken.add(numbers[i])
    opened = [(n, key, item, export) for n, (_, key, item) in zip(numbers, new, strict=True)]
    return continuing + opened
