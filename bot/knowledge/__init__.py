"""The cited knowledge base: YAML in data/knowledge/, validated, held in memory as a snapshot."""

from bot.knowledge.files import KnowledgeFiles, knowledge_version, read_knowledge_files
from bot.knowledge.snapshot import KnowledgeBase, KnowledgeSnapshot, TopicEntry, read_snapshot

__all__ = [
    "KnowledgeBase",
    "KnowledgeFiles",
    "KnowledgeSnapshot",
    "TopicEntry",
    "knowledge_version",
    "read_knowledge_files",
    "read_snapshot",
]
