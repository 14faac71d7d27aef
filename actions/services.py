"""The domain services one action-server process shares, built on first use."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache

from bot.clinic import ClinicConfig, clinic_config
from bot.evidence.notes import benefit_detector
from bot.knowledge import KnowledgeBase, load_into_database, read_knowledge_files
from bot.knowledge.store import KnowledgeBaseEmpty
from bot.storage import Database, get_database

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Services:
    db: Database
    kb: KnowledgeBase
    clinic: ClinicConfig


@lru_cache(maxsize=1)
def services() -> Services:
    db = get_database()
    try:
        kb = KnowledgeBase(db, benefit_detector())
    except KnowledgeBaseEmpty:
        logger.warning("knowledge base empty: loading it from data/knowledge")
        load_into_database(db, read_knowledge_files())
        kb = KnowledgeBase(db, benefit_detector())
    return Services(db=db, kb=kb, clinic=clinic_config())
