"""Model info bodies (`evalResults`) -> the `eval_results` table, as intervals
by observation (see `tables.schemas.EVAL_RESULTS` for the key and the as-of rule).

Items are read by llmsync's own tolerant reader (`tables.eval_items`): an item
that cannot be read as a result (a file the Hub rejected, `{filename, error}`,
or any other shape) is kept as a row of its own with `error`, so one bad item
never costs its siblings, the model or the run.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from llmsync.hub.ids import is_valid_repo_id
from llmsync.tables.eval_items import read_item
from llmsync.tables.schemas import EVAL_RESULT_KEY, EVAL_RESULTS

# The columns whose change closes an interval (the key's are the identity).
CONTENT = (
    "dataset_revision",
    "value",
    "verified",
    "source_url",
    "source_name",
    "source_user",
    "source_org",
    "date",
    "error",
)


@dataclass(frozen=True)
class Observed:
    """One model's evalResults as one landed body holds them."""

    repo_id: str
    raw_object: str  # path under data/raw/
    body: bytes
    item: str | None = None  # the model's id in a listing page; None: a model-info body

    @functools.cached_property
    def model(self) -> dict[str, Any]:
        """The body parsed once (the results and the id the Hub answered under
        are both read from it)."""
        return _model(self.body, item=self.item)


def _model(body: bytes, *, item: str | None) -> dict[str, Any]:
    """The model body (or one listing page's item) as a mapping ({}: not one)."""
    data = json.loads(body)
    if item is not None and isinstance(data, list):
        data = next((x for x in data if isinstance(x, dict) and x.get("id") == item), {})
    return data if isinstance(data, dict) else {}


def results_of(observed: Observed) -> list[Any] | None:
    """The `evalResults` list of a model body (or of one listing page's item);
    None when the body does not carry the property."""
    found = observed.model.get("evalResults")
    return list(found) if isinstance(found, list) else None


def hub_id(observed: Observed) -> str:
    """The id the Hub answered under: another than the one asked when the repo
    was renamed (the Hub redirects the old name, 307): its results move there.
    A listing page's item is found by its id: no rename to read there (and no
    page to parse again)."""
    if observed.item is not None:
        return observed.repo_id
    answered = observed.model.get("id")
    if not (isinstance(answered, str) and is_valid_repo_id(answered)):
        return observed.repo_id
    # Ids are case-insensitive on the Hub: another spelling is the same repo,
    # kept under the id llmsync tracks it by (as its listing items are).
    return observed.repo_id if answered.lower() == observed.repo_id.lower() else answered


def observation_rows(observed: Observed) -> list[dict[str, Any]] | None:
    """One row per evalResults item of the body (its interval not yet set);
    None when the body does not carry the property (unknown is not empty)."""
    items = results_of(observed)
    if items is None:
        return None
    repo_id = hub_id(observed)
    rows = [_row(observed, repo_id, index, item) for index, item in enumerate(items)]
    _number_occurrences(rows)
    return rows


def renames(observed: Sequence[Observed]) -> dict[str, str]:
    """{id asked: id the Hub answered under} of the renamed repos observed."""
    found = {item.repo_id: hub_id(item) for item in observed}
    return {old: new for old, new in found.items() if old != new}


def _row(observed: Observed, repo_id: str, index: int, item: Any) -> dict[str, Any]:
    base: dict[str, Any] = {name: None for name in EVAL_RESULTS.columns}
    base.update(read_item(item))
    base.update(repo_id=repo_id, raw_object=observed.raw_object, raw_item=index)
    return base


def carried(row: dict[str, Any], moved: Mapping[str, str]) -> dict[str, Any]:
    """An open row of a renamed repo, carried to its new id (its interval goes on)."""
    new = moved.get(row["repo_id"])
    return row if new is None or row["observed_to"] is not None else {**row, "repo_id": new}


def _number_occurrences(rows: list[dict[str, Any]]) -> None:
    """Entries a file repeats (same key but for occurrence) numbered by their
    position in the file, 0 first: one value moving is then one change, where a
    rank by value would renumber its neighbours."""
    seen: dict[tuple[Any, ...], int] = {}
    for row in rows:
        identity = tuple(row[name] for name in EVAL_RESULT_KEY if name != "occurrence")
        row["occurrence"] = seen.get(identity, 0)
        seen[identity] = row["occurrence"] + 1


def key_of(row: Mapping[str, Any]) -> tuple[Any, ...]:
    return tuple(row[name] for name in EVAL_RESULT_KEY)


def same_content(one: Mapping[str, Any], other: Mapping[str, Any]) -> bool:
    return all(one[c] == other[c] for c in CONTENT)


def observation_time(moment: dt.datetime) -> dt.datetime:
    """A run's observation instant as the table holds it: UTC, whole seconds."""
    if moment.tzinfo is None:
        raise ValueError("an observation time must be timezone-aware")
    return moment.astimezone(dt.UTC).replace(microsecond=0)


def midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=dt.UTC)


def _upgraded(row: dict[str, Any]) -> dict[str, Any]:
    """A prior row of a table written before `observed_from` (version 1): its
    days' midnights (UTC) stand for the instants it was observed."""
    if row.get("observed_from") is not None:
        return row
    valid_to = row["valid_to"]
    return {
        **row,
        "observed_from": midnight(row["valid_from"]),
        "observed_to": None if valid_to is None else midnight(valid_to),
    }


def extend(
    prior: pa.Table | None,
    observed: Sequence[Observed],
    *,
    at: dt.datetime,
    gone: Collection[str] = (),
) -> pa.Table:
    """The intervals after observing `observed` at `at` (the run's UTC time);
    the repos `gone` (they answered 404) hold no result any more.

    Only the repos observed are judged: a repo this run could not read (or
    whose body lacks `evalResults`) keeps its open intervals. A result whose
    content is unchanged stays open; one changed or gone is closed at `at`;
    one new (or changed) opens at `at`. Several runs a day each keep what they
    saw: intervals are by instant, `valid_from`/`valid_to` are their days.
    """
    at = observation_time(at)
    day = at.date()
    moved = renames(observed)
    prior_rows = prior.to_pylist() if prior is not None else []
    rows = [carried(_upgraded(row), moved) for row in prior_rows]
    seen_repos: set[str] = set(gone)
    current: dict[tuple[Any, ...], dict[str, Any]] = {}
    for item in observed:
        found = observation_rows(item)
        if found is None:
            continue  # a body without evalResults: this repo is not judged
        seen_repos.add(moved.get(item.repo_id, item.repo_id))
        for row in found:
            current[key_of(row)] = row
    out: list[dict[str, Any]] = []
    for row in rows:
        if row["observed_to"] is not None or row["repo_id"] not in seen_repos:
            out.append(row)
            continue
        now = current.get(key_of(row))
        if now is not None and same_content(now, row):
            del current[key_of(row)]  # still holds: the interval stays open
            out.append(row)
        elif row["observed_from"] >= at:
            continue  # opened and replaced at this very instant: never held
        else:
            out.append({**row, "valid_to": day, "observed_to": at})
    out += [
        {**row, "valid_from": day, "valid_to": None, "observed_from": at, "observed_to": None}
        for row in current.values()
    ]
    return table_of(out)


def table_of(rows: Iterable[Mapping[str, Any]]) -> pa.Table:
    ordered = sorted(rows, key=_sort_key)
    columns = {name: [row[name] for row in ordered] for name in EVAL_RESULTS.columns}
    return pa.table(columns, schema=EVAL_RESULTS.schema)


def _sort_key(row: Mapping[str, Any]) -> tuple[Any, ...]:
    return (
        row["repo_id"],
        row["pull_request"] is not None,
        row["pull_request"] or 0,
        row["filename"],
        row["dataset_id"] or "",
        row["task_id"] or "",
        row["notes"] or "",
        row["occurrence"],
        row["observed_from"],
    )


def open_rows(table: pa.Table) -> list[dict[str, Any]]:
    """The rows holding (a table of any version: older ones lack observed_to)."""
    return [_upgraded(row) for row in table.to_pylist() if row["valid_to"] is None]
