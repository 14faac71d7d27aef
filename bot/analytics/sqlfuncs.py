"""SQL expressions whose spelling differs between SQLite and PostgreSQL, the two databases this
project runs on. Each compiles to the form its dialect understands."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float, Integer, String
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, FunctionElement


class epoch_seconds(FunctionElement[Any]):
    """Seconds since 1970-01-01 UTC of a DateTime column (this project stores UTC times)."""

    type = Float()
    name = "epoch_seconds"
    inherit_cache = True


@compiles(epoch_seconds)
def _epoch_default(element: epoch_seconds, compiler: Any, **kw: Any) -> str:
    return f"EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})"


@compiles(epoch_seconds, "sqlite")
def _epoch_sqlite(element: epoch_seconds, compiler: Any, **kw: Any) -> str:
    # SQLite keeps the UTC time as text; julianday() reads it, fractions of a second included.
    return f"((julianday({compiler.process(element.clauses, **kw)}) - 2440587.5) * 86400.0)"


class floor_int(FunctionElement[Any]):
    """The integer part of a NON-NEGATIVE number (SQLite's CAST truncates, PostgreSQL's rounds)."""

    type = Integer()
    name = "floor_int"
    inherit_cache = True


@compiles(floor_int)
def _floor_default(element: floor_int, compiler: Any, **kw: Any) -> str:
    return f"CAST(FLOOR({compiler.process(element.clauses, **kw)}) AS INTEGER)"


@compiles(floor_int, "sqlite")
def _floor_sqlite(element: floor_int, compiler: Any, **kw: Any) -> str:
    return f"CAST({compiler.process(element.clauses, **kw)} AS INTEGER)"


class json_text(FunctionElement[Any]):
    """json_text(column, "a", "b"): the text at data.a.b of a column holding JSON as text;
    NULL when the path is missing. Keys are literals of this module's callers, not input."""

    type = String()
    name = "json_text"
    inherit_cache = False  # `path` is not part of the cache key: never reuse a compiled form

    def __init__(self, column: ColumnElement[Any], *path: str) -> None:
        for key in path:
            if not key.replace("_", "").isalnum():
                raise ValueError(f"unsafe JSON key {key!r}")
        self.path = path
        super().__init__(column)


@compiles(json_text)
def _json_default(element: json_text, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"(CAST({column} AS JSON) #>> '{{{','.join(element.path)}}}')"


@compiles(json_text, "sqlite")
def _json_sqlite(element: json_text, compiler: Any, **kw: Any) -> str:
    column = compiler.process(element.clauses, **kw)
    return f"json_extract({column}, '$.{'.'.join(element.path)}')"
