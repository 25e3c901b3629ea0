"""Structured logging on top of the standard library.

Call sites log an event name plus fields: ``log.info("report refreshed",
extra={"user": "octocat", "period": "1_year", "seconds": 1.2})``. The text format
renders them as ``key=value`` pairs after the message; the JSON format
(``GITBRAG_LOG_FORMAT=json``) emits one object per line for log shippers.

Tokens never reach a log line: the GitHub client never logs headers, and a
redacting filter replaces any configured token that slips into a message or field.

On a terminal, `gitbrag-refresh --once` draws a live progress bar; `logs_above` then
routes the text logs through rich's `RichHandler` on the bar's own console, so each line
is printed above the bar instead of being spliced into it.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.logging import RichHandler

# Attributes every LogRecord has; anything else was passed through `extra`.
_STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


def record_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The structured fields a call site attached through `extra`."""
    return {k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS and not k.startswith("_")}


class TextFormatter(logging.Formatter):
    """`2026-11-28T14:00:00Z INFO gitbrag.refresh report refreshed user=octocat period=1_year`."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return f"{stamp} {record.levelname} {record.name} {_message_and_fields(self, record)}"


class FieldsFormatter(logging.Formatter):
    """The message and its `key=value` fields only: `RichHandler` draws the time and level."""

    def format(self, record: logging.LogRecord) -> str:
        return _message_and_fields(self, record)


def _message_and_fields(formatter: logging.Formatter, record: logging.LogRecord) -> str:
    fields = " ".join(f"{k}={_text_value(v)}" for k, v in record_fields(record).items())
    line = record.getMessage()
    if fields:
        line += " " + fields
    if record.exc_info:
        line += "\n" + formatter.formatException(record.exc_info)
    return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, event, then the fields."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "event": record.getMessage(),
            **record_fields(record),
        }
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


def _text_value(value: object) -> str:
    text = str(value)
    return json.dumps(text) if (" " in text or not text) else text


MIN_SECRET_LENGTH = 8


class RedactSecrets(logging.Filter):
    """Replaces any of the given secrets in the message and fields with `***`."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        # Real tokens are long; redacting a 1-letter test value would shred every line.
        self.secrets = [s for s in secrets if len(s) >= MIN_SECRET_LENGTH]

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        record.msg = self._scrub(record.getMessage())
        record.args = None
        for key, value in record_fields(record).items():
            if isinstance(value, str):
                setattr(record, key, self._scrub(value))
        return True

    def _scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text


class OutageLog:
    """Says once that a dependency went away and once that it came back, however many
    calls fail in between: an outage is one event, not one log line per call."""

    def __init__(self, logger: logging.Logger, down: str, up: str) -> None:
        self.logger, self.down_message, self.up_message = logger, down, up
        self.down = False
        self.down_message_used: str | None = None  # the precise down line of this outage, if any

    def failed(self, error: str, message: str | None = None) -> None:
        """`error`: what went wrong, by name (`ConnectionError`), never its message;
        `message`: the down line when this outage has a more precise one than the default."""
        if not self.down:
            self.down = True
            self.down_message_used = message
            self.logger.warning(message or self.down_message, extra={"error": error})

    def succeeded(self) -> None:
        if self.down:
            self.down = False
            self.down_message_used = None
            self.logger.info(self.up_message)


def configure_logging(fmt: str = "text", level: str = "INFO", secrets: Iterable[str] = ()) -> None:
    """Route gitbrag's logs to stderr in the chosen format (idempotent)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(RedactSecrets(secrets))
    _install(handler)
    logging.getLogger().setLevel(level)
    # Libraries that log every request would drown the report-level story.
    for noisy in ("httpx", "httpcore", "uvicorn.access", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _gitbrag_handlers() -> list[logging.Handler]:
    return [h for h in logging.getLogger().handlers if getattr(h, "_gitbrag", False)]


def _install(handler: logging.Handler) -> None:
    """Make `handler` gitbrag's only handler on the root logger."""
    root = logging.getLogger()
    for old in _gitbrag_handlers():
        root.removeHandler(old)
    handler._gitbrag = True  # type: ignore[attr-defined]
    root.addHandler(handler)


@contextmanager
def logs_above(console: Console) -> Iterator[None]:
    """While inside, gitbrag's logs are printed by rich on `console`, the console of a live
    progress bar: rich prints them above the bar, so the two never share a line (a plain
    stream handler writes into the middle of the bar's line). The same redaction applies;
    the previous handler is back afterwards."""
    previous = _gitbrag_handlers()
    handler = RichHandler(console=console, show_path=False, markup=False, log_time_format="%H:%M:%S")
    handler.setFormatter(FieldsFormatter())
    for old in previous:
        for redact in old.filters:
            handler.addFilter(redact)
    _install(handler)
    try:
        yield
    finally:
        root = logging.getLogger()
        root.removeHandler(handler)
        for old in previous:
            root.addHandler(old)
