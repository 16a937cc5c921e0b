"""Keeping the Hub token out of messages, logs and files.

The token travels in one place only: the `Authorization` header sent to the
configured Hub. Everything llmsync writes for people (exception messages, log
lines, reports) passes through `redact` first, so a token that slipped into a
URL, an upstream error body or a repr is masked before anyone sees it.
"""

from __future__ import annotations

import logging
import os
import re
import threading

MASK = "***"

# The Hub's user access tokens: `hf_` followed by letters and digits (34 today;
# matched from 10 on so a cut-off token is masked as well).
_TOKEN_SHAPE = re.compile(r"\bhf_[A-Za-z0-9]{10,}")
# Shorter values would mask ordinary words: a real token is never this short.
_MIN_SECRET_LENGTH = 8

_lock = threading.Lock()
_registered: set[str] = set()


def register_secret(value: str | None) -> None:
    """Mask `value` wherever `redact` runs from now on (e.g. a token passed as
    an argument rather than through `HF_TOKEN`)."""
    if value and len(value) >= _MIN_SECRET_LENGTH:
        with _lock:
            _registered.add(value)


def _secrets() -> list[str]:
    with _lock:
        values = set(_registered)
    env_token = os.environ.get("HF_TOKEN")
    if env_token and len(env_token) >= _MIN_SECRET_LENGTH:
        values.add(env_token)
    # Longest first, so a secret containing another is masked whole.
    return sorted(values, key=len, reverse=True)


def redact(text: str) -> str:
    """`text` with the current `HF_TOKEN`, every registered secret and any
    `hf_…`-shaped token replaced by `***`."""
    for secret in _secrets():
        text = text.replace(secret, MASK)
    return _TOKEN_SHAPE.sub(MASK, text)


class RedactingFilter(logging.Filter):
    """A logging filter that masks secrets in the formatted message.

    The record is rewritten in place (message formatted, args dropped) so every
    handler downstream sees only the masked text; exception text is masked too.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to the handler to report
            return True
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


_FILTER = RedactingFilter()


def install_log_redaction(logger: logging.Logger | None = None) -> None:
    """Attach the redacting filter to `logger` (default: the root logger) and to
    each of its handlers; filters on a logger do not see records propagated from
    child loggers, filters on handlers do. Idempotent."""
    target = logger or logging.getLogger()
    if _FILTER not in target.filters:
        target.addFilter(_FILTER)
    for handler in target.handlers:
        if _FILTER not in handler.filters:
            handler.addFilter(_FILTER)
    for name in ("huggingface_hub", "httpx2", "httpx", "llmsync"):
        child = logging.getLogger(name)
        if _FILTER not in child.filters:
            child.addFilter(_FILTER)
