"""Alembic's environment for the project's own tables (bot/storage/models.py).

Run through bot/storage/migrate.py, which passes an open connection (online) or a URL (offline,
`--sql`) in the Alembic config's attributes; there is no alembic.ini. Every revision runs in a
transaction of its own, on SQLite too (see `migrate.migration_engine`), so a revision that fails
leaves the database at the revision before it.
"""

from __future__ import annotations

from alembic import context

from bot.storage.migrate import configure_options

config = context.config
if context.is_offline_mode():
    context.configure(url=config.attributes["url"], literal_binds=True, **configure_options())
    with context.begin_transaction():
        context.run_migrations()
else:
    connection = config.attributes["connection"]
    context.configure(
        connection=connection,
        on_version_apply=config.attributes.get("on_version_apply", ()),
        **configure_options(),
    )
    with context.begin_transaction():
        context.run_migrations()
