"""A plain huggingface_hub user against the replay hub: no llmsync import.

Starts the replay hub as a subprocess (`llmsync replay-hub`, or
`python -m llmsync.replay.server` while the console script is not installed),
reads its URL from the first stdout line, points HF_ENDPOINT at it and checks
commits, files, tables, cards and errors at main, at each commit (tables: a
sample of commits) and with `--as-of`, then the whole population (`--population`
with rate limits, a fast Hub clock and small listing pages). Exits 0 and prints
"all checks passed" on success.

    python tests/hub_script_check.py [--recordings DIR] [--no-population]
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

V2 = "open-llm-leaderboard/contents"
V1 = "open-llm-leaderboard-old/contents"
TABLE = "data/train-00000-of-00001.parquet"
DOLLY = "databricks/dolly-v2-12b"
ALPACA = "chavinlo/alpaca-native"
YI = "01-ai/Yi-1.5-34B"
HUB_START = "2025-03-22"  # Hub time starts at midnight after the v2 final export
# (commits, newest, oldest) of each leaderboard's real history, today and as of
# 2024-11-10 (the newest v2 export on or before that day is of 2024-11-09).
HISTORY = {
    None: {V2: (190, "2025-03-21", "2024-07-13"), V1: (17, "2024-07-07", "2023-05-23")},
    "2024-11-10": {V2: (78, "2024-11-09", "2024-07-13"), V1: (17, "2024-07-07", "2023-05-23")},
}
# Tables downloaded: every this many commits, and the oldest.
EVERY = 25


@contextlib.contextmanager
def replay_hub(extra: list[str]) -> Iterator[str]:
    # The console script takes no --recordings: the module does.
    beside = Path(sys.executable).with_name("llmsync")
    script = (
        None
        if "--recordings" in extra
        else (shutil.which("llmsync") or (str(beside) if beside.exists() else None))
    )
    command = (
        [script, "replay-hub"] if script else [sys.executable, "-m", "llmsync.replay.server"]
    ) + ["--port", "0", *extra]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        if not url.startswith("http://"):
            raise SystemExit(f"the replay hub did not print its URL: {url!r}")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def expect(condition: bool, what: str) -> None:
    if not condition:
        raise SystemExit(f"FAILED: {what}")
    print(f"ok  {what}")


def expect_raises(error: type[BaseException], fn: Callable[[], object], what: str) -> None:
    try:
        fn()
    except error:
        print(f"ok  {what}")
        return
    except Exception as exc:
        raise SystemExit(f"FAILED: {what}: raised {type(exc).__name__}: {exc}") from exc
    raise SystemExit(f"FAILED: {what}: nothing raised")


def check_hub(url: str, *, as_of: str | None, cache: Path) -> None:
    # Imported here: huggingface_hub reads HF_ENDPOINT once, at import.
    os.environ["HF_ENDPOINT"] = url
    from huggingface_hub import HfApi, ModelCard, hf_hub_download
    from huggingface_hub.errors import (
        EntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    api = HfApi(endpoint=url, token=False)
    label = f"as of {as_of}" if as_of else "today"

    for repo_id, (count, newest, oldest) in HISTORY[as_of].items():
        commits = api.list_repo_commits(repo_id, repo_type="dataset")
        got = [c.created_at.date().isoformat() for c in commits]
        expect(
            (len(got), got[0], got[-1]) == (count, newest, oldest)
            and got == sorted(set(got), reverse=True),
            f"{label}: {repo_id} has {count} commits, newest first, {newest} .. {oldest}",
        )
        info = api.dataset_info(repo_id)
        expect(info.sha == commits[0].commit_id, f"{label}: {repo_id} main is the newest commit")
        announced = {}
        for commit in commits:
            files = api.list_repo_files(repo_id, repo_type="dataset", revision=commit.commit_id)
            (entry,) = api.get_paths_info(
                repo_id, [TABLE], repo_type="dataset", revision=commit.commit_id
            )
            lfs = getattr(entry, "lfs", None)
            if TABLE in files and lfs is not None:
                announced[commit.commit_id] = lfs.sha256
        expect(
            len(announced) == len(commits),
            f"{label}: every {repo_id} commit has the table, an LFS file",
        )
        for commit in [*commits[::EVERY], commits[-1]]:
            path = hf_hub_download(
                repo_id, TABLE, repo_type="dataset", revision=commit.commit_id, cache_dir=cache
            )
            data = Path(path).read_bytes()
            expect(
                data[:4] == b"PAR1"
                and data[-4:] == b"PAR1"
                and hashlib.sha256(data).hexdigest() == announced[commit.commit_id],
                f"{label}: {repo_id}@{commit.commit_id[:8]} table is a parquet file of the "
                "announced sha256",
            )

    card = ModelCard.load(DOLLY)
    expect(card.data.license == "mit", f"{label}: Dolly's card says license mit")
    expect(api.model_info(DOLLY).id == DOLLY, f"{label}: Dolly's model info")
    expect(
        api.model_info("bert-base-uncased").id == "google-bert/bert-base-uncased",
        f"{label}: the renamed bert-base-uncased redirects",
    )
    expect_raises(
        EntryNotFoundError,
        lambda: hf_hub_download(ALPACA, "README.md", cache_dir=cache),
        f"{label}: alpaca-native has no README.md",
    )
    expect_raises(
        RepositoryNotFoundError,
        lambda: api.model_info("nobody-here/no-such-model"),
        f"{label}: an unknown repo is not found",
    )
    expect_raises(
        RevisionNotFoundError,
        lambda: hf_hub_download(DOLLY, "README.md", revision="0" * 40, cache_dir=cache),
        f"{label}: an unknown revision is not found",
    )


def check_population(url: str, *, cache: Path) -> None:
    """The leaderboards' population, with the hub started as `--population
    --rate-limits free --time-scale 60 --page-size 50`."""
    os.environ["HF_ENDPOINT"] = url
    from huggingface_hub import HfApi, hf_hub_download
    from huggingface_hub.utils import get_session, parse_ratelimit_headers

    api = HfApi(endpoint=url, token=False)
    mine = list(api.list_models(author="jaspionjader", expand=["sha", "lastModified", "likes"]))
    others = [m.id for m in mine if "/replay-other-" in m.id]
    expect(
        len({m.id for m in mine}) == 196 + 10 and len(others) == 10 and all(m.sha for m in mine),
        "population: the 196 repos of jaspionjader and its 10 generated others, over 5 pages of 50",
    )
    info = api.model_info(YI)
    expect(
        info.sha == "4b486f81c935a2dadde84c6baa1e1370d40a098f"
        and info.card_data is not None
        and info.card_data.license == "apache-2.0",
        f"population: {YI} has the sha and licence of its v2 row",
    )
    card = Path(hf_hub_download(YI, "README.md", cache_dir=cache)).read_text(encoding="utf-8")
    expect("llmsync_replay_generated" in card, f"population: {YI}'s card says it is generated")
    newest = next(iter(api.list_models(sort="last_modified", limit=1, expand=["lastModified"])))
    expect(
        newest.id.startswith("replay-churn-")
        and newest.last_modified is not None
        and newest.last_modified.date().isoformat() == HUB_START,
        "population: the newest lastModified is a generated Hub-wide change of Hub day one",
    )
    response = get_session().get(f"{url}/api/models/{YI}")
    limits = parse_ratelimit_headers(response.headers)
    expect(
        limits is not None and (limits.limit, limits.window_seconds) == (500, 5),
        "population: anonymous api quota 500 per window of 300/60 = 5 wall seconds",
    )
    stats = get_session().get(f"{url}/_replay/stats").json()
    expect(stats["kinds"]["list"] == 6, "population: the hub counted 6 listing pages")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recordings", help="a recordings folder (default: the bundled one)")
    parser.add_argument(
        "--no-population",
        action="store_true",
        help="skip the population run (its checks need the bundled recordings' real data)",
    )
    args = parser.parse_args()
    extra = ["--recordings", args.recordings] if args.recordings else []
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
    os.environ.pop("HF_TOKEN", None)
    for as_of in (None, "2024-11-10"):
        # One interpreter per hub: huggingface_hub binds HF_ENDPOINT at import.
        with replay_hub(extra + (["--as-of", as_of] if as_of else [])) as url:
            child = [sys.executable, __file__, "--_check", url] + (
                ["--_as-of", as_of] if as_of else []
            )
            result = subprocess.run(child, timeout=240)
            if result.returncode != 0:
                return result.returncode
    if not args.no_population:
        options = ["--population", "--rate-limits", "free", "--time-scale", "60"]
        with replay_hub([*extra, *options, "--page-size", "50"]) as url:
            child = [sys.executable, __file__, "--_check", url, "--_population"]
            result = subprocess.run(child, timeout=240)
            if result.returncode != 0:
                return result.returncode
    print("all checks passed")
    return 0


def _child() -> int:
    url = sys.argv[sys.argv.index("--_check") + 1]
    as_of = sys.argv[sys.argv.index("--_as-of") + 1] if "--_as-of" in sys.argv else None
    with tempfile.TemporaryDirectory() as cache:
        os.environ["HF_HOME"] = cache
        if "--_population" in sys.argv:
            check_population(url, cache=Path(cache) / "hub")
        else:
            check_hub(url, as_of=as_of, cache=Path(cache) / "hub")
    return 0


if __name__ == "__main__":
    sys.exit(_child() if "--_check" in sys.argv else main())
