"""Corpus and output analysis (`nat-analyze`): complexity, multimodality, language mixing, reports."""
