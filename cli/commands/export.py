"""sbsched export kubernetes -f FILE: the set as CronJobs, ConfigMaps, a ServiceAccount and its RBAC."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .. import render
from ._common import valid_manifest

if TYPE_CHECKING:
    from reconciler.k8s.render import Export
    from reconciler.manifest import ScheduleSet


def default_image() -> str:
    """What `docker build -t sbsched:VERSION .` in this checkout tags (docs/kubernetes-cronjobs.md)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"sbsched:{version('sbsched')}"
    except PackageNotFoundError:
        return "sbsched:latest"


def export_kubernetes(manifest: str, *, image: str | None, namespace: str, output: str) -> int:
    from reconciler.k8s import render as k8s

    exported, _ = render_set(manifest, image=image, namespace=namespace)
    for warning in exported.warnings:
        render.err(f"sbsched: warning: {warning}")
    if output == "json":
        render.out(render.to_json({"apiVersion": "v1", "kind": "List", "items": exported.objects}))
    else:
        render.out(k8s.dump(exported.objects))
    return 0


def render_set(manifest: str, *, image: str | None, namespace: str) -> tuple[Export, ScheduleSet]:
    """The manifest's objects: valid manifest or exit 2, its files read, the RBAC derived, rendered."""
    from reconciler.errors import UsageError
    from reconciler.k8s.inputs import gather
    from reconciler.k8s.names import namespace_problem
    from reconciler.k8s.render import ExportOptions, render

    if problem := namespace_problem(namespace):
        raise UsageError(f"--namespace {namespace!r}: {problem}")
    desired = valid_manifest(manifest)
    options = ExportOptions(image=image or default_image(), namespace=namespace)
    return render(desired, gather(desired, namespace=namespace), options), desired
