"""The `llmsync` program (its console script, and `python -m llmsync`): the
command line's `main`, then the process's end (`cli_exit`)."""

from __future__ import annotations

from typing import NoReturn

from llmsync.cli import main
from llmsync.cli_exit import exit_now


def run() -> NoReturn:
    exit_now(main())


if __name__ == "__main__":
    run()
