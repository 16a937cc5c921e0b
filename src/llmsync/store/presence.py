"""Whether a data folder holds llmsync data, said one way for every command
that reads one (`snapshots`, `verify`, `report`)."""

from __future__ import annotations

from pathlib import Path

DATA_DIR_HINT = (
    "run `llmsync sync --hub replay` to make a first snapshot (offline), "
    "or choose the folder with --data-dir or LLMSYNC_DATA_DIR"
)


def data_dir_problem(data_dir: Path) -> str | None:
    """Why `data_dir` holds no llmsync data (None when it holds some): one
    wording for every command that reads it, with the absolute path."""
    folder = data_dir.expanduser().absolute()
    if not folder.exists():
        why = "no such folder"
    elif not folder.is_dir():
        why = "not a folder"
    elif not any((folder / "runs").glob("*.json")) and not any(
        (folder / "processed").glob("snapshot=*")
    ):
        why = "no sync has run there"
    else:
        return None
    return f"no llmsync data in {folder} ({why}): {DATA_DIR_HINT}"
