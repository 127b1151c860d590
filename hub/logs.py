"""Logging: request/connection ids on every line, plain or JSON lines."""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from datetime import UTC, datetime

from aiohttp.http_exceptions import HttpProcessingError

NO_REQUEST = "-"
# The id of the request or socket connection a line is logged for: set by the HTTP middleware (X-Request-ID or
# a new one) for the request's whole life, a socket's included, and carried by the bus to other nodes.
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default=NO_REQUEST)


def own_context(label: str) -> contextvars.Context:
    """A context for a long-lived task of a room or a node (`asyncio.create_task(..., context=own_context(...))`):
    its lines say `label`, not the id of whichever request happened to open the room."""
    context = contextvars.copy_context()
    context.run(request_id.set, label)
    return context


class _BadRequestFilter(logging.Filter):
    """aiohttp logs a request it cannot parse (a NUL in a header, an overlong line) with a traceback at ERROR:
    anyone could fill the log that way. It is one INFO line here; the client got its 400."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError) and record.name == "aiohttp.server":
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.msg, record.args, record.exc_info, record.exc_text = (
                "bad HTTP request refused (%s): %s", (error.code, str(error.message).strip()[:200]), None, None)
        return True


class _ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log collectors."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", NO_REQUEST),
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(level: str = "INFO", *, json_lines: bool = False) -> None:
    """Configure the root logger once for the process."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_ContextFilter())
    handler.addFilter(_BadRequestFilter())
    if json_lines:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
