"""The newest schema revision, read from the revision files without importing Alembic.

A process's first use of storage compares the database's alembic_version with it and only
loads Alembic (bot/storage/migrate.py) when they differ: after a start has migrated, the first
ticket of a program does not wait for Alembic's import. Anything unusual (no single newest
revision, a file that cannot be read this way) gives None, and the caller takes the full path.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

VERSIONS_DIR = Path(__file__).parent / "migrations" / "versions"


@cache
def newest_revision(versions_dir: Path = VERSIONS_DIR) -> str | None:
    """The one revision no other revision revises, or None."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in versions_dir.glob("*.py"):
        names = _assignments(path)
        revision, down = names.get("revision"), names.get("down_revision")
        if not isinstance(revision, str):
            return None
        revisions.add(revision)
        if isinstance(down, str):
            revised.add(down)
        elif isinstance(down, (tuple, list)):
            revised.update(str(item) for item in down)
        elif down is not None:
            return None
    heads = revisions - revised
    return heads.pop() if len(heads) == 1 else None


def _assignments(path: Path) -> dict[str, object]:
    """The module-level `revision` and `down_revision` literals of a revision file."""
    found: dict[str, object] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id in ("revision", "down_revision"):
            try:
                found[target.id] = ast.literal_eval(value)
            except ValueError:
                found[target.id] = object()  # not a literal: unusual, see newest_revision
    return found
