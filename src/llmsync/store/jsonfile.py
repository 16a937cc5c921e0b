"""JSON files as the store writes them: atomically, with a fixed layout (sorted
keys, two spaces of indent), so that one top-level field can be read back
without parsing the whole file."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_json_atomic(path: Path, payload: Any) -> None:
    """Write JSON so that a crash leaves either the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        json.dump(payload, handle, indent=2, sort_keys=True, default=str)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def top_level_string(path: Path, key: str, *, default: str) -> str | None:
    """Top-level `key` of the JSON object in `path`, as text (`default` where
    the object lacks it; None where there is no readable object).

    Read from its one line where `write_json_atomic` wrote the file (which it
    writes whole or not at all): two spaces of indent mark a top-level key, as
    nested keys have more and a JSON string holds no raw newline. A file in
    another layout (a hand edit) is parsed whole. Reading a field of every
    manifest must not parse every one: each lists every raw object."""
    try:
        text = path.read_bytes()
    except OSError:
        return None
    pattern = rb'^  "' + re.escape(key.encode()) + rb'": "([A-Za-z0-9_]*)",?$'
    found = re.search(pattern, text, re.MULTILINE)
    if found is not None:
        return found.group(1).decode()
    try:
        payload = json.loads(text)
    except ValueError:
        return None
    if not isinstance(payload, dict):
        return None
    return str(payload.get(key, default))
