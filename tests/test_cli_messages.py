"""What the command line says when something is off, word for word, and its
exit codes: a data folder with no data, an unknown flag, a future --as-of, a
Hub out of reach; and the summary a sync ends with."""

from __future__ import annotations

import argparse
import datetime as dt
import socket
from pathlib import Path

import pyarrow as pa
import pytest

from llmsync import __version__
from llmsync.cli import build_parser, main
from llmsync.cli_summary import print_summary
from llmsync.hub.retry import is_retryable
from llmsync.pipeline.report import summarise_changes
from llmsync.tables.schemas import CHANGES

HINT = (
    "run `llmsync sync --hub replay` to make a first snapshot (offline), "
    "or choose the folder with --data-dir or LLMSYNC_DATA_DIR"
)
READERS = (["verify"], ["snapshots"], ["snapshots", "--latest"], ["report"])


@pytest.mark.parametrize("command", READERS, ids=" ".join)
def test_a_data_folder_without_data_is_one_message_exit_2(
    command: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a-file").write_text("not a folder")
    (tmp_path / "empty" / "processed").mkdir(parents=True)  # as a fresh checkout's data/
    for given, why in (
        ("no-such-folder", "no such folder"),  # relative: shown absolute
        ("a-file", "not a folder"),
        ("empty", "no sync has run there"),
    ):
        assert main([*command, "--data-dir", given]) == 2
        assert capsys.readouterr().err == (
            f"llmsync: no llmsync data in {tmp_path / given} ({why}): {HINT}\n"
        )


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out == f"llmsync {__version__}\n"


def test_a_wrong_flag_gets_the_subcommands_usage_and_the_nearest_flag(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["snapshots", "--datadir", "x"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: llmsync snapshots [-h]")
    assert err.endswith(
        "llmsync snapshots: error: unrecognized arguments: --datadir (did you mean --data-dir?) x\n"
    )
    with pytest.raises(SystemExit):
        main(["sync", "--no-such-thing"])
    assert capsys.readouterr().err.endswith(
        "llmsync sync: error: unrecognized arguments: --no-such-thing\n"
    )


def _parsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    found = {parser.prog: parser}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found |= _parsers(sub)
    return found


def test_every_option_has_help_text() -> None:
    for prog, parser in _parsers(build_parser()).items():
        for action in parser._actions:
            if action.option_strings:
                assert action.help, f"{prog} {action.option_strings[0]} has no help text"


def test_serve_help_names_the_environment_it_reads(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    for name in ("PREFECT_API_URL", "HF_ENDPOINT", "HF_TOKEN", "LLMSYNC_DATA_DIR"):
        assert name in out


def test_a_future_as_of_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    today = dt.datetime.now(dt.UTC).date()
    tomorrow = today + dt.timedelta(days=1)
    command = ["sync", "--no-prefect", "--hub", "replay", "--as-of", str(tomorrow)]
    assert main([*command, "--data-dir", str(tmp_path)]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"llmsync: --as-of {tomorrow} is in the future (today is {today}, UTC): "
        "a replay serves the Hub as it stood on a day that has passed"
    )
    assert not (tmp_path / "processed").exists()


def test_a_hub_name_that_does_not_resolve_fails_at_once_and_names_the_way_out(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # `.invalid` never resolves (RFC 2606): as with no network at all.
    hub = "http://hub.invalid"
    assert main(["sync", "--no-prefect", "--hub", hub, "--data-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "retrying" not in err  # a name that does not resolve is not retried
    lines = err.strip().splitlines()
    assert lines[-2].startswith(f"llmsync: cannot reach the Hub at {hub}: leaderboard open_llm_v1")
    assert lines[-1] == (
        "llmsync: no network? `llmsync sync --hub replay` syncs from the bundled "
        "recordings of the Hub, offline"
    )


def test_name_resolution_failures_are_not_retried() -> None:
    try:
        try:
            raise socket.gaierror(-2, "Name or service not known")
        except socket.gaierror as dns:
            raise ConnectionError("connect failed") from dns
    except ConnectionError as exc:
        assert not is_retryable(exc)
    assert is_retryable(ConnectionResetError("reset by peer"))


def test_the_summary_counts_the_gaps_and_says_where_things_are(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = {
        "status": "published",
        "snapshot": "20261207T203844Z",
        "report": str(tmp_path / "reports" / "20261207T203844Z.html"),
        # As an unchanged run lists them: alphabetically; printed in the schemas' order.
        "row_counts": {"benchmarks": 21, "catalog": 18, "scores": 117184},
        "parsed_revisions": 208,
        "recording_gaps": ["a/b: not_recorded (...)", "c/d: not_recorded (...)"],
        "requests": {"api": 34, "resolvers": 461, "pages": 0},
        "fetch": {"benchmark_requests": 37, "joined_from_benchmark_leaderboards": 2},
    }
    print_summary(report, seconds=61.04, data_dir=tmp_path)
    assert capsys.readouterr().out == (
        "status: published\n"
        "snapshot: 20261207T203844Z\n"
        "rows: catalog 18, scores 117,184, benchmarks 21\n"
        "leaderboard revisions parsed: 208 (building anew)\n"
        "gaps in the replay hub's recordings: 2 models with a file it has no copy of "
        "(not facts about the Hub; `llmsync snapshots --detail` lists them)\n"
        "hub requests: api 34, resolvers 461, pages 0; 429s 0; waited for the rate limit 0.0s\n"
        "fetch: 37 requests for the official benchmarks; "
        "2 models joined from the benchmarks' leaderboards\n"
        "wall time: 61.0s\n"
        "\n"
        f"data:   {tmp_path}/processed/snapshot=20261207T203844Z\n"
        f"report: {tmp_path}/reports/20261207T203844Z.html\n"
        f"next:   llmsync verify --data-dir {tmp_path}    "
        "# rebuild the snapshot from data/raw, offline\n"
        f"        llmsync snapshots --detail --data-dir {tmp_path}    "
        "# every run, and what it could not read\n"
    )


def test_the_sample_changes_are_the_largest_moves_rounded() -> None:
    rows = [
        {"change_kind": "score_changed", "repo_id": f"org/m{i}", "leaderboard": "open_llm_v2",
         "benchmark": "bbh", "date": dt.date(2024, 12, 11), "old_score": old, "new_score": new}
        for i, (old, new) in enumerate(
            [(8.8056563672085, 8.90636130175029), (10.0, 30.0), (50.0, 45.5), (1.0, 1.0)]
        )
    ]  # fmt: skip
    columns = {name: [row.get(name) for row in rows] for name in CHANGES.columns}
    counts, examples = summarise_changes(pa.table(columns, schema=CHANGES.schema))
    assert counts == {"score_changed": 4}
    assert examples == [
        "org/m1 open_llm_v2 bbh: 10.00 -> 30.00 (2024-12-11)",
        "org/m2 open_llm_v2 bbh: 50.00 -> 45.50 (2024-12-11)",
        "org/m0 open_llm_v2 bbh: 8.81 -> 8.91 (2024-12-11)",
        "org/m3 open_llm_v2 bbh: 1.00 -> 1.00 (2024-12-11)",
    ]


def test_only_a_failure_to_connect_is_called_unreachable() -> None:
    from llmsync.cli_checks import unreachable_hub
    from llmsync.pipeline import SyncFailed

    def failed(cause: BaseException) -> SyncFailed:
        try:
            raise SyncFailed("leaderboard open_llm_v2 unavailable") from cause
        except SyncFailed as exc:
            return exc

    refused = unreachable_hub(failed(ConnectionRefusedError(111, "refused")), hub="http://h:1")
    assert refused is not None and refused.startswith("cannot reach the Hub at http://h:1: ")
    assert unreachable_hub(failed(ConnectionResetError(104, "reset")), hub=None) is None
