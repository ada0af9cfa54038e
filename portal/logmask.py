"""No resident ID number in a log line: a filter that masks them in every log record.

:class:`MaskIdNumbers` replaces the record's message (its arguments merged in),
its traceback and stack text with the text the one detector
(:func:`portal.rules.identifiers.mask_ric_numbers`) masks. :func:`install` puts it
on the app's logger and the root logger (and their handlers), and - because a
logger's filter does not see records that its descendants propagate to it - also
on the creation of every record, so ``portal.*``, SQLAlchemy, gunicorn or werkzeug
records are masked before any handler formats them.
"""
from __future__ import annotations

import logging

from portal.rules.identifiers import contains_ric_number, mask_ric_numbers

_FORMATTER = logging.Formatter()


class MaskIdNumbers(logging.Filter):
    """Mask resident ID numbers in a record; never drops one."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_ids_masked", False):
            return True
        try:
            message = record.getMessage()
        except Exception:   # a broken format string: logging reports it, unmasked args go
            message, record.args = str(record.msg), None
        if contains_ric_number(message):
            record.msg, record.args = mask_ric_numbers(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = _FORMATTER.formatException(record.exc_info)
        if record.exc_text and contains_ric_number(record.exc_text):
            record.exc_text = mask_ric_numbers(record.exc_text)
        if record.stack_info and contains_ric_number(record.stack_info):
            record.stack_info = mask_ric_numbers(record.stack_info)
        record._ids_masked = True
        return True


_FILTER = MaskIdNumbers()


def _masked_factory(factory):
    def make_record(*args, **kwargs):
        record = factory(*args, **kwargs)
        _FILTER.filter(record)
        return record

    make_record.masks_id_numbers = True
    return make_record


def install(app) -> None:
    """Mask ID numbers in the app's and the root logger's records (idempotent)."""
    for logger in (app.logger, logging.getLogger()):
        for target in (logger, *logger.handlers):
            if not any(isinstance(f, MaskIdNumbers) for f in target.filters):
                target.addFilter(_FILTER)
    factory = logging.getLogRecordFactory()
    if not getattr(factory, "masks_id_numbers", False):
        logging.setLogRecordFactory(_masked_factory(factory))
