"""Installed as a user installs it: a wheel, a fresh venv, commands run from a
folder that is not the checkout.

This is the test that catches package data left out of the wheel, a module
that reaches into the source tree, or an import that is not declared.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def _clean_env(**extra: str) -> dict[str, str]:
    # Nothing of the checkout or the test venv may leak into the installed one.
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"PYTHONPATH", "VIRTUAL_ENV", "LLMSYNC_CURATED", "LLMSYNC_DATA_DIR"}
        and not key.startswith("PREFECT_API")
    }
    env.update(
        DO_NOT_TRACK="1",
        HF_HUB_DISABLE_TELEMETRY="1",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="120",
        PREFECT_HOME=extra.pop("PREFECT_HOME"),
        **extra,
    )
    return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the venv's bin folder, a working folder outside the checkout)."""
    root = tmp_path_factory.mktemp("install")
    dist, venv = root / "dist", root / "venv"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(dist), str(REPO)],
        check=True,
        timeout=600,
    )
    wheels = sorted(dist.glob("llmsync-*.whl"))
    assert len(wheels) == 1, wheels
    # A bare venv, filled by this interpreter's pip (`--python`): no pip or
    # setuptools of its own that the installed code could lean on unnoticed,
    # and no copy of pip installed into it just to run once.
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=300
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install",
         "--quiet", str(wheels[0])],
        check=True,
        timeout=1200,
    )  # fmt: skip
    work = root / "elsewhere"
    work.mkdir()
    return venv / "bin", work


def test_the_wheel_installs_our_packages_only(installed: tuple[Path, Path]) -> None:
    bin_dir, work = installed
    probe = (
        "import importlib.util, llmsync, llmsync_flows.sync;"
        "print(llmsync.__version__);"
        "print(llmsync.__file__);"
        "print(importlib.util.find_spec('flows'))"
    )
    result = subprocess.run(
        [str(bin_dir / "python"), "-c", probe],
        cwd=work,
        capture_output=True,
        text=True,
        env=_clean_env(PREFECT_HOME=str(work / ".prefect")),
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    version, location, flows_spec = result.stdout.splitlines()
    assert version == "0.2.0"
    assert "site-packages" in location and str(REPO) not in location
    # The deployment entrypoints install as `llmsync_flows`, not a generic `flows`.
    assert flows_spec == "None"


def test_sync_verify_and_serve_from_outside_the_checkout(installed: tuple[Path, Path]) -> None:
    bin_dir, work = installed
    data = work / "data"
    env = _clean_env(PREFECT_HOME=str(work / ".prefect"))

    sync = subprocess.run(
        [str(bin_dir / "llmsync"), "sync", "--hub", "replay", "--data-dir", str(data)],
        cwd=work,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert sync.returncode == 0, sync.stderr[-3000:]
    assert "status: published" in sync.stdout
    (snapshot,) = sorted((data / "processed").glob("snapshot=*"))
    catalog = pq.read_table(snapshot / "catalog.parquet")
    assert catalog.num_rows == 18
    dolly = catalog.filter(pc.equal(catalog["repo_id"], "databricks/dolly-v2-12b"))
    assert dolly["open_llm_v1_average"].to_pylist() == [39.46]
    # The bundled curated file was found inside the installed package.
    assert (data / "raw" / "curated").is_dir()

    verify = subprocess.run(
        [str(bin_dir / "llmsync"), "verify", "--data-dir", str(data)],
        cwd=work,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "catalog: rebuilt from raw, identical" in verify.stdout

    schedules = work / "my-schedules.yaml"
    schedules.write_bytes((REPO / "schedules.yaml").read_bytes())
    missing = subprocess.run(
        [str(bin_dir / "llmsync"), "serve"],
        cwd=work,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert missing.returncode == 2
    assert "no schedules file" in missing.stderr

    serve = subprocess.Popen(
        [str(bin_dir / "llmsync"), "serve", "--schedules", str(schedules)],
        cwd=work,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,
    )
    seen: list[str] = []
    try:
        deadline = time.monotonic() + 240
        assert serve.stdout is not None
        while time.monotonic() < deadline:
            line = serve.stdout.readline()
            if not line:
                break
            seen.append(line)
            if "sync/nightly" in line:
                break
    finally:
        os.killpg(serve.pid, signal.SIGTERM)
        try:
            serve.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(serve.pid, signal.SIGKILL)
    assert any("sync/nightly" in line for line in seen), "".join(seen)[-3000:]
