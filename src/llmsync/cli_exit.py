"""The end of an `llmsync` process: once a command has returned, the process
exits without tearing down every module it imported.

Python's finalization frees each module and object in turn: with pyarrow,
pandas, numpy, huggingface_hub and httpx loaded (every sync loads them), that
costs 0.1 to 0.2 s on a two-core machine, after everything the command does
is done (its files written, synced and closed). A nightly sync is short, and
this was a fifth of an unchanged night. The exit handlers still run, logs and
output are flushed; the teardown alone is skipped. A thread still running
(none is, after a command returns) gets Python's usual exit, which waits for it.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import sys
import threading
from typing import NoReturn


def exit_now(code: int) -> NoReturn:
    """End the process with `code` once its work is done (see the module)."""
    others = [
        thread
        for thread in threading.enumerate()
        if thread is not threading.main_thread() and not thread.daemon and thread.is_alive()
    ]
    if others:
        sys.exit(code)
    # What the interpreter would do on its way out, in its order: the exit
    # handlers (the logging module's among them), then the standard streams.
    atexit._run_exitfuncs()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        # A closed pipe is ignored, as Python's own exit ignores it.
        with contextlib.suppress(OSError, ValueError, AttributeError):
            stream.flush()
    os._exit(code)
