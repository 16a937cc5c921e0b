"""A progress line on a terminal for a long fetch (the CLI's view of the
`FetchProgress` reports a population fetch sends)."""

from __future__ import annotations

import time
from typing import TextIO

from llmsync.pipeline.fetchplan import FetchProgress


class ProgressLine:
    """One self-rewriting stderr line for a long fetch: done/total, rate, ETA
    and the time spent waiting for the rate limit (plain lines when stderr is
    not a terminal, at most one every 10 s)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._tty = bool(getattr(stream, "isatty", lambda: False)())
        self._open = False
        self._last = 0.0

    def message(self, text: str) -> None:
        self._end_line()
        print(text, file=self._stream, flush=True)

    def update(self, progress: FetchProgress) -> None:
        now = time.monotonic()
        finished = progress.done >= progress.total
        if not self._tty and now - self._last < 10 and not finished:
            return
        self._last = now
        elapsed = max(progress.elapsed_seconds, 1e-9)
        rate = progress.requests / elapsed
        share = progress.done / progress.total if progress.total else 1.0
        eta = f"{(1 - share) * elapsed / share:.0f}s" if 0 < share < 1 else "-"
        text = (
            f"  {progress.phase}: {progress.done:,}/{progress.total:,} "
            f"({rate:.0f} req/s, ETA {eta}, waited for rate limit {progress.waited_seconds:.0f}s)"
        )
        if self._tty:
            self._stream.write("\r\x1b[2K" + text)
            self._stream.flush()
            self._open = True
        else:
            print(text, file=self._stream, flush=True)

    def _end_line(self) -> None:
        if self._open:
            self._stream.write("\n")
            self._open = False

    def close(self) -> None:
        self._end_line()
