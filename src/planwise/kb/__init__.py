"""Loading and checking the declarative knowledge in knowledge/ (TOML)."""

from planwise.kb.loader import KnowledgeBase, load_knowledge

__all__ = ["KnowledgeBase", "load_knowledge"]
