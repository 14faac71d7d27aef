"""Command line: `python -m bot <command>`.

kb load            validate data/knowledge and print its version (answers read the files
                   themselves; a running server picks up an edit on the next message)
check              validate every clinic-editable data file
web                run the web server (widget demo, kiosk, clinician inbox) on port 8080
worker [--once]    deliver clinician notifications and drain the durable spool (health and
                   metrics on MESO_WORKER_PORT when set)
staff ...          manage clinician accounts (add [--role], passwd, role, pause, unpause,
                   reset-second-factor, list)
serve              start everything (what `make run` calls)
migrate [--url URL] [--sql | --status | --revision MESSAGE]
                   bring the project's tables to the newest schema revision (every start does)
domain             write the responses Rasa sends without the action server into domain.yml
detector train     train the statistical symptom-report detector (what `make detector` calls)
review list|export the review queue: count waiting messages; export labels as training data
"""

from __future__ import annotations

import argparse
import logging
import sys

from bot.datafiles import DataFileError


def _kb_load() -> int:
    from bot.knowledge import read_snapshot

    snapshot = read_snapshot()
    print(
        f"knowledge files ok: {len(snapshot.topics)} topics, {len(snapshot.source_titles)} "
        f"sources, version {snapshot.version}; nothing to load, servers read the files"
    )
    return 0


def _check() -> int:
    from bot.clinic import load_clinic
    from bot.knowledge import read_knowledge_files, read_snapshot
    from bot.language.identify import language_settings
    from bot.replies.texts import all_reply_texts
    from bot.web.pages import kiosk_topics
    from bot.web.ui_texts import ui_texts

    files = read_knowledge_files()
    kiosk_topics(load_clinic(), read_snapshot())
    all_reply_texts()
    language_settings()
    from bot.replies.notice import all_privacy_notices

    all_privacy_notices(load_clinic())
    ui_texts()
    from bot.channels.whatsapp.texts import load_all_texts
    from bot.triage.detect import build_pipeline
    from bot.triage.escalation import load_all_reply_texts

    load_all_texts()
    load_all_reply_texts()
    from bot.privacy.texts import all_privacy_texts

    all_privacy_texts()
    build_pipeline()  # checks every data/triage file and the rules' cross-references
    from bot.rasa.responses import check_domain
    from bot.rasa.topics import TOPIC_INTENTS, TOPIC_RULES, check_topic_examples

    check_domain()
    for block in (TOPIC_INTENTS, TOPIC_RULES):
        block.check()
    check_topic_examples()
    from bot.triage.statistical import detector_settings, read_corpus

    corpus = read_corpus(detector_settings().corpus_dir)
    print(
        f"data files ok: {len(files.topics)} topics, {len(files.sources)} sources, in "
        f"{', '.join(['en', *files.translations])}; clinic settings, replies, privacy notices, "
        f"widget and kiosk texts, triage rules and word lists, detector corpus ({len(corpus)} "
        "messages)"
    )
    return 0


def _train_detector() -> int:
    from bot.paths import TRIAGE_DETECTOR_MODEL
    from bot.triage.statistical import build_model

    count = build_model()
    print(f"statistical triage detector: trained on {count} messages -> {TRIAGE_DETECTOR_MODEL}")
    return 0


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "command",
        choices=[
            "kb",
            "check",
            "web",
            "worker",
            "staff",
            "serve",
            "migrate",
            "detector",
            "domain",
            "review",
        ],
    )
    parser.add_argument("rest", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    try:
        if args.command == "kb":
            if args.rest != ["load"]:
                parser.error("usage: python -m bot kb load")
            return _kb_load()
        if args.command == "check":
            return _check()
        if args.command == "domain":
            from bot.rasa.responses import write_domain
            from bot.rasa.topics import TOPIC_INTENTS, TOPIC_RULES

            changed = [write_domain(), TOPIC_INTENTS.write(), TOPIC_RULES.write()]
            print("domain.yml / data/rules.yml updated" if any(changed) else "already up to date")
            return 0
        if args.command == "detector":
            if args.rest != ["train"]:
                parser.error("usage: python -m bot detector train")
            return _train_detector()
        if args.command == "web":
            from bot.web.app import main as web_main

            web_main()
            return 0
        if args.command == "serve":
            from bot.serve import main as serve_main

            return serve_main(args.rest)
        if args.command == "migrate":
            from bot.storage.migrate import main as migrate_main

            return migrate_main(args.rest)
        if args.command == "review":
            from bot.review.cli import main as review_main

            return review_main(args.rest)
        if args.command == "worker":
            from bot.tickets.notify.worker import main as worker_main

            return worker_main(args.rest) or 0
        from bot.web.clinician.accounts import main as staff_main

        return staff_main(args.rest) or 0
    except DataFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
