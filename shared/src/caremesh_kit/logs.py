"""Structured JSON logs. Only ids and outcomes are logged, never payloads."""

import json
import logging
import sys
from datetime import UTC, datetime

from caremesh_kit import context

_SERVICE = "caremesh"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "service": _SERVICE,
            "logger": record.name,
            "message": record.getMessage(),
            "correlation_id": context.correlation_id.get(),
            "event_id": context.event_id.get(),
            "traceparent": context.traceparent.get(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info and record.exc_info[0] is not None:
            # Type only: exception texts can echo input values.
            entry["error"] = record.exc_info[0].__name__
        return json.dumps({k: v for k, v in entry.items() if v is not None}, default=str)


def configure(service: str, level: str = "INFO") -> None:
    global _SERVICE
    _SERVICE = service
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access", "aiormq", "aio_pika", "pymongo"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error", "faststream", "faststream.access.rabbit"):
        lg = logging.getLogger(name)
        lg.handlers[:] = []
        lg.propagate = True


def get(name: str) -> logging.Logger:
    return logging.getLogger(name)


def info(logger: logging.Logger, message: str, **fields: object) -> None:
    logger.info(message, extra={"fields": fields})
