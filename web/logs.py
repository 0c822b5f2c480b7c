"""Logging of every server process: key=value lines (or JSON), a request id, no secrets.

`logging_config(settings)` is a `logging.config.dictConfig` dictionary: `werkplaats serve`
hands it to uvicorn (`log_config=`), which applies it in the parent and again in every
worker it spawns, and `web.app.app_from_env` applies it too (a worker started by plain
`uvicorn --factory`). One handler on the root logger writes every line, uvicorn's own
included, through two filters:
- `ContextFilter` puts the id of the HTTP request or WebSocket connection being served
  (a context variable, set by `web.requestlog`) on the record;
- `UvicornFilter` strips query strings from uvicorn's lines (`/ws?token=…` must never be
  written) and turns its traceback for an invalid UTF-8 frame into one line at INFO: a
  client breaking the protocol is not a server error.
"""

from __future__ import annotations

import logging
import logging.config
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from pythonjsonlogger.core import RESERVED_ATTRS

from web.settings import Settings

REQUEST_ID: ContextVar[str | None] = ContextVar("werkplaats_request_id", default=None)

# Attributes every LogRecord has; anything else on a record came from `extra=` and is shown.
_STANDARD = frozenset(
    set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__)
    | {"message", "asctime", "request_id", "taskName", "color_message"}
)
# uvicorn's loggers: their lines carry paths with query strings (`"WebSocket /ws?token=…"`).
_UVICORN = "uvicorn"
_BAD_UTF8 = "Invalid UTF-8 sequence received from client."


class ContextFilter(logging.Filter):
    """Adds `request_id`: the HTTP request or WebSocket connection the line belongs to."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


def strip_query(value: object) -> object:
    """A path with its query string cut off (`/ws?token=x` -> `/ws?…`); others unchanged."""
    if isinstance(value, str) and "?" in value and value.startswith("/"):
        return value.split("?", 1)[0] + "?…"
    return value


class UvicornFilter(logging.Filter):
    """uvicorn's lines without query strings; its invalid UTF-8 traceback as one INFO line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(_UVICORN):
            return True
        if isinstance(record.args, tuple):
            record.args = tuple(strip_query(arg) for arg in record.args)
        if isinstance(record.msg, str) and "?" in record.msg:
            record.msg = " ".join(str(strip_query(word)) for word in record.msg.split(" "))
        if record.msg == _BAD_UTF8:
            record.msg = "ws: invalid UTF-8 in a text frame from the client; closed 1007"
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.exc_info = record.exc_text = None
            return logging.getLogger(record.name).isEnabledFor(logging.INFO)
        return True


def _escape(char: str) -> str:
    if char in '\\"':
        return "\\" + char
    return char if char.isprintable() else char.encode("unicode_escape").decode("ascii")


def _quote(value: object) -> str:
    """A value as logfmt writes it: bare when plain, else quoted with controls escaped."""
    text = value if isinstance(value, str) else str(value)
    if text and text.isprintable() and not any(c in text for c in ' "=\\'):
        return text
    # One line whatever the value holds: newlines and other controls escaped.
    return '"' + "".join(_escape(c) for c in text) + '"'


class KeyValueFormatter(logging.Formatter):
    """`time=… level=… logger=… pid=… request_id=… msg=… key=value …`, one line a record."""

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
        fields: dict[str, object] = {
            "time": when.replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "pid": record.process,
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            fields["request_id"] = request_id
        fields["msg"] = record.getMessage()
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                fields[key] = value
        if record.exc_info:
            fields["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            fields["stack"] = self.formatStack(record.stack_info)
        return " ".join(f"{key}={_quote(value)}" for key, value in fields.items())


def _formatter(log_format: str) -> dict[str, Any]:
    if log_format == "json":
        return {
            "()": "pythonjsonlogger.orjson.OrjsonFormatter",
            "fmt": ["levelname", "name", "process", "request_id", "message"],
            "rename_fields": {
                "levelname": "level",
                "name": "logger",
                "process": "pid",
                "message": "msg",
            },
            "timestamp": "time",
            "reserved_attrs": [*RESERVED_ATTRS, "color_message"],
        }
    return {"()": "web.logs.KeyValueFormatter"}


def logging_config(settings: Settings) -> dict[str, Any]:
    """The dictConfig of a server process: every logger, uvicorn's too, through one handler."""
    level = settings.log_level
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "context": {"()": "web.logs.ContextFilter"},
            "uvicorn": {"()": "web.logs.UvicornFilter"},
        },
        "formatters": {"line": _formatter(settings.log_format)},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "line",
                "filters": ["context", "uvicorn"],
            }
        },
        "loggers": {
            # Through the root's handler, not handlers of their own (uvicorn's default).
            "uvicorn": {"level": level, "handlers": [], "propagate": True},
            "uvicorn.error": {"level": level, "handlers": [], "propagate": True},
            # Off: `web.requestlog` writes one line per request (with its id, sans query).
            "uvicorn.access": {"handlers": [], "propagate": False},
            "alembic": {"level": "WARNING"},
        },
        "root": {"level": level, "handlers": ["stderr"]},
    }


def configure_logging(settings: Settings) -> None:
    """Apply `logging_config(settings)` to this process."""
    logging.config.dictConfig(logging_config(settings))
