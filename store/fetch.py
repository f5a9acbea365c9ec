"""Reading many rows fast: plain tuples straight from the database driver.

SQLAlchemy's Row objects cost microseconds each; the screens' roll-up reads return a few
hundred thousand rows at national scale (bench/national.py), where that was most of the
time. :func:`driver_rows` and :func:`driver_all` execute the statement through SQLAlchemy and
read the driver's own cursor instead of SQLAlchemy's rows.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.sql import Select


@contextmanager
def _driver_cursor(conn: Connection, query: Select) -> Iterator[Any]:
    # Executed by SQLAlchemy, so the statement is compiled once per shape (its cache expands
    # IN lists at execution; compiling 2,000 ids anew took 1.5 ms); read from the driver's cursor.
    result = conn.execute(query)
    try:
        yield result.cursor
    finally:
        result.close()


def driver_rows(conn: Connection, query: Select) -> Iterator[tuple[Any, ...]]:
    """The rows of ``query`` as the driver's tuples (no type processing: plain numbers and text), streamed."""
    with _driver_cursor(conn, query) as cursor:
        yield from cursor


def driver_all(conn: Connection, query: Select) -> list[tuple[Any, ...]]:
    """The rows of ``query`` as a list of the driver's tuples: ``fetchall``, without a generator step per row."""
    with _driver_cursor(conn, query) as cursor:
        return cursor.fetchall()
