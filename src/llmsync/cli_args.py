"""Argument types of the `llmsync` command line: each turns a text into a
value or says, in argparse's words, why it cannot."""

from __future__ import annotations

import argparse
import datetime as dt


def iso_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def share(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError("a share between 0 and 1, e.g. 0.1")
    return value


def _whole_number(text: str, *, least: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < least:
        raise argparse.ArgumentTypeError(f"at least {least}")
    return value


def positive_int(text: str) -> int:
    return _whole_number(text, least=1)


def non_negative_int(text: str) -> int:
    return _whole_number(text, least=0)


def author_size(text: str) -> str:
    """`AUTHOR=N` (a listing's size), checked here and read by the replay hub."""
    author, _, size = text.partition("=")
    if not author or not size.isdigit():
        raise argparse.ArgumentTypeError(f"AUTHOR=N, e.g. TheBloke=3000, not {text!r}")
    return text


def _finite(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"not a finite number: {text!r}")
    return value


def positive_float(text: str) -> float:
    value = _finite(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("a number above 0")
    return value


def milliseconds(text: str) -> float:
    value = _finite(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError("0 or more milliseconds")
    return value
