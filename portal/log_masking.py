"""No resident ID number in any log line.

Every log record of the process passes through :func:`_masked_record` when it
is created (a record factory, so it covers Flask's, gunicorn's, SQLAlchemy's and
our own loggers, whichever handler writes them): its message, arguments and
traceback are rendered once and every ID number in them is masked with the one
detector of ``portal.rules.identifiers``.  SQL parameters are not logged at all
(``hide_parameters`` in the engine options, ``portal.config``).
"""
from __future__ import annotations

import logging

from portal.rules.identifiers import mask_ric_numbers

_installed = False


def _mask_record(record: logging.LogRecord) -> logging.LogRecord:
    try:
        message = record.getMessage()
    except Exception:  # a broken format string: keep the raw text, masked
        message = f"{record.msg!r} {record.args!r}"
    record.msg, record.args = mask_ric_numbers(message), None
    if record.exc_info and not record.exc_text:
        record.exc_text = mask_ric_numbers(logging.Formatter().formatException(record.exc_info))
    if record.stack_info:
        record.stack_info = mask_ric_numbers(record.stack_info)
    return record


def install() -> None:
    """Wrap the process's log record factory once (idempotent)."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs):
        return _mask_record(previous(*args, **kwargs))

    logging.setLogRecordFactory(factory)
    _installed = True
