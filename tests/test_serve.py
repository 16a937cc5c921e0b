"""schedules.yaml -> deployments, and a real `prefect deployment run sync/nightly`."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from llmsync_flows.serve import ScheduleFileError, load_schedules, to_deployment

from tests.test_population_sync import POPULATION_MODELS

REPO_ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def test_nightly_is_declared_with_its_cron() -> None:
    specs = {spec.name: spec for spec in load_schedules(REPO_ROOT / "schedules.yaml")}
    nightly = specs["nightly"]
    assert (nightly.cron, nightly.timezone) == ("0 3 * * *", "UTC")
    assert nightly.parameters == {
        "population": "leaderboards",
        "reconcile_days": 7,
        "max_row_loss": 0.1,
        "allow_row_loss": False,
    }
    deployment = to_deployment(nightly)
    assert deployment.name == "nightly"
    assert deployment.entrypoint == "llmsync_flows.sync.sync"
    assert [s.schedule.cron for s in deployment.schedules or []] == ["0 3 * * *"]  # type: ignore[union-attr]


def test_bad_schedule_files_say_what_is_wrong(tmp_path: Path) -> None:
    path = tmp_path / "schedules.yaml"
    path.write_text("deployments:\n  - name: nightly\n    crom: '0 3 * * *'\n")
    with pytest.raises(ScheduleFileError, match=r"unknown key.*crom"):
        load_schedules(path)
    path.write_text("deployments: []\n")
    with pytest.raises(ScheduleFileError, match="non-empty"):
        load_schedules(path)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(url: str, *, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer in {seconds}s")


def _stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture()
def prefect_server(tmp_path: Path) -> Iterator[dict[str, str]]:
    port = _free_port()
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_UI_ENABLED": "false",
    }
    server = subprocess.Popen(
        [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        _wait_for(f"http://127.0.0.1:{port}/api/health", seconds=120)
        yield env
    finally:
        _stop(server)


def _prefect(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "prefect"), *args], env=env, capture_output=True, text=True, timeout=300
    )


def _serve(env: dict[str, str], schedules: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(BIN / "llmsync"), "serve", "--schedules", str(schedules)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def _wait_for_deployment(env: dict[str, str], *, contains: str) -> str:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        inspect = _prefect(env, "deployment", "inspect", "sync/nightly")
        if inspect.returncode == 0 and contains in inspect.stdout:
            return inspect.stdout
        time.sleep(1)
    raise TimeoutError(f"sync/nightly never showed {contains!r}")


@pytest.mark.slow
def test_deployment_run_writes_a_snapshot(prefect_server: dict[str, str], tmp_path: Path) -> None:
    replay = subprocess.Popen(
        # As the README's offline recipe starts it: the nightly fetches every
        # leaderboard repo, which only the population mode serves.
        [str(BIN / "llmsync"), "replay-hub", "--port", "0", "--population"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert replay.stdout is not None
    hub_url = replay.stdout.readline().strip()
    assert hub_url.startswith("http://127.0.0.1:")
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    env = {**prefect_server, "HF_ENDPOINT": hub_url, "LLMSYNC_DATA_DIR": str(data_dir)}
    # The repository's schedules.yaml as it is: the nightly syncs the
    # leaderboards' whole population, unpaced (the replay sends no RateLimit headers).
    schedules = tmp_path / "schedules.yaml"
    nightly = (REPO_ROOT / "schedules.yaml").read_text(encoding="utf-8")
    assert nightly.count("population: leaderboards") == 1
    schedules.write_text(nightly)
    serve = _serve(env, schedules)
    try:
        assert "0 3 * * *" in _wait_for_deployment(env, contains="nightly")
        run = _prefect(env, "deployment", "run", "sync/nightly", "--watch")
        assert run.returncode == 0, run.stdout + run.stderr
        assert "Completed" in run.stdout + run.stderr
        snapshots = list((data_dir / "processed").glob("snapshot=*/catalog.parquet"))
        assert len(snapshots) == 1
        # Every leaderboard repo, one row each (names that differ only in case
        # folded), as the population test counts them.
        models = snapshots[0].parent / "models.parquet"
        assert pq.read_metadata(models).num_rows == POPULATION_MODELS
        # The nightly writes the snapshot's report beside the store.
        snapshot_id = snapshots[0].parent.name.removeprefix("snapshot=")
        assert (data_dir / "reports" / f"{snapshot_id}.html").is_file()

        # Editing schedules.yaml and restarting `llmsync serve` changes the schedule.
        _stop(serve)
        schedules.write_text(schedules.read_text().replace('"0 3 * * *"', '"30 4 * * *"'))
        serve = _serve(env, schedules)
        updated = _wait_for_deployment(env, contains="30 4 * * *")
        assert "0 3 * * *" not in updated
    finally:
        _stop(serve)
        _stop(replay)
