"""The cited knowledge base: YAML under data/knowledge/, validated, loaded into SQL, read as answers."""

from bot.knowledge.files import KnowledgeFiles, read_knowledge_files
from bot.knowledge.store import KnowledgeBase, load_into_database

__all__ = ["KnowledgeBase", "KnowledgeFiles", "load_into_database", "read_knowledge_files"]
