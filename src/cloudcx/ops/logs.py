"""Log records as one JSON object a line (machines) or one readable line (people).

Every record written while a request is served carries that request's id,
read from a context variable the request middleware sets (``ops.requests``),
so an application's own log lines can be joined to the request's access line.

Nothing here writes a query string, a header or a body: whatever a record
says is what its caller put in its message, and the access line
(``ops.requests``) is built from the route, the path and the status only.
"""

from __future__ import annotations

import logging
import sys
import time
from contextvars import ContextVar
from typing import Any, Literal

import orjson

LogFormat = Literal["json", "text"]

REQUEST_ID: ContextVar[str] = ContextVar("cloudcx_request_id", default="")
ACCESS_LOGGER = "cloudcx.access"


def current_request_id() -> str:
    """The id of the request being served, or "" outside one."""
    return REQUEST_ID.get()


_second: list[Any] = [-1, ""]  # the last whole second formatted, and its text


def _timestamp(record: logging.LogRecord) -> str:
    return _time_text(record.created)


def _time_text(at: float) -> str:
    """ISO 8601 in UTC with milliseconds; the seconds part is formatted once a second."""
    seconds = int(at)
    if seconds != _second[0]:
        _second[:] = [seconds, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))]
    return f"{_second[1]}.{int((at - seconds) * 1000):03d}Z"


def access_json(at: float, fields: dict[str, Any]) -> str:
    """The access line as JSON (``ops.requests`` gives the fields)."""
    line = {"time": _time_text(at), "level": "info", "logger": ACCESS_LOGGER}
    line["message"] = f"{fields['method']} {fields['path']} {fields['status']}"
    line.update(fields)
    return orjson.dumps(line).decode()


def access_text(at: float, fields: dict[str, Any]) -> str:
    return (
        f"{_time_text(at)} INFO    [{fields['request_id']}] {ACCESS_LOGGER}: "
        f"{fields['method']} {fields['path']} {fields['status']} {fields['duration_ms']:.1f}ms "
        f"client={fields['client']} host={fields['host']}"
    )


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message, request id,
    the access line's fields when it is one, and a traceback as ``exception``."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or REQUEST_ID.get()
        if request_id:
            line["request_id"] = request_id
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line).decode()


class TextFormatter(logging.Formatter):
    """``time level [request id] logger: message``, for a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        request_id = getattr(record, "request_id", None) or REQUEST_ID.get()
        where = f" [{request_id}]" if request_id else ""
        text = f"{_timestamp(record)} {record.levelname:<7}{where} {record.name}: "
        text += record.getMessage()
        if record.exc_info:
            text += "\n" + self.formatException(record.exc_info)
        return text


def resolve_format(configured: LogFormat | None) -> LogFormat:
    """Text on a terminal, JSON otherwise (a service manager, a container, a file)."""
    if configured is not None:
        return configured
    return "text" if sys.stderr.isatty() else "json"


def dict_config(log_format: LogFormat, level: str = "INFO") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for a server process.

    Given to uvicorn as its ``log_config`` so every worker process applies it
    at start; uvicorn's own loggers go through the same handler, and its access
    logger is silenced (``ops.requests`` writes the one line per request).
    """
    formatter = (
        "cloudcx.ops.logs.JsonFormatter"
        if log_format == "json"
        else ("cloudcx.ops.logs.TextFormatter")
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"cloudcx": {"()": formatter}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "cloudcx",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            "uvicorn": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.error": {"handlers": [], "level": level, "propagate": True},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }
