"""`export kubernetes` and `diff/apply --target kubernetes`: a valid set rendered as CronJobs, ConfigMaps,
a ServiceAccount and its RBAC, with its files read (k8s/inputs.py) and no secret written literally unless
allowed; and that export's plan against a cluster."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from ..base.errors import ConflictError, LiteralSecrets, UsageError
from ..manifest.normalize import ScheduleSet
from .inputs import gather
from .literals import SUGGESTION, literal_secrets
from .names import namespace_problem
from .render import Export, ExportOptions, render

if TYPE_CHECKING:
    from ..collect.kube.client import Kube
    from .plan import ClusterPlan


def default_image() -> str:
    """What `docker build -t sbsched:VERSION .` in this checkout tags (docs/kubernetes-cronjobs.md)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"sbsched:{version('sbsched')}"
    except PackageNotFoundError:
        return "sbsched:latest"


def require_namespace(namespace: str) -> None:
    """Raises UsageError for what is no namespace name (checked before the manifest is read)."""
    if problem := namespace_problem(namespace):
        raise UsageError(f"--namespace {namespace!r}: {problem}")


def export_set(desired: ScheduleSet, *, namespace: str, image: str | None = None, allow_literal_secrets: bool = False,
               on_literal: Callable[[str], None] = lambda line: None) -> Export:
    """The set's objects. Each secret the set writes literally goes to `on_literal` first (one line, naming
    it); then, unless allowed, LiteralSecrets (exit 1) and nothing is rendered. Raises SpecError for a file
    that cannot be read."""
    found = [line for name in sorted(desired.schedules) for line in literal_secrets(name, desired.schedules[name])]
    for line in found:
        on_literal(line)
    if found and not allow_literal_secrets:
        raise LiteralSecrets(f"{len(found)} secret(s) written literally would go into ConfigMaps; nothing was "
                             "exported", hint=SUGGESTION)
    options = ExportOptions(image=image or default_image(), namespace=namespace)
    return render(desired, gather(desired, namespace=namespace), options)


def cluster_plan(kube: Kube, desired: ScheduleSet, objects: list[dict[str, Any]], *, namespace: str,
                 allow_empty: bool) -> ClusterPlan:
    """The export's plan against the cluster; ConflictError when an empty set would delete every CronJob
    of the set and `allow_empty` does not say so."""
    from .cluster import plan

    planned = plan(kube, desired.name, namespace, objects)
    if not desired.schedules and not allow_empty and any(c.ref.kind == "CronJob" and c.action.value == "delete"
                                                         for c in planned.changes):
        raise ConflictError(f"the manifest lists no schedules: that would delete every CronJob of set "
                            f"{desired.name!r}", hint="pass --allow-empty if that is what you want")
    return planned
