"""The raw landing: validated paths, objects never rewritten, hashes recorded
on landing and checked on every read, changed objects set aside."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import pytest

from llmsync.hub.ids import InvalidIdError
from llmsync.replay.recordings import RecordingStore
from llmsync.store.raw import (
    CorruptObject,
    LandingConflict,
    MissingObject,
    RawStore,
)
from tests.recording_edits import recorded_file

DOLLY = "databricks/dolly-v2-12b"
DOLLY_SHA = "19308160448536e378e3db21a73a751579ee7fdd"
CARD = "README.md"


@pytest.fixture(scope="module")
def dolly_card(recordings_dir: Path) -> bytes:
    return recorded_file(recordings_dir, repo_id=DOLLY, path=CARD)


@pytest.fixture(scope="module")
def dolly_info(recordings_dir: Path) -> bytes:
    store = RecordingStore.load(recordings_dir)
    digest = store.repos[f"model/{DOLLY}"].head.api_info
    assert digest is not None
    return store.blob_bytes(digest)


def _edited_licence(card: bytes) -> bytes:
    assert b"license: mit" in card
    return card.replace(b"license: mit", b"license: apache-2.0", 1)


def _put_card(raw: RawStore, data: bytes) -> Path:
    return raw.put(DOLLY, CARD, data, repo_type="model", revision=DOLLY_SHA).path


def test_raw_store_refuses_escapes(tmp_path: Path) -> None:
    raw = RawStore(tmp_path / "raw")
    for repo_id, path, revision in (
        ("a/b", "../x", "main"),
        ("a/b", "/etc/passwd", "main"),
        ("a/b", "x//y", "main"),
        ("../a", "x", "main"),
        ("a/b", "x", "../main"),
        ("a/b", "x\\y", "main"),
    ):
        with pytest.raises(InvalidIdError):
            raw.put(repo_id, path, b"x", repo_type="model", revision=revision)
    landed = raw.put("a/b", "dir/file.txt", b"exact", repo_type="dataset", revision="main")
    assert landed.path == tmp_path / "raw" / "datasets" / "a" / "b" / "main" / "dir" / "file.txt"
    assert landed.path.read_bytes() == b"exact"
    assert landed.sha256 == hashlib.sha256(b"exact").hexdigest()
    # A branch moves: what landed under it is never handed back as current.
    assert raw.get("a/b", "dir/file.txt", repo_type="dataset", revision="main") is None
    assert [p.name for p in landed.path.parent.iterdir()] == ["file.txt"]
    # A manifest's path is read only inside the object trees.
    for relative in (
        "../x",
        "/etc/passwd",
        ".records/datasets/a/b/main/dir/file.txt",
        ".corrupt/x/datasets/a/b/main",
        "datasets/a",
        "api-info/models/../../x",
    ):
        with pytest.raises(InvalidIdError):
            raw.read_object(relative, sha256=landed.sha256)
    with pytest.raises(InvalidIdError):
        raw.api_info_path("a/b", revision="main", sha256="../" + "0" * 61)


def test_a_landed_object_is_never_rewritten(tmp_path: Path, dolly_card: bytes) -> None:
    raw = RawStore(tmp_path)
    path = _put_card(raw, dolly_card)
    before = path.stat()
    # The same bytes again: the object stays as it is (same file, untouched).
    again = raw.put(DOLLY, CARD, dolly_card, repo_type="model", revision=DOLLY_SHA)
    assert again.path == path
    assert (path.stat().st_ino, path.stat().st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    # Other bytes at an immutable commit's path are refused, not written over.
    with pytest.raises(LandingConflict, match="never rewritten"):
        _put_card(raw, _edited_licence(dolly_card))
    assert path.read_bytes() == dolly_card
    record = json.loads((tmp_path / ".records" / raw.relative(path)).read_text())
    assert record["sha256"] == hashlib.sha256(dolly_card).hexdigest()
    assert record["size"] == len(dolly_card) == 10_746


def test_api_bodies_of_one_commit_are_objects_of_their_own(
    tmp_path: Path, dolly_info: bytes
) -> None:
    raw = RawStore(tmp_path)
    first = raw.put_api_info(DOLLY, dolly_info, revision=DOLLY_SHA)
    liked = dolly_info.replace(b'"likes":1955', b'"likes":2055', 1)
    assert liked != dolly_info
    second = raw.put_api_info(DOLLY, liked, revision=DOLLY_SHA)
    assert first.path != second.path
    assert (
        first.path.parent
        == second.path.parent
        == (tmp_path / "api-info" / "models" / DOLLY / DOLLY_SHA)
    )
    assert first.path.name == f"{hashlib.sha256(dolly_info).hexdigest()}.json"
    assert first.path.read_bytes() == dolly_info
    assert second.path.read_bytes() == liked
    assert raw.stored(first.path) == first
    assert raw.put_api_info(DOLLY, dolly_info, revision=DOLLY_SHA) == first


def test_a_file_changed_on_disk_is_set_aside(
    tmp_path: Path, dolly_card: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    raw = RawStore(tmp_path)
    path = _put_card(raw, dolly_card)
    path.write_bytes(_edited_licence(dolly_card))
    with caplog.at_level(logging.WARNING, logger="llmsync.store.raw"):
        assert raw.get(DOLLY, CARD, repo_type="model", revision=DOLLY_SHA) is None
    assert not path.exists()
    (aside,) = (tmp_path / ".corrupt").glob(f"*/models/{DOLLY}/{DOLLY_SHA}/{CARD}")
    assert aside.read_bytes() == _edited_licence(dolly_card)
    assert aside.with_name(f"{CARD}.record.json").is_file()
    relative = f"models/{DOLLY}/{DOLLY_SHA}/{CARD}"
    assert f"raw object {relative} no longer has the bytes it landed with" in caplog.text
    assert raw.relative(aside) in caplog.text
    # Fetched again, it lands as it first did.
    assert _put_card(raw, dolly_card) == path
    stored = raw.get(DOLLY, CARD, repo_type="model", revision=DOLLY_SHA)
    assert stored is not None and stored.sha256 == hashlib.sha256(dolly_card).hexdigest()


def test_a_changed_api_body_is_set_aside_when_it_lands_again(
    tmp_path: Path, dolly_info: bytes
) -> None:
    raw = RawStore(tmp_path)
    first = raw.put_api_info(DOLLY, dolly_info, revision=DOLLY_SHA)
    first.path.write_bytes(dolly_info.replace(b'"likes":1955', b'"likes":1', 1))
    with pytest.raises(CorruptObject):
        raw.stored(first.path)
    again = raw.put_api_info(DOLLY, dolly_info, revision=DOLLY_SHA)
    assert again == first and again.path.read_bytes() == dolly_info
    assert len(list((tmp_path / ".corrupt").rglob("*.json"))) == 1


def test_a_file_without_a_record_is_compared_when_it_lands(
    tmp_path: Path, dolly_card: bytes
) -> None:
    """What an older llmsync landed (no record) is not trusted until the same
    bytes come from the Hub again; then it is kept, never rewritten."""
    raw = RawStore(tmp_path)
    path = raw.path_for(DOLLY, CARD, repo_type="model", revision=DOLLY_SHA)
    path.parent.mkdir(parents=True)
    path.write_bytes(dolly_card)
    inode = path.stat().st_ino
    assert raw.get(DOLLY, CARD, repo_type="model", revision=DOLLY_SHA) is None
    assert _put_card(raw, dolly_card) == path
    assert path.stat().st_ino == inode
    assert raw.get(DOLLY, CARD, repo_type="model", revision=DOLLY_SHA) is not None
    # An unrecorded file with other bytes is set aside for the Hub's.
    other = raw.path_for(DOLLY, "config.json", repo_type="model", revision=DOLLY_SHA)
    other.write_bytes(b"{}\n")
    landed = raw.put(DOLLY, "config.json", b'{"a": 1}\n', repo_type="model", revision=DOLLY_SHA)
    assert landed.path.read_bytes() == b'{"a": 1}\n'
    (aside,) = (tmp_path / ".corrupt").glob("*/models/*/*/*/config.json")
    assert aside.read_bytes() == b"{}\n"


def test_offline_reads_name_the_object(tmp_path: Path, dolly_card: bytes) -> None:
    raw = RawStore(tmp_path)
    path = _put_card(raw, dolly_card)
    relative = raw.relative(path)
    digest = hashlib.sha256(dolly_card).hexdigest()
    assert raw.read_object(relative, sha256=digest) == dolly_card
    path.write_bytes(_edited_licence(dolly_card))
    with pytest.raises(CorruptObject, match=f"raw object {relative}: sha256 is"):
        raw.read_object(relative, sha256=digest)
    with pytest.raises(CorruptObject, match=relative):
        raw.check_object(relative, sha256=digest)
    # Offline reads never move anything: the next sync sets it aside.
    assert path.is_file() and not (tmp_path / ".corrupt").exists()
    path.unlink()
    with pytest.raises(MissingObject, match=f"raw object {relative}: missing"):
        raw.check_object(relative, sha256=digest)
