"""Logging set-up: no token, phone number or other personal value in any line."""

from __future__ import annotations

import logging
import re

_TOKEN = re.compile(r"bot\d+:[A-Za-z0-9_-]{20,}")
_PHONE = re.compile(r"(?:\+?880|0)1[3-9]\d{8}")


class ScrubFilter(logging.Filter):
    """Masks bot tokens and Bangladeshi phone numbers in every record that passes."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message with secrets masked; never drops a record."""
        message = record.getMessage()
        scrubbed = _PHONE.sub("<phone>", _TOKEN.sub("bot<token>", message))
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        return True


def configure(level: int = logging.INFO) -> None:
    """Log to stderr with the scrub filter; quiet the HTTP client, whose URLs hold the token."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(ScrubFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "telegram.request", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
