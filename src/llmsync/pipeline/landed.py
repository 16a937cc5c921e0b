"""Reading back what a snapshot's models were built from: listing items and
landed objects, checked against their sha256, with no request."""

from __future__ import annotations

from typing import Any

from llmsync.hub.listing import item_bytes, page_items
from llmsync.pipeline.model_fetch import ModelFetch
from llmsync.store.raw import RawObjectError, RawStore


class ListingReader:
    """Items of landed listing pages, each page read (and checked) once."""

    def __init__(self, raw: RawStore) -> None:
        self._raw = raw
        self._pages: dict[str, dict[str, bytes]] = {}

    def item(self, relative: str, *, sha256: str, item_id: str) -> bytes:
        """One item's JSON from a landed page, checked against the page's sha256."""
        page = self._pages.get(relative)
        if page is None:
            data = self._raw.read_object(relative, sha256=sha256)
            page = {str(item["id"]): item_bytes(item) for item in page_items(data)}
            self._pages[relative] = page
        found = page.get(item_id)
        if found is None:
            raise RawObjectError(relative, f"names no item {item_id!r}")
        return found


def fetches_from_manifest(raw: RawStore, manifest: dict[str, Any]) -> dict[str, ModelFetch]:
    """The ModelFetch of every model a snapshot was built from, read back from
    the raw landing (no request). A model whose objects are missing or changed
    is left out: the caller fetches it again."""
    entries: dict[tuple[str, str], dict[str, Any]] = {}
    for entry in manifest.get("raw_objects") or []:
        if entry.get("kind") in ("model_info", "model_listing", "model_card"):
            entries[(str(entry["kind"]), str(entry["repo_id"]))] = entry
    details: dict[str, str] = manifest.get("model_details", {})
    reader = ListingReader(raw)
    fetches: dict[str, ModelFetch] = {}
    for repo_id, model in manifest["sources"]["models"].items():
        try:
            info, info_object, item_id = None, None, None
            entry = entries.get(("model_listing", repo_id)) or entries.get(("model_info", repo_id))
            if entry is not None:
                info_object = raw.check_object(entry["path"], sha256=entry["sha256"])
                if entry["kind"] == "model_listing":
                    item_id = str(entry["item"])
                    info = reader.item(entry["path"], sha256=entry["sha256"], item_id=item_id)
                else:
                    info = info_object.path.read_bytes()
            card, card_object = None, None
            entry = entries.get(("model_card", repo_id))
            if entry is not None:
                card_object = raw.check_object(entry["path"], sha256=entry["sha256"])
                card = card_object.path.read_bytes()
        except (RawObjectError, ValueError, OSError):
            continue
        if model.get("info_sha256") and info is None:
            continue
        status = None if model["status"] == "ok" else model["status"]
        fetches[repo_id] = ModelFetch(
            repo_id,
            info,
            card,
            status,
            details.get(repo_id),
            info_object=info_object,
            card_object=card_object,
            info_item=item_id,
        )
    return fetches
