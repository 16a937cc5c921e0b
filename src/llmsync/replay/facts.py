"""What the leaderboards say about each model repo: the population's facts.

Every leaderboard export the replay hub serves (each `.parquet` file of each
commit of each dataset repo, as of the hub's date) is read once. A repo's facts
come from its row in the newest export that names it; among several rows of
that export (precisions, re-submissions), the one submitted last, then the
first in the file. Only ids of the Hub's own shape with a namespace count, as
the sync itself does (`tables.leaderboards`): a bare `llama-7b` could be any of
several repos.

Exports are read newest first, and an older export is only looked at for the
names it has that no newer export has, so that many exports stay cheap.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from llmsync.hub.ids import is_commit_sha, is_valid_repo_id
from llmsync.replay.recordings import FileEntry, Repo

if TYPE_CHECKING:
    import pyarrow as pa

# Each fact and the columns it may be under, in order of preference: the
# contents datasets' display names, then the snake_case names some exports use.
COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("fullname", "model_name", "Model", "model"),
    "sha": ("Model sha", "model_sha"),
    "license": ("Hub License", "hub_license"),
    "params_b": ("#Params (B)", "params_b", "params_billions"),
    "likes": ("Hub ❤️", "hub_hearts", "likes"),
    "base_model": ("Base Model", "base_model"),
    "precision": ("Precision", "precision"),
    "architecture": ("Architecture", "architecture"),
    "model_type": ("Type", "type"),
    "weight_type": ("Weight type", "weight_type"),
    "upload_date": ("Upload To Hub Date", "upload_to_hub_date"),
    "submission_date": ("Submission Date", "submission_date", "date"),
    "available": ("Available on the hub", "available_on_the_hub"),
}
_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?")


@dataclass(frozen=True)
class Export:
    """One leaderboard table as the hub serves it."""

    dataset: str  # the dataset repo id
    commit_sha: str
    date: dt.datetime
    path: str
    entry: FileEntry

    @property
    def label(self) -> str:
        return f"{self.dataset}@{self.commit_sha}"


@dataclass(slots=True)
class RowFacts:
    """One repo's facts, from one row of one export. Fields the export has no
    column or no value for are None."""

    repo_id: str
    export: Export
    row: int
    sha: str | None  # the row's `Model sha` when it is a 40-hex commit id
    written_sha: str | None  # `Model sha` as written, when it is not
    license: str | None
    params_b: float | None
    likes: int | None
    base_model: str | None
    precision: str | None
    architecture: str | None
    model_type: str | None
    weight_type: str | None
    upload_date: dt.datetime | None
    submission_date: dt.datetime | None
    available: bool | None


def leaderboard_exports(repos: Iterable[Repo]) -> list[Export]:
    """Every parquet table of every commit of the dataset repos, newest first."""
    exports = [
        Export(repo.repo_id, commit.sha, commit.date, path, entry)
        for repo in repos
        if repo.repo_type == "dataset"
        for commit in repo.commits
        for path, entry in sorted(commit.files.items())
        if path.endswith(".parquet")
    ]
    exports.sort(key=lambda e: (e.date, e.dataset, e.commit_sha, e.path), reverse=True)
    return exports


def collect_facts(
    exports: Iterable[Export], *, read: Callable[[FileEntry], bytes]
) -> tuple[dict[str, RowFacts], dict[str, int]]:
    """Each repo's facts, and counts for the provenance: exports read, rows
    read, rows whose name is not a namespaced Hub id. `read` gives an export's
    bytes (the recordings build leaderboard tables from a row store)."""
    import pyarrow.parquet as pq  # here: a hub without --population never loads pyarrow

    facts: dict[str, RowFacts] = {}
    counts = {"exports": 0, "rows": 0, "rows_without_repo_id": 0}
    for export in exports:
        counts["exports"] += 1
        parquet = pq.ParquetFile(io.BytesIO(read(export.entry)))
        columns = set(parquet.schema_arrow.names)
        present = {
            fact: next((c for c in names if c in columns), None) for fact, names in COLUMNS.items()
        }
        name_column = present["name"]
        if name_column is None:
            continue
        names = _pylist(parquet.read(columns=[name_column]), name_column)
        counts["rows"] += len(names)
        wanted: dict[str, list[int]] = {}
        for row, name in enumerate(names):
            if name in facts:
                continue  # a newer export has it: the common case, checked first
            if not _is_repo_id(name):
                counts["rows_without_repo_id"] += 1
                continue
            wanted.setdefault(name, []).append(row)
        if not wanted:
            continue
        # Whole columns to Python lists: cheap, and `take` would import pandas.
        table = parquet.read(columns=sorted({c for c in present.values() if c is not None}))
        values = {
            fact: _pylist(table, column) if column else [None] * table.num_rows
            for fact, column in present.items()
        }
        for repo_id, rows in wanted.items():
            best = max(rows, key=lambda row: _submission_key(values, row))
            facts[repo_id] = _row_facts(repo_id, export, best, values)
    return facts, counts


@functools.lru_cache(maxsize=65536)
def _is_repo_id(name: Any) -> bool:
    return isinstance(name, str) and "/" in name and is_valid_repo_id(name)


def _pylist(table: pa.Table, column: str) -> list[Any]:
    import pyarrow as pa

    values = table.column(column)
    if pa.types.is_dictionary(values.type):
        values = values.cast(values.type.value_type)
    return list(values.to_pylist())


def _submission_key(values: dict[str, list[Any]], row: int) -> tuple[str, int]:
    # The latest submission wins; on a tie (or no dates) the first row does.
    submitted = values["submission_date"][row]
    return (str(submitted) if submitted is not None else "", -row)


def _row_facts(repo_id: str, export: Export, row: int, values: dict[str, list[Any]]) -> RowFacts:
    def text(fact: str) -> str | None:
        value = values[fact][row]
        if value is None:
            return None
        value = str(value).strip()
        return value or None

    written_sha = text("sha")
    sha = written_sha if written_sha is not None and is_commit_sha(written_sha) else None
    return RowFacts(
        repo_id=repo_id,
        export=export,
        row=row,
        sha=sha,
        written_sha=None if sha is not None else written_sha,
        license=text("license"),
        params_b=_number(values["params_b"][row]),
        likes=_count(values["likes"][row]),
        base_model=text("base_model"),
        precision=text("precision"),
        architecture=text("architecture"),
        model_type=text("model_type"),
        weight_type=text("weight_type"),
        upload_date=parse_day(values["upload_date"][row]),
        submission_date=parse_day(values["submission_date"][row]),
        available=values["available"][row] if isinstance(values["available"][row], bool) else None,
    )


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        try:
            value = float(str(value))
        except (TypeError, ValueError):
            return None
    number = float(value)
    return number if number == number and number >= 0 else None  # NaN, negatives: no fact


def _count(value: Any) -> int | None:
    number = _number(value)
    return int(number) if number is not None and number == int(number) else None


@functools.lru_cache(maxsize=65536)
def _parse_text_day(value: str) -> dt.datetime | None:
    match = _DATE.match(value)
    if match is None:
        return None
    try:
        day = dt.date.fromisoformat(match.group(1))
    except ValueError:
        return None
    hour, minute, second = (int(match.group(k) or 0) for k in (2, 3, 4))
    if hour > 23 or minute > 59 or second > 59:
        hour = minute = second = 0
    return dt.datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=dt.UTC)


def parse_day(value: Any) -> dt.datetime | None:
    """A date or timestamp cell as a UTC datetime (None if it is not one)."""
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    return _parse_text_day(str(value)) if value is not None else None
