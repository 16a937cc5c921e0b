"""Ctrl-C during `llmsync sync`: a clean stop, on the Prefect path and without it.

The first SIGINT records the run as `interrupted`, stops the temporary Prefect
server if this process started one, says so in one line and exits with 130,
at once: nothing is half-published, as a snapshot appears by one rename and
raw objects land by rename too (what a stop leaves in `.staging/` or
`.incoming/`, the next sync removes). Unwinding through Prefect instead would
report the crash to a server that the same Ctrl-C has just stopped (it is in
the terminal's process group), and its client retries for minutes. A second
SIGINT, while the first is being handled, exits at once.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from types import FrameType

# The shell's convention for a process ended by SIGINT: 128 + 2.
EXIT_INTERRUPTED = 130


class StopOnInterrupt:
    """While active, SIGINT ends the sync as the module says."""

    def __init__(self, data_dir: Path) -> None:
        self._data_dir = data_dir
        self._stopping = False

    def install(self) -> None:
        signal.signal(signal.SIGINT, self._on_sigint)

    def _on_sigint(self, signum: int, frame: FrameType | None) -> None:
        if self._stopping:
            os._exit(EXIT_INTERRUPTED)
        self._stopping = True
        try:
            said = self._stop()
        except BaseException as exc:  # whatever stopping met, the exit below must happen
            said = f"interrupted ({type(exc).__name__} while stopping: {exc})"
        print(f"\nllmsync: {said}", file=sys.stderr, flush=True)
        sys.stdout.flush()
        os._exit(EXIT_INTERRUPTED)

    def _stop(self) -> str:
        from llmsync.store.snapshots import SnapshotStore

        runs = SnapshotStore(self._data_dir).interrupt_runs(reason="interrupted (Ctrl-C)")
        _stop_temporary_prefect_server()
        recorded = f"; run {', '.join(runs)} recorded as interrupted" if runs else ""
        return f"interrupted: nothing published{recorded}"


def _stop_temporary_prefect_server() -> None:
    """Stop the Prefect API server this process started for itself, if any
    (`prefect server start` elsewhere is left alone)."""
    server_module = sys.modules.get("prefect.server.api.server")
    if server_module is None:
        return
    for server in list(server_module.SubprocessASGIServer._instances.values()):
        server.stop()
