"""API keys sent in a query string (`?apiKey=`) never reach a log line.

writeback's own log lines name paths, never query strings, and `writeback serve` runs uvicorn
without its access log. This filter covers an access log an operator switches on (uvicorn run by
hand with `--access-log`): the key's value is replaced before the line is formatted.
"""

from __future__ import annotations

import logging
import re

_QUERY_KEY = re.compile(r"(apiKey=)[^&#\s\"']*", re.IGNORECASE)
LOGGERS = ("uvicorn.access", "uvicorn.error")


def redact(text: str) -> str:
    return _QUERY_KEY.sub(r"\1[redacted]", text)


class RedactQueryKeys(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True


def install_log_redaction() -> None:
    """Add the filter to uvicorn's loggers, once (idempotent: every app factory calls it)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactQueryKeys) for f in logger.filters):
            logger.addFilter(RedactQueryKeys())
