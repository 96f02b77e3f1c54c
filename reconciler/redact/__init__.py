"""Redaction of a staged bundle, in place, before it is archived (see engine.py)."""
