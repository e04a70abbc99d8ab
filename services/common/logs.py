"""Logging set-up: JSON lines on stderr, one object per event, for log shippers."""

from __future__ import annotations

import logging
import sys
from typing import Any

import orjson

_CONTEXT_FIELDS = ("service", "topic", "partition", "offset", "source_id", "article_id")


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


def configure_logging(level: str, *, json_lines: bool = True, service: str | None = None) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if json_lines:
        handler.setFormatter(JsonLineFormatter(service))
        logging.Formatter.converter = __import__("time").gmtime
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for chatty in ("aiokafka", "httpx"):  # a line per request or fetch: warnings and up only
        logging.getLogger(chatty).setLevel(max(logging.WARNING, root.level))
