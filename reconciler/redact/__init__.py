"""Redaction of a staged bundle, in place, before it is archived (see engine.py)."""
from __future__ import annotations

from .engine import RedactionReport, redact_tree
from .spec import Redactor, RedactorSpecError, literal_redactor, load_redactor_specs

__all__ = ["RedactionReport", "Redactor", "RedactorSpecError", "literal_redactor", "load_redactor_specs",
           "redact_tree"]
