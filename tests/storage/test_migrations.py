"""Schema migrations (bot/storage/migrate.py), on SQLite and on a real PostgreSQL: the migrated
schema is the models', a create_all database is adopted, a failing revision leaves nothing of
itself, concurrent starts migrate once, and a start with a failing migration starts nothing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine

from bot.paths import PROJECT_ROOT
from bot.serve import Stack, StackSettings
from bot.storage import migrate
from bot.storage.db import Database
from bot.storage.models import Base
from bot.storage.schema_version import newest_revision
from tests.support.servers import free_port

BROKEN_REVISION = '''"""Add a reminder table and a ticket column, then fail.

Revision ID: 9999_broken
Revises: {head}
"""

import sqlalchemy as sa
from alembic import op

revision = "9999_broken"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("reminders", sa.Column("id", sa.Integer(), primary_key=True))
    op.add_column("tickets", sa.Column("reminder_id", sa.Integer(), nullable=True))
    op.execute("INSERT INTO no_such_table VALUES (1)")


def downgrade() -> None:
    pass
'''


@pytest.fixture
def engine(database_url: str) -> Engine:
    engine = create_engine(database_url, future=True)
    yield engine
    engine.dispose()


def _differences(engine: Engine, metadata=Base.metadata) -> list:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts=migrate.configure_options(metadata))
        return compare_metadata(context, metadata)


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def test_migrated_schema_is_the_models(database_url: str, engine: Engine) -> None:
    assert migrate.upgrade(database_url) == migrate.all_revisions()
    assert _differences(engine) == []
    assert migrate.current_revision(database_url) == migrate.head_revision()
    assert migrate.upgrade(database_url) == []  # nothing left to do


def test_newest_revision_read_without_alembic_is_alembics_head() -> None:
    assert newest_revision() == migrate.head_revision()


def test_first_use_of_a_migrated_database_does_not_load_alembic(tmp_path: Path) -> None:
    """After a start has migrated, a program's first use of storage checks alembic_version and
    does not import Alembic (seconds on a busy machine, inside a ticket's time budget)."""
    url = f"sqlite:///{tmp_path / 'meso.db'}"
    migrate.upgrade(url)
    program = (
        "import sys\n"
        "from sqlalchemy import text\n"
        "from bot.storage.db import Database\n"
        f"database = Database({url!r})\n"
        "with database.session() as session:\n"
        "    session.execute(text('SELECT count(*) FROM tickets'))\n"
        "print(sorted(name for name in sys.modules if name.startswith('alembic')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program],
        cwd=PROJECT_ROOT,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_first_use_of_a_database_migrates_it(database_url: str, engine: Engine) -> None:
    database = Database(database_url)
    with database.session() as session:
        session.execute(text("SELECT count(*) FROM tickets"))
    database.dispose()
    assert migrate.current_revision(database_url) == migrate.head_revision()
    assert _differences(engine) == []


def test_other_tables_in_the_database_are_left_alone(database_url: str, engine: Engine) -> None:
    """Rasa's tracker store may share the database: its tables are neither compared nor touched."""
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE events (id INTEGER PRIMARY KEY, data TEXT)"))
        connection.execute(text("INSERT INTO events VALUES (1, 'kept')"))
    migrate.upgrade(database_url)
    assert _differences(engine) == []
    with engine.connect() as connection:
        assert connection.execute(text("SELECT data FROM events")).scalar_one() == "kept"


def _baseline() -> ScriptDirectory:
    return ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))


def test_a_database_made_by_create_all_is_adopted(database_url: str, engine: Engine) -> None:
    """Tables as the create_all of before migrations made them, with a ticket: stamped at the
    baseline, the ticket kept."""
    old = migrate.baseline_schema(_baseline(), engine.dialect.name)
    old.create_all(engine)
    with engine.begin() as connection:
        connection.execute(
            old.tables["tickets"].insert(),
            {
                "id": "t1",
                "created_at": datetime(2025, 1, 1, tzinfo=timezone.utc),
                "channel": "rest",
                "conversation_id": "c",
                "message_id": "m",
                "severity": "urgent",
                "symptoms": [],
                "trigger_text": "swollen",
                "transcript": [],
                "status": "open",
            },
        )
    migrate.upgrade(database_url)
    assert migrate.current_revision(database_url) == migrate.head_revision()
    assert _differences(engine) == []
    with engine.connect() as connection:
        assert connection.execute(text("SELECT id FROM tickets")).scalars().all() == ["t1"]


def test_tables_that_differ_from_the_baseline_are_refused(
    database_url: str, engine: Engine
) -> None:
    old = migrate.baseline_schema(_baseline(), engine.dialect.name)
    old.create_all(engine)
    with engine.begin() as connection:
        connection.execute(text("DROP INDEX ix_tickets_status"))
        connection.execute(text("CREATE TABLE x (id INTEGER)"))  # not ours: ignored
        connection.execute(text("ALTER TABLE audit_trail ADD COLUMN note TEXT"))
    with pytest.raises(migrate.SchemaMismatch) as raised:
        migrate.upgrade(database_url)
    message = str(raised.value)
    assert "missing index tickets.ix_tickets_status" in message, message
    assert "unexpected column audit_trail.note" in message, message
    assert "0001_baseline" in message
    assert not any(line.endswith(" x") for line in message.splitlines())  # not ours
    assert "alembic_version" not in _tables(engine)  # nothing changed


@pytest.fixture
def broken_versions(tmp_path: Path) -> Path:
    """The project's revisions plus 9999_broken after the newest, which creates a table, adds a
    column, then fails."""
    versions = tmp_path / "versions"
    shutil.copytree(migrate.MIGRATIONS_DIR / "versions", versions)
    head = migrate.head_revision()
    (versions / "9999_broken.py").write_text(BROKEN_REVISION.replace("{head}", head))
    return versions


def _assert_broken_revision_left_nothing(engine: Engine, url: str) -> None:
    assert migrate.current_revision(url) == migrate.head_revision()
    assert "reminders" not in _tables(engine)
    assert "reminder_id" not in {c["name"] for c in inspect(engine).get_columns("tickets")}
    assert _differences(engine) == []


def test_a_failing_revision_leaves_nothing_of_itself(
    database_url: str, engine: Engine, broken_versions: Path
) -> None:
    """From an empty database: the project's revisions commit, 9999_broken is rolled back
    whole (on SQLite too: its table and column would stay without a real BEGIN), and the
    error names it."""
    with pytest.raises(migrate.MigrationError) as raised:
        migrate.upgrade(database_url, versions_dir=broken_versions)
    assert raised.value.revision == "9999_broken"
    message = str(raised.value)
    assert "9999_broken (Add a reminder table and a ticket column, then fail.)" in message
    assert "no_such_table" in message and f"stays at {migrate.head_revision()}" in message
    _assert_broken_revision_left_nothing(engine, database_url)
    # Fixed code can then carry on from there.
    assert migrate.upgrade(database_url) == []


def test_a_failing_baseline_leaves_an_empty_database(database_url: str, engine: Engine) -> None:
    """The real baseline fails at its second table (a view already holds the name): the first
    table it created is rolled back with it."""
    with engine.begin() as connection:
        connection.execute(text("CREATE VIEW staff_users AS SELECT 1 AS id"))
    with pytest.raises(migrate.MigrationError) as raised:
        migrate.upgrade(database_url)
    assert raised.value.revision == "0001_baseline"
    assert "0001_baseline (Baseline:" in str(raised.value)
    assert _tables(engine) & set(Base.metadata.tables) == set()
    assert migrate.current_revision(database_url) is None


def test_concurrent_starts_migrate_once(database_url: str, engine: Engine) -> None:
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def start() -> None:
        try:
            results.append(migrate.upgrade(database_url))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(results) == [[], [], migrate.all_revisions()]
    assert _differences(engine) == []


def test_sql_for_a_dba_creates_every_table() -> None:
    sql = migrate.sql_script("postgresql://")
    for table in Base.metadata.tables:
        assert f"CREATE TABLE {table} (" in sql
    assert "TIMESTAMP WITH TIME ZONE" in sql and "alembic_version" in sql
    assert sql.count("BEGIN;") == sql.count("COMMIT;") == len(migrate.all_revisions())


def test_a_start_with_a_failing_migration_starts_nothing(tmp_path: Path) -> None:
    """Stack.start (every profile's start) migrates first: a failure names the revision and
    nothing is started, not even supervisord."""
    work = tmp_path / "var"
    work.mkdir()
    url = f"sqlite:///{work / 'meso.db'}"
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("CREATE VIEW staff_users AS SELECT 1 AS id"))
    engine.dispose()
    stack = Stack(StackSettings(work_dir=work, rasa_port=0, action_port=0, web_port=0))
    with pytest.raises(migrate.MigrationError, match="revision 0001_baseline"):
        stack.start()
    assert not stack.running
    assert not (work / "supervisord.conf").exists()


def test_serve_and_migrate_commands_report_the_failing_migration(tmp_path: Path) -> None:
    """`python -m bot serve` (make run) and `python -m bot migrate`, with MESO_DATABASE_URL: the
    error names the revision, and serve starts nothing."""
    url = f"sqlite:///{tmp_path / 'meso.db'}"
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("CREATE VIEW staff_users AS SELECT 1 AS id"))
    engine.dispose()
    work = tmp_path / "var"
    env = {**os.environ, "MESO_DATABASE_URL": url, "MESO_VAR_DIR": str(work)}
    env["PYTHONPATH"] = str(PROJECT_ROOT)
    for command in (["migrate"], ["serve"]):
        result = subprocess.run(
            [sys.executable, "-m", "bot", *command],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 1, result
        assert "schema migration failed at revision 0001_baseline (Baseline:" in result.stderr
        assert "Traceback" not in result.stderr
    assert not (work / "supervisord.conf").exists()


def test_an_unreachable_database_names_the_setting(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}"
    with pytest.raises(migrate.DatabaseUnreachable, match="MESO_DATABASE_URL=sqlite:///"):
        migrate.migrate_at_start(url)


def test_an_unreachable_postgres_names_the_setting_and_hides_the_password() -> None:
    url = f"postgresql://meso:s3cret@127.0.0.1:{free_port()}/meso"
    with pytest.raises(migrate.DatabaseUnreachable) as raised:
        migrate.migrate_at_start(url)
    message = str(raised.value)
    assert "MESO_DATABASE_URL=postgresql://meso:***@127.0.0.1" in message, message
    assert "s3cret" not in message and "refused" in message
