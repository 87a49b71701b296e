"""Registered by fairseq_plugins/__init__.py (one module per concept)."""
