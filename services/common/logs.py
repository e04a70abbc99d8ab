"""Logging set-up: JSON lines on stderr, one object per event, for log shippers.

At INFO a service says what it runs with once, then a status line now and then (see
``NEWSWIRE_STATUS_INTERVAL_S``); the libraries' start-up and rebalance chatter (Faust and
mode log every service they start and stop) is demoted to DEBUG, where it is still
there for whoever turns ``NEWSWIRE_LOG_LEVEL=DEBUG`` on.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

import orjson

_CONTEXT_FIELDS = ("service", "topic", "partition", "offset", "source_id", "article_id", "counts")

#: Loggers whose INFO records are start-up and rebalance chatter, logged at DEBUG instead.
CHATTY_AT_INFO = ("faust", "mode")


class JsonLineFormatter(logging.Formatter):
    """One JSON object per line, naming the service on every line (so mixed log streams
    stay attributable) and topic/partition/offset wherever the caller passed them."""

    def __init__(self, service: str | None = None) -> None:
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if self._service:
            entry["service"] = self._service
        for name in _CONTEXT_FIELDS:
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


class DemoteChatter(logging.Filter):
    """Turn INFO records of the PREFIXES loggers into DEBUG records, dropped unless the
    root logger is at DEBUG. Warnings and errors pass unchanged."""

    def __init__(self, prefixes: tuple[str, ...] = CHATTY_AT_INFO) -> None:
        super().__init__()
        self._prefixes = prefixes

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO or record.name.split(".", 1)[0] not in self._prefixes:
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger().isEnabledFor(logging.DEBUG)


def configure_logging(level: str, *, json_lines: bool = True, service: str | None = None) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if json_lines:
        handler.setFormatter(JsonLineFormatter(service))
        logging.Formatter.converter = time.gmtime
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(DemoteChatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for chatty in ("aiokafka", "httpx"):  # a line per request or fetch: warnings and up only
        logging.getLogger(chatty).setLevel(max(logging.WARNING, root.level))
