"""Ctrl-C during `llmsync sync`: SIGINT to the whole process group, as a
terminal sends it, at a few stages, on the --no-prefect path and through
Prefect with its temporary server. Each time: exit 130, no traceback, the run
recorded as `interrupted`, nothing published, no process of the group left."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from llmsync import cli_interrupt
from llmsync.replay.server import ReplayHub

pytestmark = pytest.mark.slow


def _start(hub: ReplayHub, data_dir: Path, *extra: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    command = [sys.executable, "-m", "llmsync.cli", "sync", "--hub", hub.url]
    return subprocess.Popen(
        [*command, "--data-dir", str(data_dir), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a terminal's job
        env=env,
    )


def _wait_for(process: subprocess.Popen[str], text: str) -> list[str]:
    assert process.stderr is not None
    seen = []
    for line in process.stderr:
        seen.append(line)
        if text in line:
            return seen
    raise AssertionError(f"the sync ended before printing {text!r}: {seen}")


def _group_gone(pgid: int) -> bool:
    """Whether every process of the group has exited (the Prefect server too);
    given a moment, as the kernel reaps them."""
    for _ in range(100):
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


def _interrupt(process: subprocess.Popen[str], *, times: int = 1) -> tuple[int, str]:
    for _ in range(times):
        os.killpg(process.pid, signal.SIGINT)
    out, err = process.communicate(timeout=60)
    return process.returncode, out + err


def _assert_stopped_cleanly(returncode: int, said: str, data_dir: Path) -> None:
    assert returncode == 130, said
    assert "Traceback" not in said and "KeyboardInterrupt" not in said, said
    assert said.rstrip().splitlines()[-1].startswith("llmsync: interrupted"), said
    records = [json.loads(p.read_text()) for p in (data_dir / "runs").glob("*.json")]
    assert [(r["status"], r["reason"]) for r in records] == [
        ("interrupted", "interrupted (Ctrl-C)")
    ]
    assert not list((data_dir / "processed").glob("snapshot=*"))


@pytest.mark.parametrize("stage", ["fetch leaderboards ...", "build tables ..."])
def test_one_sigint_stops_a_sync_without_prefect(
    stage: str, replay_hub: ReplayHub, tmp_path: Path
) -> None:
    process = _start(replay_hub, tmp_path / "data", "--no-prefect")
    _wait_for(process, stage)
    returncode, said = _interrupt(process)
    _assert_stopped_cleanly(returncode, said, tmp_path / "data")
    assert _group_gone(process.pid)


class _Exited(BaseException):
    """Stands in for the process's end: `os._exit` cannot be watched from inside."""


def test_a_second_sigint_while_stopping_exits_at_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Two SIGINTs sent to a process may reach it as one: the handler is driven
    # directly, the second arriving while the first is still stopping the run.
    exits: list[int] = []

    def exit_now(code: int) -> None:
        exits.append(code)
        raise _Exited

    monkeypatch.setattr(cli_interrupt.os, "_exit", exit_now)
    stopper = cli_interrupt.StopOnInterrupt(tmp_path)
    finished: list[str] = []

    def stop_slowly() -> str:
        stopper._on_sigint(signal.SIGINT, None)  # the second Ctrl-C, mid-stop
        finished.append("the stop went on")
        return "stopped"

    monkeypatch.setattr(stopper, "_stop", stop_slowly)
    with pytest.raises(_Exited):
        stopper._on_sigint(signal.SIGINT, None)
    # The second exited at once (the stop never went on), then the first as usual.
    assert exits == [130, 130]
    assert finished == []


def test_one_sigint_stops_a_prefect_sync_and_its_temporary_server(
    replay_hub: ReplayHub, tmp_path: Path
) -> None:
    # No PREFECT_API_URL: the sync starts a temporary Prefect server of its own,
    # in its process group, so the terminal's SIGINT reaches it too.
    process = _start(replay_hub, tmp_path / "data", "-v")
    _wait_for(process, "fetch leaderboards ...")
    returncode, said = _interrupt(process)
    _assert_stopped_cleanly(returncode, said, tmp_path / "data")
    assert _group_gone(process.pid), "a process of the sync's group is still running"
