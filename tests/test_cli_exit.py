"""The end of an `llmsync` process (`cli_exit.exit_now`): the exit code, the
output, the exit handlers and the logs are all kept; a thread still at work
gets Python's usual exit, which waits for it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

_PROGRAM = """
import atexit, logging, sys, threading, time
from pathlib import Path
from llmsync.cli_exit import exit_now

out = Path(sys.argv[1])
atexit.register(lambda: (out / "atexit").write_text("ran"))
log = logging.getLogger("llmsync.exit-test")
log.addHandler(logging.FileHandler(out / "log"))
log.warning("logged before the end")
if sys.argv[2] == "thread":
    def work() -> None:
        time.sleep(0.2)
        (out / "thread").write_text("finished")
    threading.Thread(target=work).start()
print("printed, not flushed", end="")
exit_now(3)
"""


def _run(tmp_path: Path, mode: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _PROGRAM, str(tmp_path), mode],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_end_keeps_the_code_the_output_the_handlers_and_the_logs(tmp_path: Path) -> None:
    done = _run(tmp_path, "alone")
    assert (done.returncode, done.stdout) == (3, "printed, not flushed")
    assert (tmp_path / "atexit").read_text() == "ran"
    assert (tmp_path / "log").read_text() == "logged before the end\n"


def test_a_thread_still_at_work_is_waited_for(tmp_path: Path) -> None:
    done = _run(tmp_path, "thread")
    assert done.returncode == 3
    assert (tmp_path / "thread").read_text() == "finished"
    assert (tmp_path / "atexit").read_text() == "ran"
