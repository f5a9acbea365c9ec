"""Reading many rows fast: plain tuples straight from the database driver.

SQLAlchemy's Row objects cost microseconds each; the screens' roll-up reads return a few
hundred thousand rows at national scale (bench/national.py), where that was most of the
time. :func:`driver_rows` compiles the statement with SQLAlchemy and iterates the driver's
own cursor instead.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.sql import Select


def driver_rows(conn: Connection, query: Select) -> Iterator[tuple[Any, ...]]:
    """The rows of ``query`` as the driver's tuples (no type processing: plain numbers and text)."""
    # render_postcompile: IN lists expanded into one parameter each, as execute() would.
    compiled = query.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params: Any = compiled.params
    if compiled.positional:
        params = tuple(params[name] for name in compiled.positiontup or ())
    cursor = conn.connection.driver_connection.cursor()
    try:
        cursor.execute(str(compiled), params)
        yield from cursor
    finally:
        cursor.close()
