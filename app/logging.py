"""Log setup: readable lines in development, one JSON object per line in production."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import orjson

from app.monitoring.tracing import current_trace_id
from app.settings import Settings


class TraceIdFilter(logging.Filter):
    """Stamps every record with the current trace id ("-" outside a trace)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.trace_id = current_trace_id() or "-"
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "traceId": getattr(record, "trace_id", "-"),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode()


def configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(TraceIdFilter())
    if settings.is_production:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(name)s [%(trace_id)s]: %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    # Alembic reports every migration context it opens; the readiness probe opens one per call.
    logging.getLogger("alembic").setLevel(max(logging.WARNING, root.level))
