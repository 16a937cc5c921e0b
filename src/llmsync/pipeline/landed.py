"""Reading back what a snapshot's models were built from: listing items and
landed objects, checked against their sha256, with no request."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from llmsync.hub.landing import StoredObject
from llmsync.hub.listing import item_bytes, page_items
from llmsync.pipeline.model_fetch import ModelFetch
from llmsync.store.raw import RawObjectError, RawStore

T = TypeVar("T")


class ListingReader:
    """Landed objects a manifest names, each read and checked against its
    sha256 once (a listing page is shared by up to 1,000 models); a listing
    page's items parsed once."""

    def __init__(self, raw: RawStore) -> None:
        self._raw = raw
        self._done: dict[tuple[str, str], Any] = {}
        self._failed: dict[tuple[str, str], RawObjectError] = {}

    def _once(self, key: tuple[str, str], load: Callable[[], T]) -> T:
        """`load()`'s result for `key` (how, which object), computed once (a
        failure too: it is raised again without reading the object again)."""
        if key in self._failed:
            raise self._failed[key]
        if key not in self._done:
            try:
                self._done[key] = load()
            except RawObjectError as exc:
                self._failed[key] = exc
                raise
        found: T = self._done[key]
        return found

    def page(self, relative: str, *, sha256: str) -> tuple[StoredObject, dict[str, bytes]]:
        """A landed listing page and its items' JSON by id."""

        def load() -> tuple[StoredObject, dict[str, bytes]]:
            data = self._raw.read_object(relative, sha256=sha256)
            stored = StoredObject(self._raw.object_path(relative), sha256, len(data))
            return stored, {str(item["id"]): item_bytes(item) for item in page_items(data)}

        return self._once(("page", relative), load)

    def item(self, relative: str, *, sha256: str, item_id: str) -> bytes:
        """One item's JSON from a landed page, checked against the page's sha256."""
        found = self.page(relative, sha256=sha256)[1].get(item_id)
        if found is None:
            raise RawObjectError(relative, f"names no item {item_id!r}")
        return found

    def check(self, relative: str, *, sha256: str) -> StoredObject:
        """A landed object, checked against its sha256 (once)."""
        return self._once(
            ("object", relative), lambda: self._raw.check_object(relative, sha256=sha256)
        )


def fetches_from_manifest(raw: RawStore, manifest: dict[str, Any]) -> dict[str, ModelFetch]:
    """The ModelFetch of every model a snapshot was built from, read back from
    the raw landing (no request), each object hashed once. A model whose
    objects are missing or changed is left out: the caller fetches it again."""
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
            if entry is not None and entry["kind"] == "model_listing":
                item_id = str(entry["item"])
                info_object = reader.page(entry["path"], sha256=entry["sha256"])[0]
                info = reader.item(entry["path"], sha256=entry["sha256"], item_id=item_id)
            elif entry is not None:
                info_object = reader.check(entry["path"], sha256=entry["sha256"])
                info = info_object.path.read_bytes()
            card, card_object = None, None
            entry = entries.get(("model_card", repo_id))
            if entry is not None:
                card_object = reader.check(entry["path"], sha256=entry["sha256"])
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
