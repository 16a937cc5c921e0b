"""One `evalResults` item of a model body -> the fields of its `eval_results` row.

llmsync's own tolerant reader: the Hub serves whatever a repo's
`.eval_results/*.yaml` holds, and an item of any shape must cost only itself.
An item that cannot be read as a result gives `error` (why) and whatever of its
identity could be read (filename, branch, dataset, task), never an exception.
Unknown keys are ignored: the format may grow.
"""

from __future__ import annotations

import math
from typing import Any

# Longest text kept from an item (a `notes` of a megabyte is an error, not a key).
MAX_TEXT = 4096
SOURCE_FIELDS = ("url", "name", "user", "org")


class Unreadable(Exception):
    """Why an item cannot be read as a result."""


def read_item(item: Any) -> dict[str, Any]:
    """The row fields of one item: filename, pull_request, dataset_id, task_id,
    dataset_revision, value, verified, source_*, notes, date and error."""
    out: dict[str, Any] = {"filename": "", "pull_request": None, "error": None}
    if not isinstance(item, dict):
        out["error"] = f"the item is not an object ({type(item).__name__})"
        return out
    try:
        out["filename"] = _text(item.get("filename"), what="filename", required=True)
        out["pull_request"] = _pull_request(item.get("pullRequest"))
    except Unreadable as exc:
        out["error"] = str(exc)
    if out["error"] is not None:
        return out
    if "error" in item:
        # A file the Hub rejected: `{filename, error}`.
        out["error"] = f"rejected by the Hub: {_clip(item['error'])}"
        return out
    data = item.get("data")
    if not isinstance(data, dict):
        out["error"] = f"data is not a mapping ({type(data).__name__})"
        return out
    try:
        _identity(data, out)
        out.update(_content(item, data))
    except Unreadable as exc:
        out["error"] = str(exc)
        out["value"] = None
    return out


def _identity(data: dict[str, Any], out: dict[str, Any]) -> None:
    """dataset_id and task_id, set as soon as read (an error row keeps them)."""
    dataset = data.get("dataset")
    if not isinstance(dataset, dict):
        raise Unreadable(f"dataset is not a mapping ({type(dataset).__name__})")
    out["dataset_id"] = _text(dataset.get("id"), what="dataset.id", required=True)
    out["task_id"] = _text(dataset.get("task_id"), what="dataset.task_id", required=True)
    out["dataset_revision"] = _text(dataset.get("revision"), what="dataset.revision")


def _content(item: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    source = data.get("source")
    if source is not None and not isinstance(source, dict):
        raise Unreadable(f"source is not a mapping ({type(source).__name__})")
    verified = item.get("verified", False)
    if not isinstance(verified, bool):
        raise Unreadable(f"verified is not a boolean ({type(verified).__name__})")
    fields: dict[str, Any] = {
        f"source_{name}": _text((source or {}).get(name), what=f"source.{name}")
        for name in SOURCE_FIELDS
    }
    fields.update(
        value=_value(data.get("value")),
        verified=verified,
        notes=_text(data.get("notes"), what="notes"),
        date=_date(data.get("date")),
    )
    return fields


def _value(value: Any) -> float:
    # bool is an int to Python, not a score to anyone.
    if isinstance(value, bool) or not isinstance(value, int | float):
        shown = "null" if value is None else f"{type(value).__name__} {_clip(value, 40)}"
        raise Unreadable(f"value is not a number ({shown})")
    try:
        number = float(value)
    except OverflowError:  # an integer beyond any float
        number = math.inf
    if not math.isfinite(number):
        raise Unreadable(f"value is not finite ({number})")
    return number


MAX_PULL_REQUEST = 2**63 - 1


def _pull_request(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise Unreadable(f"pullRequest is not an integer ({type(value).__name__})")
    # The Hub numbers a repo's discussions from 1; the column is int64.
    if not 1 <= value <= MAX_PULL_REQUEST:
        raise Unreadable(f"pullRequest is not a PR number ({_clip(value, 40)})")
    return value


def _date(value: Any) -> str | None:
    """The entry's date as written; a YAML date the Hub passed on as a number stays text."""
    if value is None or isinstance(value, str):
        return _text(value, what="date")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise Unreadable(f"date is not text ({type(value).__name__})")


def _text(value: Any, *, what: str, required: bool = False) -> str | None:
    if value is None or value == "":
        if required:
            raise Unreadable(f"{what} is missing")
        return None
    if not isinstance(value, str):
        raise Unreadable(f"{what} is not text ({type(value).__name__})")
    if len(value) > MAX_TEXT:
        raise Unreadable(f"{what} is over {MAX_TEXT:,} characters ({len(value):,})")
    return value


def _clip(value: Any, limit: int = 400) -> str:
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "..."
