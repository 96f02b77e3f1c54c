"""The options given before the command: one object for the whole invocation.

typer hands them to the app's callback, which sets them here; commands read them here instead of
taking each as an argument, so a new global option is one field below and one callback parameter.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class GlobalOptions:
    state_dir: str | None = None              # --state-dir (None: TROUBLESHOOT_SCHEDULER_DIR or the default)
    strict_permissions: bool | None = None    # --strict-permissions (None: SBSCHED_STRICT_PERMISSIONS decides)
    verbose: int = 0                          # -v: tracebacks at the error boundary
    argv: list[str] = field(default_factory=list)   # as given, for the audit log's command line


GLOBAL = GlobalOptions()
