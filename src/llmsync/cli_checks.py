"""The command line's checks of what it was given, each saying what is wrong
and what to do: an unknown flag, a Hub that cannot be reached (a data folder
with nothing in it: store/presence.py)."""

from __future__ import annotations

import argparse
import difflib
import socket
from collections.abc import Sequence

import httpx2

from llmsync.hub.endpoint import resolve_endpoint
from llmsync.hub.retry import exception_chain


def unreachable_hub(exc: BaseException, *, hub: str | None) -> str | None:
    """A message naming the Hub and the offline alternative when `exc` is a
    network failure (no route, no name resolution, refused), else None."""
    # Failures to connect at all, not a connection that broke mid-answer (a
    # reset is the Hub's trouble, said as the sync's failure).
    network = (socket.gaierror, ConnectionRefusedError, httpx2.ConnectError)
    causes = list(exception_chain(exc))
    # Through Prefect the cause may arrive as text only: its name is in the reason.
    if not any(isinstance(item, network) for item in causes) and not any(
        name in str(exc) for name in ("gaierror", "ConnectError", "Connection refused")
    ):
        return None
    endpoint = resolve_endpoint(hub if hub and hub != "replay" else None)
    return (
        f"cannot reach the Hub at {endpoint}: {exc}\n"
        "llmsync: no network? `llmsync sync --hub replay` syncs from the bundled "
        "recordings of the Hub, offline"
    )


def parse_with_suggestions(
    parser: argparse.ArgumentParser, argv: Sequence[str] | None
) -> argparse.Namespace:
    """`parser.parse_args`, except that an unknown flag is refused by its
    subcommand (with that subcommand's usage) and the nearest flag it has."""
    args, extras = parser.parse_known_args(argv)
    if not extras:
        return args
    sub = _subparser(parser, args)
    known = [option for action in sub._actions for option in action.option_strings]
    words = []
    for extra in extras:
        flag = extra.split("=", 1)[0]
        near = difflib.get_close_matches(flag, known, n=1, cutoff=0.6)
        words.append(f"{extra} (did you mean {near[0]}?)" if near else extra)
    sub.error("unrecognized arguments: " + " ".join(words))
    raise AssertionError("unreachable: argparse's error exits")


def _subparser(
    parser: argparse.ArgumentParser, args: argparse.Namespace
) -> argparse.ArgumentParser:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            chosen = action.choices.get(getattr(args, action.dest, None) or "")
            if isinstance(chosen, argparse.ArgumentParser):
                return chosen
    return parser
