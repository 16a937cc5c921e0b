"""Which leaderboard model names are Hub repo ids with a namespace: one
vectorised check of many names at once, by the rule `hub.ids` writes once.

A bare `llama-7b` could be any of several repos, so it is never taken for a
repo id. The check here (RE2, through Arrow) and `hub.ids.is_valid_repo_id`
(Python's `re`) read the same pattern text and the same forbidden parts, each
matching the whole string, so they cannot drift apart (tests/test_repo_ids.py
compares them on hostile names).
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from llmsync.hub.ids import REPO_ID_FORBIDDEN, REPO_ID_PART, is_valid_repo_id

# `\A` and `\z`: the start and the very end of the text in RE2 (a name with a
# trailing newline does not match, as with Python's `fullmatch`).
_NAMESPACED = rf"\A{REPO_ID_PART}/{REPO_ID_PART}\z"


def is_namespaced_repo_id(name: str) -> bool:
    """One name, in Python: the rule `namespaced_repo_ids` applies to many."""
    return "/" in name and is_valid_repo_id(name)


def namespaced_repo_ids(names: pa.Array) -> pa.Array:
    """Each name where it is a Hub repo id with a namespace, else null."""
    names = names.cast(pa.string())
    keep = pc.match_substring_regex(names, _NAMESPACED)
    for part in REPO_ID_FORBIDDEN:
        keep = pc.and_kleene(keep, pc.invert(pc.match_substring(names, part)))
    return pc.if_else(pc.fill_null(keep, False), names, pa.nulls(len(names), pa.string()))
