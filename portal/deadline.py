"""The time budget of a public request, and the database limits that keep it.

A request to a public blueprint starts with a deadline (:func:`start`, from
``PORTAL_PUBLIC_REQUEST_BUDGET_MS``); every SQL statement it runs is bounded:

- before each statement the budget is checked (:class:`Exceeded` once spent);
- PostgreSQL: ``statement_timeout`` (``PORTAL_PUBLIC_STATEMENT_TIMEOUT_MS``) on
  the connection while it serves a budgeted request. It is set when a
  connection is checked out for one and put back to the server's default when
  it is checked out for anything else (back office, worker, command line), so
  a connection serving public pages costs no extra statement per request;
- SQLite: a progress handler interrupts a statement that runs past the
  statement limit or the request's deadline.

Search passes :func:`remaining` as its time limit. The web layer answers an
interrupted statement or a spent budget with 503 and Retry-After
(``portal.web``), so a pathological request frees its thread instead of
holding it. Without a deadline (outside a budgeted request) nothing is limited.
"""
from __future__ import annotations

import sqlite3
import time
from contextvars import ContextVar
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.pool import Pool

#: SQLite calls the progress handler every this many virtual-machine instructions.
PROGRESS_STEPS = 10_000
_QUERY_CANCELED = "57014"      # PostgreSQL's SQLSTATE for a statement_timeout (query_canceled)


class Exceeded(Exception):
    """The request has spent its time budget."""


@dataclass
class Budget:
    deadline: float              # time.monotonic() after which the request is over budget
    statement_ms: int            # the longest one statement may run
    statement_started: float = 0.0


_budget: ContextVar[Budget | None] = ContextVar("portal_request_budget", default=None)


def start(budget_ms: int, statement_ms: int) -> None:
    """The current request may run ``budget_ms``, each statement ``statement_ms``."""
    _budget.set(Budget(time.monotonic() + budget_ms / 1000, max(1, int(statement_ms))))


def stop() -> None:
    _budget.set(None)


def remaining() -> float | None:
    """Seconds left to the current request, or None when it has no budget (worker, CLI)."""
    budget = _budget.get()
    return None if budget is None else max(0.0, budget.deadline - time.monotonic())


def within(limit: float | None) -> float | None:
    """``limit`` seconds, or less when the current request has less of its budget left."""
    left = remaining()
    if left is None:
        return limit
    return left if limit is None else min(limit, left)


def check() -> None:
    """Raise :class:`Exceeded` when the current request is past its deadline."""
    budget = _budget.get()
    if budget is not None and time.monotonic() > budget.deadline:
        raise Exceeded()


def is_interruption(error: BaseException) -> bool:
    """The database stopped a statement for running too long (either database)."""
    orig = getattr(error, "orig", error)
    if getattr(orig, "sqlstate", None) == _QUERY_CANCELED:
        return True
    return isinstance(orig, sqlite3.OperationalError) and str(orig) == "interrupted"


# ---------------------------------------------------------------- database hooks


def _before_statement(conn, cursor, statement, parameters, context, executemany) -> None:
    budget = _budget.get()
    if budget is not None:
        check()
        budget.statement_started = time.monotonic()


def _progress() -> int:
    """SQLite: non-zero stops the running statement (``sqlite3.OperationalError: interrupted``)."""
    budget = _budget.get()
    if budget is None:
        return 0
    now = time.monotonic()
    limit = budget.statement_started + budget.statement_ms / 1000
    return 1 if now > budget.deadline or (budget.statement_started and now > limit) else 0


def _on_connect(dbapi_connection, record) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.set_progress_handler(_progress, PROGRESS_STEPS)


def _on_checkout(dbapi_connection, record, proxy) -> None:
    """PostgreSQL: the connection's statement_timeout follows the request it now serves."""
    if not type(dbapi_connection).__module__.startswith("psycopg"):
        return
    budget = _budget.get()
    wanted = budget.statement_ms if budget is not None else None
    if record.info.get("statement_timeout") == wanted:
        return
    with dbapi_connection.cursor() as cursor:
        cursor.execute(f"SET statement_timeout = {int(wanted)}" if wanted is not None
                       else "SET statement_timeout TO DEFAULT")
    dbapi_connection.commit()       # a SET inside a transaction rolled back later would not hold
    record.info["statement_timeout"] = wanted


_installed = False


def install() -> None:
    """Listen on every engine and pool of the process (idempotent)."""
    global _installed
    if _installed:
        return
    sa.event.listen(sa.engine.Engine, "before_cursor_execute", _before_statement)
    sa.event.listen(Pool, "connect", _on_connect)
    sa.event.listen(Pool, "checkout", _on_checkout)
    _installed = True
