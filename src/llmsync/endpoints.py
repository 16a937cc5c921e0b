"""Which Hub a run talks to: a URL, the environment's, or the bundled replay hub.

This is the one production module that imports `llmsync.replay` (the replay
hub is a development tool): `--hub replay` and `llmsync replay-hub` (whose
options are declared here) both come through here, lazily, so a sync against
the real Hub never loads it.
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from llmsync.cli_args import (
    author_size,
    iso_date,
    milliseconds,
    non_negative_int,
    positive_float,
    positive_int,
    share,
)
from llmsync.hub.pacing import RATE_TIERS

REPLAY = "replay"


@contextmanager
def hub_endpoint(hub: str | None, *, as_of: dt.date | None = None) -> Iterator[str | None]:
    """Yield the endpoint for a run; `None` leaves the choice to the client
    (`HF_ENDPOINT`, else huggingface.co).

    `replay` starts the bundled replay hub on a free port for the run's
    duration, serving the recordings as they stood on `as_of`.
    """
    if as_of is not None and as_of > dt.datetime.now(dt.UTC).date():
        raise ValueError(
            f"--as-of {as_of} is in the future (today is {dt.datetime.now(dt.UTC).date()}, "
            "UTC): a replay serves the Hub as it stood on a day that has passed"
        )
    if hub == REPLAY:
        from llmsync.replay.server import ReplayHub

        with ReplayHub(as_of=as_of) as server:
            yield server.url
        return
    if as_of is not None:
        raise ValueError("--as-of needs --hub replay: the live Hub only serves its present state")
    yield hub.rstrip("/") if hub else None


def cmd_replay_hub(args: argparse.Namespace) -> int:
    """Serve the replay hub until SIGTERM or SIGINT (`llmsync replay-hub`)."""
    from llmsync.replay.server import serve_options

    serve_options(args)
    return 0


def add_replay_hub_command(commands: Any) -> None:
    """`llmsync replay-hub`: its options, none of which loads the replay hub."""
    replay = commands.add_parser("replay-hub", help="serve the recorded Hub over HTTP")
    replay.add_argument(
        "--host", default="127.0.0.1", help="the address to listen on (default 127.0.0.1)"
    )
    replay.add_argument("--port", type=int, default=0, help="0 picks a free port")
    replay.add_argument("--as-of", type=iso_date, help="serve every repo as it stood on this date")
    replay.add_argument("--faults", type=Path, help="a fault plan (JSON or YAML) to inject")
    replay.add_argument(
        "--population",
        action="store_true",
        help="serve every model repo of the leaderboards, generated from its row where no "
        "recording exists (default: the recordings only)",
    )
    replay.add_argument(
        "--rate-limits",
        choices=RATE_TIERS,
        default="none",
        help="the Hub's 5-minute quotas: anonymous requests get the anonymous tier, "
        "requests with a token this tier (default: none)",
    )
    replay.add_argument(
        "--time-scale",
        type=positive_float,
        default=1.0,
        help="Hub seconds per wall second: 300 makes a 5-minute window last 1 s",
    )
    replay.add_argument(
        "--latency-ms", type=milliseconds, default=0.0, help="added to every request"
    )
    replay.add_argument(
        "--page-size", type=positive_int, default=1000, help="largest page of a model listing"
    )
    replay.add_argument(
        "--serve-partial-captures",
        action="store_true",
        help="serve the recorded partial captures (bad upstream revisions) as commits",
    )
    replay.add_argument(
        "--other-repos-per-author",
        type=non_negative_int,
        help="with --population: generated repos each author lists besides its "
        "leaderboard repos (default: 10)",
    )
    replay.add_argument(
        "--author-repos",
        action="append",
        type=author_size,
        metavar="AUTHOR=N",
        help="with --population: AUTHOR's listing holds N repos in all; repeat it to replace "
        "the default table of big authors (POPULATION.md)",
    )
    replay.add_argument(
        "--daily-churn",
        type=non_negative_int,
        help="with --population: generated repos modified per Hub day, listed by "
        "sort=lastModified (default: 30000)",
    )
    replay.add_argument(
        "--eval-results-share",
        type=share,
        default=0.03,
        help="with --population: the share of generated repos given generated eval results "
        "(a chosen density, POPULATION.md; default: %(default)s)",
    )
    replay.set_defaults(handler=cmd_replay_hub)
