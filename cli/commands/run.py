"""sbsched run NAME | --from-configmap NS/NAME: one execution now, in the foreground; exit 0 completed, 1 failed."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import render
from ._common import store


def run(name: str, *, state_dir: str | None, output: str, output_dir: str | None, lock_timeout: float) -> int:
    from reconciler.base.clock import SystemClock
    from reconciler.run.executor import RunOptions, execute

    options = RunOptions(output_dir=Path(output_dir).resolve() if output_dir else None, lock_timeout=lock_timeout)
    record = execute(store(state_dir, writes=True), name, SystemClock(), options)
    return _show(record, output)


def run_from_configmap(reference: str, *, output: str, output_dir: str | None, job_name: str | None) -> int:
    from reconciler.base.clock import SystemClock
    from reconciler.k8s.runner import default_output_dir, run_from_configmap as execute

    directory = Path(output_dir).resolve() if output_dir else default_output_dir()
    return _show(execute(reference, SystemClock(), output_dir=directory, job_name=job_name), output)


def _show(record: dict[str, Any], output: str) -> int:
    from reconciler.base.masking import mask_data

    record = mask_data(record)   # as executions.write stored it
    if output != "text":
        render.out(render.document(record, output))
    else:
        render.out(render.execution_text(record))
    return 0 if record["status"] == "completed" else 1
