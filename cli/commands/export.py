"""sbsched export kubernetes -f FILE: the set as CronJobs, ConfigMaps, a ServiceAccount and its RBAC."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .. import render
from ._common import valid_manifest

if TYPE_CHECKING:
    from reconciler.k8s.render import Export
    from reconciler.manifest.normalize import ScheduleSet


def default_image() -> str:
    """What `docker build -t sbsched:VERSION .` in this checkout tags (docs/kubernetes-cronjobs.md)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"sbsched:{version('sbsched')}"
    except PackageNotFoundError:
        return "sbsched:latest"


def export_kubernetes(manifest: str, *, image: str | None, namespace: str, output: str,
                      allow_literal_secrets: bool = False) -> int:
    from reconciler.k8s import render as k8s

    exported, _ = render_set(manifest, image=image, namespace=namespace, allow_literal_secrets=allow_literal_secrets)
    for warning in exported.warnings:
        render.err(f"sbsched: warning: {warning}")
    if output == "json":
        render.out(render.to_json({"apiVersion": "v1", "kind": "List", "items": exported.objects}))
    else:
        render.out(k8s.dump(exported.objects))
    return 0


def render_set(manifest: str, *, image: str | None, namespace: str,
               allow_literal_secrets: bool = False) -> tuple[Export, ScheduleSet]:
    """The manifest's objects: valid manifest or exit 2, no literal secret (LiteralSecrets, exit 1, each
    named on stderr) unless allowed, its files read, the RBAC derived, rendered."""
    from reconciler.base.errors import UsageError
    from reconciler.k8s.inputs import gather
    from reconciler.k8s.names import namespace_problem
    from reconciler.k8s.render import ExportOptions, render

    if problem := namespace_problem(namespace):
        raise UsageError(f"--namespace {namespace!r}: {problem}")
    desired = valid_manifest(manifest)
    _check_literal_secrets(desired, allow=allow_literal_secrets)
    options = ExportOptions(image=image or default_image(), namespace=namespace)
    return render(desired, gather(desired, namespace=namespace), options), desired


def _check_literal_secrets(desired: ScheduleSet, *, allow: bool) -> None:
    """Each secret the set writes literally, one line on stderr: a warning when allowed, else an error, and
    then LiteralSecrets (nothing is rendered)."""
    from reconciler.base.errors import LiteralSecrets
    from reconciler.k8s.literals import SUGGESTION, literal_secrets

    found = [line for name in sorted(desired.schedules) for line in literal_secrets(name, desired.schedules[name])]
    for line in found:
        render.err(f"sbsched: warning: {line}: exported as written (--allow-literal-secrets)" if allow
                   else f"sbsched: error: {line}")
    if found and not allow:
        raise LiteralSecrets(f"{len(found)} secret(s) written literally would go into ConfigMaps; nothing was "
                             "exported", hint=SUGGESTION)
