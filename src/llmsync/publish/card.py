"""The dataset card (`README.md`) llmsync writes to a Hub dataset repo.

What the data is, where it comes from, each table with its columns (from the
one schema definition), the snapshot list, and a `configs:` block with one
config per table pointing at the newest snapshot's file, so the dataset viewer
and `datasets.load_dataset(repo, "scores")` read the newest snapshot while a
tag pins any older one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from llmsync.publish.base import snapshot_folder
from llmsync.store.snapshots import TABLE_NAMES
from llmsync.tables.schemas import TABLES

CARD_NAME = "README.md"

# The upstream sources a snapshot is built from, and what their licences are.
# llmsync records no licence of the leaderboards' datasets: the card names each
# repo, whose own card states its terms; each model's licence is its row's.
_SOURCES = (
    "- Open LLM Leaderboard v1 and v2 result exports "
    "(`open-llm-leaderboard/contents` and its predecessor), every commit of their history",
    "- OpenEvals leaderboard data and the official benchmarks listed on the Hub",
    "- each tracked model repo's Hub metadata, model card front matter and eval results",
    "- llmsync's reviewed curated article metadata (`catalog`'s `stated_*` columns)",
)


def dataset_card(
    repo_id: str, *, snapshot_ids: Sequence[str], manifest: Mapping[str, Any]
) -> bytes:
    """The card's bytes: YAML front matter (`configs:`, at the newest of
    `snapshot_ids`) and the markdown body; the tables' row counts are those of
    `manifest`, the snapshot being committed (an older one in a backfill)."""
    folder = snapshot_folder(max(snapshot_ids))
    described = str(manifest.get("snapshot_id"))
    tables = [name for name in TABLE_NAMES if name in manifest.get("tables", {})]
    front = {
        "pretty_name": f"llmsync snapshots ({repo_id})",
        "tags": ["llmsync", "leaderboard", "llm", "evaluation"],
        # The Hub's card metadata takes one licence for the repo; the data's
        # rows carry each upstream item's own (see "Sources and licences").
        "license": "other",
        "configs": [
            {
                "config_name": name,
                "data_files": [{"split": "train", "path": f"{folder}/{name}.parquet"}],
                **({"default": True} if position == 0 else {}),
            }
            for position, name in enumerate(tables)
        ],
    }
    lines = [
        "---",
        yaml.safe_dump(front, sort_keys=False).rstrip(),
        "---",
        "",
        f"# llmsync snapshots: `{repo_id}`",
        "",
        "Open LLM metadata and leaderboard scores from the Hugging Face Hub, as versioned "
        "Parquet snapshots written by llmsync. Each snapshot is one "
        "commit and a tag named with its id: read `hf://datasets/"
        f"{repo_id}@<snapshot id>/snapshot=<snapshot id>/<table>.parquet` to pin one. "
        "This card and its `configs:` point at the newest snapshot.",
        "",
        "## Sources and licences",
        "",
        *_SOURCES,
        "",
        "Each source keeps its own terms: the leaderboards' datasets those stated on "
        "their Hub pages, each model the licence in its `models.license` row. Check them "
        "before reuse.",
        "",
        "## Tables",
        "",
    ]
    for name in tables:
        entry = manifest["tables"][name]
        rows = int(entry.get("rows", 0))
        lines.append(f"### `{name}` ({rows:,} rows in snapshot `{described}`)")
        lines.append("")
        lines.append(f"Key: {', '.join(f'`{column}`' for column in TABLES[name].key)}")
        lines.append("")
        lines.append("| column | type |")
        lines.append("|---|---|")
        lines += [f"| `{item.name}` | `{item.type}` |" for item in TABLES[name].schema]
        lines.append("")
    lines += ["## Snapshots", "", "| snapshot | tag |", "|---|---|"]
    lines += [f"| `{sid}` | `{sid}` |" for sid in sorted(snapshot_ids, reverse=True)]
    lines.append("")
    return "\n".join(lines).encode("utf-8")
