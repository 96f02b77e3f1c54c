"""Redaction of a staged bundle, in place, before it is archived (see tree.py)."""
from __future__ import annotations

from .spec import Redactor, RedactorSpecError, literal_redactor, load_redactor_specs
from .tree import RedactionReport, redact_tree

__all__ = ["RedactionReport", "Redactor", "RedactorSpecError", "literal_redactor", "load_redactor_specs",
           "redact_tree"]
