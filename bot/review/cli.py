"""`python -m bot review ...`: the review queue from the command line.

review list                    how many messages wait for review, per reason
review export [--actor NAME] [--nlu-dir DIR] [--triage-file FILE]
                               write the labels to data/reviewed/ and tests/triage_eval/reviewed.yml
"""

from __future__ import annotations

import argparse
import getpass
from dataclasses import replace
from pathlib import Path

from bot.review.capture import REASON_LABELS
from bot.review.export import ExportTargets, export_labels
from bot.review.queue import list_items
from bot.storage.db import get_database


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot review",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="count the messages waiting for review")
    export = commands.add_parser("export", help="export the labels as training data")
    export.add_argument(
        "--actor", default=None, help="name in the audit trail (default: cli:<user>)"
    )
    defaults = ExportTargets()
    export.add_argument("--nlu-dir", type=Path, default=defaults.nlu_dir)
    export.add_argument("--triage-file", type=Path, default=defaults.triage_file)
    args = parser.parse_args(argv)
    db = get_database()
    if args.command == "list":
        waiting = list_items(db, per_page=1)
        for reason, count in waiting.counts.items():
            print(f"{count:5d}  {REASON_LABELS[reason]}")
        labelled = list_items(db, reviewed=True, per_page=1).total
        print(f"{labelled:5d}  labelled, waiting for export")
        return 0
    actor = args.actor or f"cli:{getpass.getuser()}"
    targets = replace(defaults, nlu_dir=args.nlu_dir, triage_file=args.triage_file)
    result = export_labels(db, actor, targets)
    print(result.summary())
    return 1 if result.refused else 0
