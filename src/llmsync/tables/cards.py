"""Safe model-card parsing.

A model card is a README.md written by anyone who can create a repo. Its YAML
front matter may be missing, unterminated, malformed, huge, typed wrongly or
built to hurt the reader (alias bombs, tags that construct Python objects).
`parse_card` never raises on such input: it returns what it could read and a
status saying why the rest is missing.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

# Card statuses. `no_front_matter` is not a failure: many cards are plain Markdown.
CARD_STATUSES: tuple[str, ...] = ("ok", "no_front_matter", "card_parse_error", "card_too_large")

DEFAULT_MAX_BYTES = 1_000_000

# A legitimate card's front matter has at most a few thousand nodes (model-index
# tables included). The cap counts nodes as if every alias were expanded, which is
# what any consumer walking the data would pay for.
MAX_EXPANDED_NODES = 200_000

_BOM = "\ufeff"
_OPENING = re.compile(r"---[ \t]*\r?\n")
_CLOSING = re.compile(r"^---[ \t]*\r?$", re.MULTILINE)


class FrontMatterTooComplex(yaml.YAMLError):
    """The front matter would expand past MAX_EXPANDED_NODES (or is self-referencing)."""


@dataclass(frozen=True)
class ParsedCard:
    front_matter: dict[str, Any]
    status: str
    detail: str | None
    sha256: str


class _GuardedLoader(yaml.SafeLoader):
    """SafeLoader that refuses documents whose alias expansion is too large.

    Composing YAML is linear in the input (an alias is a reference to the node
    already built), so the bomb only goes off when the node graph is turned into
    Python objects or walked. The expanded size is measured on the node graph
    first and the document is refused before construction.
    """

    def get_single_data(self) -> Any:
        node = self.get_single_node()
        if node is None:
            return None
        _check_expanded_size(node, limit=MAX_EXPANDED_NODES)
        return self.construct_document(node)


def _check_expanded_size(root: yaml.Node, *, limit: int) -> None:
    """Raise FrontMatterTooComplex if `root` expands to more than `limit` nodes.

    Iterative post-order walk with a memo per node: a shared (aliased) node is
    measured once, yet counted every time it is referenced.
    """
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if key in sizes:
            continue
        children = _children(node)
        if children_done:
            on_path.discard(key)
            total = 1 + sum(sizes[id(child)] for child in children)
            if total > limit:
                raise FrontMatterTooComplex(f"front matter expands to over {limit} YAML nodes")
            sizes[key] = total
            continue
        if key in on_path:
            raise FrontMatterTooComplex("front matter refers to itself through an alias")
        on_path.add(key)
        stack.append((node, True))
        for child in children:
            if id(child) in on_path:
                raise FrontMatterTooComplex("front matter refers to itself through an alias")
            if id(child) not in sizes:
                stack.append((child, False))


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def parse_card(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> ParsedCard:
    """Read a model card's YAML front matter without trusting its bytes."""
    sha256 = hashlib.sha256(data).hexdigest()
    if len(data) > max_bytes:
        return ParsedCard(
            {},
            "card_too_large",
            f"card is {len(data)} bytes, over the {max_bytes}-byte cap; its fields were skipped",
            sha256,
        )
    text, notes = _decode(data)
    block, why_none = _front_matter_block(text)
    if block is None:
        return ParsedCard({}, "no_front_matter", _join(why_none, *notes), sha256)
    if "\x00" in block:
        # The YAML reader rejects NUL outright; a stray NUL should not cost every field.
        block = block.replace("\x00", "")
        notes.append("NUL bytes removed from the front matter")
    try:
        # _GuardedLoader is a SafeLoader: no tag can build a Python object.
        loaded = yaml.load(block, Loader=_GuardedLoader)
    except (yaml.YAMLError, RecursionError) as exc:
        return ParsedCard({}, "card_parse_error", _join(_yaml_error(exc), *notes), sha256)
    if loaded is None:
        loaded = {}
    if not isinstance(loaded, dict):
        detail = f"front matter is a YAML {type(loaded).__name__}, not a mapping"
        return ParsedCard({}, "card_parse_error", _join(detail, *notes), sha256)
    front_matter = {str(key): value for key, value in loaded.items()}
    return ParsedCard(front_matter, "ok", _join(None, *notes), sha256)


def _decode(data: bytes) -> tuple[str, list[str]]:
    notes: list[str] = []
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("utf-8", errors="replace")
        notes.append("card is not valid UTF-8; undecodable bytes were replaced")
    return text.removeprefix(_BOM), notes


def _front_matter_block(text: str) -> tuple[str | None, str | None]:
    """The YAML between an opening `---` line and the next `---` line."""
    opening = _OPENING.match(text)
    if opening is None:
        return None, None
    closing = _CLOSING.search(text, opening.end())
    if closing is None:
        return None, "card opens a front matter block with '---' but never closes it"
    return text[opening.end() : closing.start()], None


def _yaml_error(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "front matter is nested too deeply"
    if isinstance(exc, FrontMatterTooComplex):
        return f"front matter refused: {exc}"
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem:
        where = f" at line {exc.problem_mark.line + 1}" if exc.problem_mark else ""
        return f"front matter is not valid YAML: {exc.problem[:200]}{where}"
    # Other messages may quote the offending text; keep the first line, bounded.
    lines = str(exc).strip().splitlines() or [type(exc).__name__]
    return f"front matter is not valid YAML: {lines[0][:200]}"


def _join(first: str | None, *rest: str) -> str | None:
    parts = [part for part in (first, *rest) if part]
    return "; ".join(parts) if parts else None


# Normalisers for fields that cards type inconsistently.


def as_string_list(value: Any) -> list[str]:
    """A list of strings: a lone string becomes a one-element list, non-strings drop."""
    if isinstance(value, str):
        return [value.strip()] if value.strip() else []
    if isinstance(value, list | tuple):
        return [item.strip() for item in value if isinstance(item, str) and item.strip()]
    return []


def as_string(value: Any) -> str | None:
    """One string: a list of strings is joined with ', ' (cards sometimes list licences)."""
    items = as_string_list(value)
    return ", ".join(items) if items else None


# model-index -> CARD_EVAL rows.


def card_evals(front_matter: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One CARD_EVAL row per metric in `model-index`; malformed parts are skipped."""
    return model_index_evals(front_matter.get("model-index"))


def model_index_evals(model_index: Any) -> list[dict[str, Any]]:
    """CARD_EVAL rows from a `model-index` value (a card's or the Hub API's)."""
    rows: list[dict[str, Any]] = []
    if not isinstance(model_index, list):
        return rows
    for entry in model_index:
        if not isinstance(entry, dict):
            continue
        model_name = _text(entry.get("name"))
        results = entry.get("results")
        if not isinstance(results, list):
            continue
        for result in results:
            if isinstance(result, dict):
                rows.extend(_result_rows(model_name, result))
    return rows


def _result_rows(model_name: str | None, result: Mapping[str, Any]) -> list[dict[str, Any]]:
    task = _mapping(result.get("task"))
    dataset = _mapping(result.get("dataset"))
    source = _mapping(result.get("source"))
    metrics = result.get("metrics")
    if not isinstance(metrics, list):
        return []
    common = {
        "model_name": model_name,
        "task_type": _text(task.get("type")),
        "task_name": _text(task.get("name")),
        "dataset_type": _text(dataset.get("type")),
        "dataset_name": _text(dataset.get("name")),
        "dataset_config": _text(dataset.get("config")),
        "dataset_split": _text(dataset.get("split")),
        "source_name": _text(source.get("name")),
        "source_url": _text(source.get("url")),
    }
    rows = []
    for metric in metrics:
        if not isinstance(metric, dict):
            continue
        rows.append(
            {
                **common,
                "metric_type": _text(metric.get("type")),
                "metric_name": _text(metric.get("name")),
                "metric_value": _number(metric.get("value")),
            }
        )
    return rows


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    # Numbers appear where strings belong (`config: 2023`); bools and containers do not.
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if not isinstance(value, int | float | str):
        return None
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None
