"""The review export's targets for a test: what it writes stays in one test folder."""

from __future__ import annotations

from pathlib import Path

from bot.paths import DATA_DIR
from bot.review.export import ExportTargets


def export_targets(root: Path) -> ExportTargets:
    """Targets that write below `root` only (NLU files, triage cases, the lock); the training
    data they check for duplicates is the project's own (data/)."""
    return ExportTargets(
        nlu_dir=root / "data" / "reviewed",
        triage_file=root / "triage_eval" / "reviewed.yml",
        training_dir=DATA_DIR,
        lock_file=root / "export.lock",
    )
