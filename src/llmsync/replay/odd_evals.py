"""Odd eval-result shapes the replay hub can serve beside the recorded files
(a fault plan's `odd_eval_items: [repo id, ...]`, `ReplayHub(odd_eval_items=...)`).

No recording holds these: each is GENERATED, labelled with the generated
marker, and names a generated dataset, so none can pass for a real result.
They are the shapes the Hub and huggingface_hub are known to produce or
allow (a file the Hub rejected, `{filename, error}`; a `source` that is not a
mapping, which huggingface_hub's ModelInfo cannot parse) and the wrong types,
nulls and huge values every input from the Hub is tested with.
"""

from __future__ import annotations

from typing import Any

from llmsync.replay.generated import MARKER_KEY

DATASET = "llmsync-replay/generated-shapes"
LABEL = "generated: an item shape no recording holds"


def _entry(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"dataset": {"id": DATASET, "task_id": "odd"}, "value": 50.0}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not _DROP}


_DROP = object()


def _item(name: str, data: Any, **extra: Any) -> dict[str, Any]:
    item = {"filename": f".eval_results/generated-{name}.yaml", "verified": False, "data": data}
    item.update(extra)
    item[MARKER_KEY] = LABEL
    return item


def odd_items() -> list[Any]:
    """One item per shape, in a fixed order. The last is readable (unknown keys
    are ignored): its row is a result with value 50.0."""
    return [
        {
            "filename": ".eval_results/generated-rejected.yaml",
            "error": "invalid YAML",
            MARKER_KEY: LABEL,
        },
        _item("source-string", _entry(source="https://example.invalid/generated")),
        _item("value-na", _entry(value="N/A")),
        _item("value-null", _entry(value=None)),
        _item("value-bool", _entry(value=True)),
        _item("value-nan", _entry(value=float("nan"))),
        _item("value-inf", _entry(value=float("inf"))),
        _item("no-dataset", _entry(dataset=_DROP)),
        _item("no-task", _entry(dataset={"id": DATASET})),
        _item("data-string", "gpqa 78.8"),
        _item("verified-string", _entry(), verified="yes"),
        {**_item("filename-number", _entry()), "filename": 42},
        _item("notes-megabyte", _entry(notes="x" * 1_000_000)),
        _item("pr-huge", _entry(), pullRequest=2**70),
        "an item that is not an object",
        _item("unknown-keys", _entry(extra_field=1), another_key={"nested": True}),
    ]


# Entries of an official benchmark's leaderboard that no result of a model
# could give: skipped by the reader and counted in the run's failures.
def odd_leaderboard_entries() -> list[dict[str, Any]]:
    return [
        {"modelId": None, "value": 1.0, MARKER_KEY: LABEL},
        {"value": 2.0, MARKER_KEY: LABEL},
        {"modelId": 7, "value": 3.0, MARKER_KEY: LABEL},
        {"modelId": "llmsync-replay/generated-model", "value": "N/A", MARKER_KEY: LABEL},
        {"modelId": "llmsync-replay/generated-model", "value": None, MARKER_KEY: LABEL},
    ]
