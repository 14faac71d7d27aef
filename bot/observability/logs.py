"""Keeping patient text and phone numbers out of the logs, in every process of the stack.

Our own loggers never log a message's text or a number (conversation ids are pseudonyms; errors
log exception types, not their texts). This is the net under that rule, for third-party code:
`install()` (bot/launch.py calls it first thing in every program it starts) wraps the log
record factory, so every record of every logger, whatever its handler, is rendered once with
phone numbers replaced by REDACTED, and records that would carry a conversation's content are
replaced by a notice:

- records of CONTENT_LOGGERS below their level are withheld (Rasa logs each user message, its
  parse and every slot value at DEBUG, so `rasa run --debug` would write patient text and
  callback numbers; SQLAlchemy's echo logs statement parameters at INFO) unless
  MESO_LOG_CONVERSATIONS=1 is set (a developer's machine, never a clinic's);
- a phone number is 8 to 15 digits, optionally after "+" and grouped by single spaces or
  dashes, standing on its own (not inside a word, a hex id or a dotted file name); dates and
  times are left alone.
"""

from __future__ import annotations

import logging
import os
import re
import traceback
from typing import Any

REDACTED = "[number removed]"
CONVERSATIONS_ENV = "MESO_LOG_CONVERSATIONS"
WITHHELD = f"(log record withheld: it may hold patient text; {CONVERSATIONS_ENV}=1 keeps it)"
# Loggers that write a conversation's content below some level, and the lowest level kept.
CONTENT_LOGGERS = {
    "rasa": logging.INFO,  # DEBUG: each user message, its parse, predictions, slot values
    "rasa_sdk": logging.INFO,  # DEBUG: the tracker sent to the action server
    "socketio": logging.INFO,
    "engineio": logging.INFO,  # DEBUG: every packet, with the message text
    "sanic.access": logging.INFO,
    "aiohttp.access": logging.INFO,
    "sqlalchemy.engine": logging.WARNING,  # INFO (echo): every statement with its parameters
    "bot": logging.INFO,
    "actions": logging.INFO,
}

PHONE = re.compile(r"(?<![\w.+\-])\+?\d(?:[ \-]?\d){7,14}(?![\w.\-]|:\d)")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _redact_match(match: re.Match[str]) -> str:
    return match.group(0) if DATE.match(match.group(0)) else REDACTED


def redact(text: str) -> str:
    """`text` with every phone number replaced by REDACTED."""
    return PHONE.sub(_redact_match, text) if any(c.isdigit() for c in text) else text


def _holds_conversation(name: str, level: int) -> bool:
    return any(
        level < lowest and (name == prefix or name.startswith(prefix + "."))
        for prefix, lowest in CONTENT_LOGGERS.items()
    )


_installed = False


def install() -> None:
    """Install the redaction in this process (idempotent). It applies to handlers added later
    too (Rasa configures its own): records are redacted when they are made."""
    global _installed
    if _installed:
        return
    _installed = True
    make_record = logging.getLogRecordFactory()
    keep_conversations = os.environ.get(CONVERSATIONS_ENV) == "1"

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        if not keep_conversations and _holds_conversation(record.name, record.levelno):
            record.msg, record.args = WITHHELD, None
            record.exc_info = record.exc_text = None
            return record
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it for logging's own error report
            return record
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            trace = "".join(traceback.format_exception(*record.exc_info))
            record.exc_text = redact(trace.rstrip("\n"))
        for key in ("request", "host"):  # sanic access records carry the request line apart
            value = record.__dict__.get(key)
            if isinstance(value, str):
                record.__dict__[key] = redact(value)
        return record

    logging.setLogRecordFactory(factory)
