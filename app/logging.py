"""Log setup: readable lines in development, one JSON object per line in production.

One dictConfig (`log_config`) serves the CLI process and, handed to uvicorn as `log_config`,
every worker it spawns (`serve --workers N` starts them afresh: nothing configured in the parent
carries over) and uvicorn's own loggers: the same lines, with time, level, trace id and request
id, from every process.
"""

from __future__ import annotations

import logging
import logging.config
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import orjson

from app.monitoring.tracing import current_trace_id
from app.settings import Settings

# Set by RequestIdMiddleware for the request being served.
REQUEST_ID: ContextVar[str] = ContextVar("request_id", default="-")
TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s [%(trace_id)s %(request_id)s]: %(message)s"


class TraceIdFilter(logging.Filter):
    """Stamps every record with the current trace id and request id ("-" outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.trace_id = current_trace_id() or "-"
        record.request_id = REQUEST_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "traceId": getattr(record, "trace_id", "-"),
            "requestId": getattr(record, "request_id", "-"),
            "pid": record.process,
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode()


def uses_json(settings: Settings) -> bool:
    if settings.log_format is not None:
        return settings.log_format == "json"
    return settings.is_production


def log_config(settings: Settings) -> dict[str, Any]:
    level = settings.log_level.upper()
    formatter: dict[str, Any] = (
        {"()": f"{__name__}.JsonFormatter"} if uses_json(settings) else {"format": TEXT_FORMAT}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": f"{__name__}.TraceIdFilter"}},
        "formatters": {"default": formatter},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "formatter": "default",
                "filters": ["context"],
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": level, "handlers": ["default"]},
        "loggers": {
            # uvicorn's loggers go through the root handler, in the same shape as ours.
            **{
                name: {"handlers": [], "propagate": True, "level": level}
                for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
            },
            # Alembic reports every migration context it opens; the readiness probe opens one.
            "alembic": {"level": max(logging.WARNING, logging.getLevelName(level))},
        },
    }


def configure_logging(settings: Settings) -> None:
    logging.config.dictConfig(log_config(settings))
