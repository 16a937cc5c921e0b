"""Reading back what a snapshot's models were built from: each landed object
hashed once per run, however many models share it."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from llmsync.hub.listing import item_bytes
from llmsync.pipeline.landed import fetches_from_manifest
from llmsync.store.raw import RawStore


class CountingStore(RawStore):
    """The real raw store, counting how often each object is read and hashed."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.hashed: Counter[str] = Counter()

    def read_object(self, relative: str, *, sha256: str) -> bytes:
        self.hashed[relative] += 1
        return super().read_object(relative, sha256=sha256)

    def check_object(self, relative: str, *, sha256: str) -> Any:
        self.hashed[relative] += 1
        return super().check_object(relative, sha256=sha256)


def test_a_shared_listing_page_is_hashed_once(tmp_path: Path) -> None:
    raw = CountingStore(tmp_path / "raw")
    items = [{"id": f"jaspionjader/model-{n}", "sha": f"{n:040x}"} for n in range(3)]
    page = raw.put_listing(json.dumps(items).encode())
    card = raw.put(
        "jaspionjader/model-0",
        "README.md",
        b"# card\n",
        repo_type="model",
        revision=items[0]["sha"],
        etag=None,
    )
    entries: list[dict[str, Any]] = [
        {
            "kind": "model_listing",
            "repo_id": item["id"],
            "path": raw.relative(page.path),
            "sha256": page.sha256,
            "item": item["id"],
        }
        for item in items
    ]
    entries.append(
        {
            "kind": "model_card",
            "repo_id": items[0]["id"],
            "path": raw.relative(card.path),
            "sha256": card.sha256,
        }
    )
    manifest = {
        "raw_objects": entries,
        "sources": {"models": {item["id"]: {"status": "ok", "info_sha256": "x"} for item in items}},
    }
    fetches = fetches_from_manifest(raw, manifest)
    assert sorted(fetches) == [item["id"] for item in items]
    assert [fetches[item["id"]].info_json for item in items] == [item_bytes(i) for i in items]
    assert fetches[items[0]["id"]].card == b"# card\n"
    assert {f.info_object for f in fetches.values()} == {page}
    # Three models on one page: the page read and hashed once, the card once.
    assert raw.hashed == {raw.relative(page.path): 1, raw.relative(card.path): 1}
