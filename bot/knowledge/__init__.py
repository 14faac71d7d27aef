"""The cited knowledge base: YAML in data/knowledge/, validated, loaded into SQL, read back."""

from bot.knowledge.files import KnowledgeFiles, read_knowledge_files
from bot.knowledge.store import KnowledgeBase, load_into_database

__all__ = ["KnowledgeBase", "KnowledgeFiles", "load_into_database", "read_knowledge_files"]
