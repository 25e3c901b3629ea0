"""Structured logging on top of the standard library.

Call sites log an event name plus fields: ``log.info("report refreshed",
extra={"user": "octocat", "period": "1_year", "seconds": 1.2})``. The text format
renders them as ``key=value`` pairs after the message; the JSON format
(``GITBRAG_LOG_FORMAT=json``) emits one object per line for log shippers.

Tokens never reach a log line: the GitHub client never logs headers, and a
redacting filter replaces any configured token that slips into a message or field.

On a terminal, `gitbrag-refresh --once` draws a live progress bar; `logs_above` then
routes the logs to the bar's own console, so each line is printed above the bar instead of
being spliced into it, and shortens them for a person: `warning: <what happened> (<who>)`,
no timestamp, no level column, no fields the message already says; only warnings and errors
unless `-v`. Files, journald and JSON keep the structured lines.
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
from rich.text import Text

# Attributes every LogRecord has; anything else was passed through `extra`. uvicorn adds
# `color_message`, its message again with terminal colour codes: never a field of ours.
_STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName", "color_message"}
# The fields a terminal line keeps, in this order: who or what the event is about.
_TERMINAL_FIELDS = ("user", "report", "period", "org", "variable", "error")


def record_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The structured fields a call site attached through `extra`."""
    return {k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS and not k.startswith("_")}


class TextFormatter(logging.Formatter):
    """`2026-11-28T14:00:00Z INFO gitbrag.refresh report refreshed user=octocat period=1_year`."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return f"{stamp} {record.levelname} {record.name} {_message_and_fields(self, record)}"


class TerminalFormatter(logging.Formatter):
    """`warning: store lost state: tracking again ... (user=mona-lisa)`: for a person at a
    terminal, one short line (the level as a word, then what happened, then whom it is about)."""

    def format(self, record: logging.LogRecord) -> str:
        fields = record_fields(record)
        about = [f"{k}={_text_value(fields[k])}" for k in _TERMINAL_FIELDS if k in fields]
        line = f"{record.levelname.lower()}: {record.getMessage()}"
        if about:
            line += f" ({', '.join(about)})"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class ConsoleHandler(logging.Handler):
    """Prints each line on a rich `Console` (the progress bar's: rich keeps the bar below),
    as plain text: no markup, no highlighting, wrapped between words."""

    def __init__(self, console: Console) -> None:
        super().__init__()
        self.console = console

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.console.print(Text(self.format(record)), highlight=False)
        except Exception:  # a log line must never take the run down
            self.handleError(record)


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
def logs_above(console: Console, level: int | str = logging.WARNING) -> Iterator[None]:
    """While inside, gitbrag's logs at `level` and above are printed on `console`, the console
    of a live progress bar: rich prints them above the bar, so the two never share a line (a
    plain stream handler writes into the middle of the bar's line), in a person's form
    (`TerminalFormatter`). The same redaction applies; the previous handler is back afterwards."""
    previous = _gitbrag_handlers()
    handler = ConsoleHandler(console)
    handler.setLevel(level)
    handler.setFormatter(TerminalFormatter())
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
