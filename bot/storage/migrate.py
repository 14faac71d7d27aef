"""Schema migrations of the project's own tables (tickets, outbox, staff, audit, channel dedupe),
with Alembic. The revisions are in bot/storage/migrations/versions/; they are the one source of
the schema (models.py must agree with them: tests/storage/test_migrations.py checks it).

    python -m bot migrate [--url URL]          bring the database to the newest revision
    python -m bot migrate --status [--url URL] print its revision and the newest one
    python -m bot migrate --sql [--from REV]   print the SQL instead of running it (for a DBA)
    python -m bot migrate --revision MESSAGE   write a new revision from the models' changes

Contract of `upgrade(url)`:
- Revisions run one at a time, each in a transaction of its own (on SQLite too: the migration
  engine begins every transaction with BEGIN IMMEDIATE), so a revision that fails leaves nothing
  of itself behind and the database at the revision before it; MigrationError then names it.
- Migrations of one database never overlap: PostgreSQL holds an advisory lock, SQLite a lock
  file beside the database, for the whole run. Who comes second finds nothing left to do.
- A database made by the `create_all` of before migrations (our tables, no alembic_version) is
  compared with what the baseline revision creates and stamped at it; tables that differ raise
  SchemaMismatch listing the differences, and nothing is changed.
- Other tables in the same database (Rasa's tracker store) are neither compared nor touched.
- An unreachable database raises SQLAlchemy's OperationalError, as any other storage use does.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import io
import logging
import re
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Index, MetaData, create_engine, event, inspect
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.pool import NullPool

from bot.storage.db import CONNECT_TIMEOUT_SECONDS, database_url
from bot.storage.models import Base

logger = logging.getLogger(__name__)
# Alembic's INFO lines (plugin set-up, "Context impl …") would fill every program's log at its
# first use of storage; `upgrade` logs what it applied itself.
logging.getLogger("alembic").setLevel(logging.WARNING)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
BASELINE = "0001_baseline"
# pg_advisory_lock key for "a migration of this database is running" (ASCII "meso").
POSTGRES_LOCK_KEY = 0x6D65736F
SQLITE_LOCK_SUFFIX = ".migrate-lock"
SQLITE_BUSY_SECONDS = 120  # how long a migration connection waits for another one's lock


class MigrationError(RuntimeError):
    """A migration could not be applied. `revision` names it when one revision failed."""

    def __init__(self, message: str, revision: str | None = None) -> None:
        self.revision = revision
        super().__init__(message)


class SchemaMismatch(MigrationError):
    """The database has our tables without a revision, and they are not the baseline's."""


class DatabaseUnreachable(RuntimeError):
    """The database cannot be reached; the message names the setting and the URL."""


def configure_options(metadata: MetaData = Base.metadata) -> dict[str, Any]:
    """The options env.py gives `context.configure` (and the checks give compare_metadata)."""
    return {
        "target_metadata": metadata,
        "include_name": _only_tables_of(metadata),
        "transaction_per_migration": True,
        "transactional_ddl": True,  # SQLite too: its DDL is transactional once BEGIN is real
        "compare_type": True,
        "render_as_batch": True,  # generated revisions then alter SQLite tables correctly
    }


def _only_tables_of(metadata: MetaData) -> Callable[[str | None, str, dict[str, Any]], bool]:
    """Leave out of comparisons the tables in the database that are not ours (Rasa's)."""

    def include(name: str | None, type_: str, _parent: dict[str, Any]) -> bool:
        return type_ != "table" or name in metadata.tables

    return include


def alembic_config(url: str, versions_dir: Path | None = None) -> Config:
    """Alembic's configuration, made here rather than read from an alembic.ini.
    `versions_dir`: take the revisions from there instead (the tests' failing revisions)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("file_template", "%%(rev)s")  # ids are "0002_what_it_does"
    if versions_dir is not None:
        config.set_main_option("version_locations", str(versions_dir))
    config.attributes["url"] = url
    return config


def migration_engine(url: str) -> Engine:
    """An engine for migrations: one connection, real transactions on SQLite as well.

    pysqlite's own transaction handling sends no BEGIN before DDL, so a failed CREATE or
    ALTER would stay applied; this is SQLAlchemy's documented remedy (pysqlite's handling off,
    BEGIN emitted by us), with IMMEDIATE so that the write lock is taken at once.
    """
    if url.startswith("postgres"):
        connect_args = {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
        return create_engine(url, future=True, poolclass=NullPool, connect_args=connect_args)
    if not url.startswith("sqlite"):
        return create_engine(url, future=True, poolclass=NullPool)
    # Connecting sets WAL, which waits for another process's migration to finish: wait long.
    engine = create_engine(
        url, future=True, poolclass=NullPool, connect_args={"timeout": SQLITE_BUSY_SECONDS}
    )

    @event.listens_for(engine, "connect")
    def _autocommit_driver(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA journal_mode=WAL")

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


@contextlib.contextmanager
def _migration_lock(engine: Engine) -> Iterator[Connection]:
    """A connection holding the database's migration lock, with no transaction open.

    On SQLite the lock is a file beside the database, taken before connecting: connecting
    switches a new database to WAL, which must not race another start doing the same."""
    database = engine.url.database
    # No folder for the file: connecting fails below, naming the setting (not the lock file).
    on_disk = database not in (None, "", ":memory:")
    if engine.dialect.name == "sqlite" and on_disk and Path(str(database)).parent.is_dir():
        lock_path = Path(str(database) + SQLITE_LOCK_SUFFIX)
        with open(lock_path, "a") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                with engine.connect() as connection:
                    yield connection
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)
        return
    with engine.connect() as connection:
        if engine.dialect.name != "postgresql":
            yield connection
            return
        connection.exec_driver_sql(f"SELECT pg_advisory_lock({POSTGRES_LOCK_KEY})")
        connection.commit()
        try:
            yield connection
        finally:
            # A connection lost meanwhile has lost the lock with it: keep the original error.
            with contextlib.suppress(DBAPIError):
                connection.rollback()
                connection.exec_driver_sql(f"SELECT pg_advisory_unlock({POSTGRES_LOCK_KEY})")
                connection.commit()


def upgrade(url: str, versions_dir: Path | None = None) -> list[str]:
    """Bring the project's tables at `url` to the newest revision (see the module docstring);
    returns the revisions applied, oldest first. Raises MigrationError, SchemaMismatch, or
    SQLAlchemy's OperationalError when the database cannot be reached."""
    config = alembic_config(url, versions_dir)
    script = ScriptDirectory.from_config(config)
    applied: list[str] = []
    engine = migration_engine(url)
    try:
        with _migration_lock(engine) as connection:
            _adopt_unversioned(connection, script)
            current = MigrationContext.configure(connection).get_current_revision()
            connection.commit()  # alembic begins each revision's transaction itself
            config.attributes["connection"] = connection
            config.attributes["on_version_apply"] = [
                lambda step, **_: applied.append(step.up_revision_id)
            ]
            try:
                command.upgrade(config, "head")
            except Exception as exc:
                raise _failure(script, current, applied, exc) from exc
    finally:
        engine.dispose()
    if applied:
        logger.info("database schema: applied %s", ", ".join(applied))
    return applied


def migrate_at_start(url: str) -> list[str]:
    """What every profile runs once before starting its programs: `upgrade(url)`, with an
    unreachable database reported as DatabaseUnreachable (naming MESO_DATABASE_URL)."""
    try:
        return upgrade(url)
    except OperationalError as exc:
        raise DatabaseUnreachable(unreachable_message(url, exc)) from None


def _failure(
    script: ScriptDirectory, current: str | None, applied: list[str], exc: Exception
) -> MigrationError:
    if isinstance(exc, CommandError):  # e.g. a revision in the database that this code lacks
        return MigrationError(f"schema migration failed: {exc}")
    pending = [
        rev.revision for rev in reversed(list(script.iterate_revisions("head", current or "base")))
    ]
    failed = pending[len(applied)] if len(applied) < len(pending) else None
    reason = str(exc.orig) if isinstance(exc, DBAPIError) else str(exc)
    reason = reason.strip().splitlines()[0] if reason.strip() else type(exc).__name__
    revision = script.get_revision(failed) if failed else None
    where = (
        f"revision {failed} ({(revision.doc or '').strip().splitlines()[0]})"
        if revision is not None
        else "a revision"
    )
    at = applied[-1] if applied else current or "no revision (empty)"
    return MigrationError(
        f"schema migration failed at {where}: {type(exc).__name__}: {reason}; "
        f"nothing of it was applied, the database stays at {at}",
        revision=failed,
    )


def current_revision(url: str) -> str | None:
    """The revision the database at `url` is at (None: none recorded)."""
    engine = migration_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def head_revision() -> str:
    head = _script().get_current_head()
    assert head is not None
    return head


def all_revisions() -> list[str]:
    """Every revision, oldest first."""
    return [revision.revision for revision in reversed(list(_script().walk_revisions()))]


def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config("sqlite://"))


def sql_script(url: str, from_revision: str | None = None) -> str:
    """The SQL that brings a database of `url`'s kind from `from_revision` (default: empty) to
    the newest revision, without connecting to it."""
    config = alembic_config(url)
    buffer = io.StringIO()
    config.output_buffer = buffer
    command.upgrade(config, f"{from_revision}:head" if from_revision else "head", sql=True)
    return buffer.getvalue()


# --- adopting a database made by create_all --------------------------------------------------


def baseline_schema(script: ScriptDirectory, dialect_name: str) -> MetaData:
    """The tables and indexes the baseline revision creates, as a MetaData, without a database:
    its upgrade() runs offline with the table and index creation recorded instead of emitted.
    (The baseline only creates tables and indexes.)"""
    context = MigrationContext.configure(
        dialect_name=dialect_name, opts={"as_sql": True, "output_buffer": io.StringIO()}
    )
    created: list[Any] = []
    context.impl.create_table = lambda table, **_: created.append(table)  # type: ignore[method-assign]
    context.impl.create_index = lambda index, **_: created.append(index)  # type: ignore[method-assign]
    revision = script.get_revision(BASELINE)
    assert revision is not None
    with Operations.context(context):
        revision.module.upgrade()
    metadata = MetaData()
    for item in created:
        if isinstance(item, Index):
            table = metadata.tables[item.table.name]
            columns = [table.c[column.name] for column in item.columns]
            Index(item.name, *columns, unique=item.unique)
        else:
            item.to_metadata(metadata)
    return metadata


def _adopt_unversioned(connection: Connection, script: ScriptDirectory) -> None:
    """Stamp at the baseline a database that has our tables but no alembic_version, once they
    are checked to be the baseline's; raise SchemaMismatch when they are not."""
    context = MigrationContext.configure(connection)
    if context.get_current_revision() is not None:
        return
    baseline = baseline_schema(script, connection.dialect.name)
    present = set(inspect(connection).get_table_names()) & set(baseline.tables)
    if not present:
        return  # a new database: the revisions create everything
    context = MigrationContext.configure(connection, opts=configure_options(baseline))
    differences = compare_metadata(context, baseline)
    if differences:
        described = "\n".join(f"  - {_describe(diff)}" for diff in differences)
        raise SchemaMismatch(
            f"the database has the tables {', '.join(sorted(present))} but no schema revision, "
            f"and they differ from revision {BASELINE}:\n{described}\n"
            "Nothing was changed. Bring the tables to that schema (or move them aside), then "
            "run `python -m bot migrate` again."
        )
    context.stamp(script, BASELINE)
    connection.commit()


def _describe(diff: Any) -> str:
    """One line for one of compare_metadata's differences, e.g. "missing index
    tickets.ix_tickets_status" or "unexpected column audit_trail.note"."""
    if isinstance(diff, list):  # the changes to one column come as a list
        return "; ".join(_describe(item) for item in diff)
    kind, *rest = diff
    if kind.startswith("modify_"):  # (kind, schema, table, column, info, in database, baseline)
        _schema, table, column, _info, found, expected = rest
        return f"{table}.{column}: {kind[7:]} is {found!r}, the baseline has {expected!r}"
    action, _, what = kind.partition("_")
    item = rest[-1]
    name = getattr(item, "name", None) or ", ".join(
        str(column.name) for column in getattr(item, "columns", ())
    )
    table = getattr(getattr(item, "table", None), "name", None)
    label = f"{table}.{name}" if table and table != name else name
    return f"{'missing' if action == 'add' else 'unexpected'} {what} {label}"


# --- command line ----------------------------------------------------------------------------


def new_revision(message: str) -> Path:
    """Write a revision with the differences between the models and the newest revision (found
    on a scratch SQLite database brought to it); returns its path. Review it before committing."""
    with tempfile.TemporaryDirectory() as scratch:
        url = f"sqlite:///{Path(scratch) / 'scratch.db'}"
        upgrade(url)
        config = alembic_config(url)
        script = ScriptDirectory.from_config(config)
        number = len(list(script.walk_revisions())) + 1
        # alembic_version.version_num is VARCHAR(32): "0002_" and at most 27 more.
        slug = re.sub(r"[^a-z0-9]+", "_", message.lower())[:27].strip("_") or "change"
        engine = migration_engine(url)
        try:
            with engine.connect() as connection:
                config.attributes["connection"] = connection
                result = command.revision(
                    config, message=message, autogenerate=True, rev_id=f"{number:04d}_{slug}"
                )
        finally:
            engine.dispose()
    assert result is not None and not isinstance(result, list)
    return Path(result.path)


def _safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot migrate",
        description="Bring the project's tables to the newest schema revision (what every "
        "start does first).",
    )
    parser.add_argument("--url", help="SQLAlchemy URL (default: MESO_DATABASE_URL or var/meso.db)")
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--status", action="store_true", help="print the current revision")
    action.add_argument("--sql", action="store_true", help="print the SQL, run nothing")
    action.add_argument("--revision", metavar="MESSAGE", help="write a new revision")
    parser.add_argument("--from", dest="from_revision", help="with --sql: the starting revision")
    args = parser.parse_args(argv)
    url = args.url or database_url()
    try:
        if args.sql:
            sys.stdout.write(sql_script(url, args.from_revision))
            return 0
        if args.revision:
            print(f"new revision: {new_revision(args.revision)} (review it, then commit it)")
            return 0
        if args.status:
            print(f"{_safe_url(url)}: at {current_revision(url) or 'no revision'}")
            print(f"newest revision: {head_revision()}")
            return 0
        applied = migrate_at_start(url)
    except (MigrationError, DatabaseUnreachable) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OperationalError as exc:
        print(f"error: {unreachable_message(url, exc)}", file=sys.stderr)
        return 1
    done = f"applied {', '.join(applied)}" if applied else "already up to date"
    print(f"{_safe_url(url)}: {done} (at {head_revision()})")
    return 0


def unreachable_message(url: str, exc: OperationalError) -> str:
    """The message for a database that cannot be reached: the setting, the URL (no password)
    and the driver's reason."""
    reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
    return f"cannot reach the database MESO_DATABASE_URL={_safe_url(url)}: {reason}"
