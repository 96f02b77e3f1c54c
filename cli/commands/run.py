"""sbsched run NAME: one execution now, in the foreground; exit 0 completed, 1 failed."""
from __future__ import annotations

from pathlib import Path

from .. import render
from ._common import store


def run(name: str, *, state_dir: str | None, output: str, output_dir: str | None, lock_timeout: float) -> int:
    from reconciler.clock import SystemClock
    from reconciler.executor import RunOptions, execute

    options = RunOptions(output_dir=Path(output_dir).resolve() if output_dir else None, lock_timeout=lock_timeout)
    record = execute(store(state_dir), name, SystemClock(), options)
    if output != "text":
        render.out(render.document(record, output))
    else:
        render.out(render.execution_text(record))
    return 0 if record["status"] == "completed" else 1
