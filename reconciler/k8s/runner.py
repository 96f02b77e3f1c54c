"""`sbsched run --from-configmap NAMESPACE/NAME`: what a CronJob's pod runs.

The schedule is read from its ConfigMap through the API (the pod's ServiceAccount, or a kubeconfig when
run by hand), its files are written into a private temporary directory, and it runs once through the
same executor as the host's `sbsched run`, with a temporary state directory: the bundle has the same
layout, and the execution record is printed (the pod's log) instead of stored.

The slot: the CronJob controller names each Job `<cronjob>-<scheduled time in minutes since the epoch>`;
the pod gets that name through the downward API (`--job-name`), so a scheduled run carries its real
`scheduledTime` and the host's execution id `<schedule>-YYYYMMDDTHHMMZ`. Any other Job name (`kubectl
create job --from=cronjob/...`) makes a manual run."""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..base.clock import Clock
from ..base.errors import NotFound, UsageError
from .configmap import unpack
from ..run.executor import RunOptions, execute
from ..store.atomic import atomic_write
from ..store.paths import ensure_dir
from ..store.state import StateStore


def parse_reference(reference: str, default_namespace: str | None) -> tuple[str | None, str]:
    """`NAMESPACE/NAME` or `NAME` (the kubeconfig context's, or the pod's, namespace)."""
    namespace, _, name = reference.rpartition("/")
    if not name or "/" in namespace:
        raise UsageError(f"--from-configmap {reference!r}: expected NAMESPACE/NAME or NAME")
    return namespace or default_namespace, name


def scheduled_time(job_name: str | None, schedule: str) -> datetime | None:
    """The slot a CronJob's Job was created for, from its name; None for any other Job."""
    match = re.fullmatch(re.escape(schedule) + r"-(\d{1,12})", job_name or "")
    if not match:
        return None
    return datetime.fromtimestamp(int(match.group(1)) * 60, tz=timezone.utc)


def run_from_configmap(reference: str, clock: Clock, *, output_dir: Path, job_name: str | None = None,
                       kubeconfig: str | None = None, context: str | None = None) -> dict[str, Any]:
    """Run the ConfigMap's schedule once; the finished execution record."""
    from ..collect.kube.client import ApiError, ClusterSettings, KubeconfigError, open_cluster

    kube = open_cluster(ClusterSettings(kubeconfig, context))
    namespace, name = parse_reference(reference, kube.default_namespace)
    try:
        configmap = kube.get(f"/api/v1/namespaces/{namespace}/configmaps/{name}", timeout=30.0)
    except ApiError as exc:
        if exc.not_found:
            raise NotFound(f"no ConfigMap {namespace}/{name}: {exc.message}",
                           hint="`sbsched apply --target kubernetes` creates it") from None
        raise KubeconfigError(f"cannot read ConfigMap {namespace}/{name}: HTTP {exc.status}: {exc.message}") from None
    work = Path(tempfile.mkdtemp(prefix="sbsched-run-"))   # 0700: the spec files and the state stay private
    try:
        files_dir = ensure_dir(work / "files")
        set_name, schedule, spec, files = unpack(configmap.get("data") or {}, str(files_dir))
        for path, text in files.items():
            atomic_write(Path(path), text.encode("utf-8"))
        slot = scheduled_time(job_name, schedule)
        entry = {"set": set_name, "spec": spec, "status": {}}
        options = RunOptions(trigger="schedule" if slot else "manual", scheduled_time=slot,
                             output_dir=ensure_dir(output_dir), load_entry=lambda: entry,
                             status_sink=lambda change: None)
        return execute(StateStore(ensure_dir(work / "state")), schedule, clock, options).to_json()
    finally:
        shutil.rmtree(work, ignore_errors=True)


def default_output_dir() -> Path:
    """Where the bundle goes without --output-dir: the working directory, as troubleshoot's
    `support-bundle` writes it."""
    return Path(os.getcwd())
