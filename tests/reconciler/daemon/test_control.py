"""The daemon's commands without the command line: flags merged for a restart, a stop with nothing
running, one reconcile pass with nothing due."""
from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.base.errors import SbschedError
from reconciler.daemon import control


def test_restart_without_a_daemon_starts_with_the_given_flags_only(tmp_path: Path) -> None:
    tmp_path.chmod(0o700)
    running, merged = control.restart_flags(tmp_path, {"maxConcurrent": 2, "logFormat": None})
    assert running is None and merged == {"maxConcurrent": 2}
    with pytest.raises(SbschedError, match="checkInterval"):
        control.restart_flags(tmp_path, {"checkInterval": "soon"})


def test_stop_with_nothing_running_and_a_pass_with_nothing_due(tmp_path: Path) -> None:
    tmp_path.chmod(0o700)
    assert control.stop(tmp_path, grace=0.1) is None
    assert control.reconcile_once(tmp_path, {"logFormat": "json"}) == []
