"""sbsched export kubernetes -f FILE: the set as CronJobs, ConfigMaps, a ServiceAccount and its RBAC."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .. import render
from ._common import valid_manifest

if TYPE_CHECKING:
    from reconciler.k8s.render import Export
    from reconciler.manifest.normalize import ScheduleSet


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
    """The manifest's objects (reconciler/k8s/export.py): valid manifest or exit 2, each secret written
    literally named on stderr, as a warning when allowed, else as an error before LiteralSecrets (exit 1)."""
    from reconciler.k8s.export import export_set, require_namespace

    require_namespace(namespace)
    desired = valid_manifest(manifest)

    def literal(line: str) -> None:
        render.err(f"sbsched: warning: {line}: exported as written (--allow-literal-secrets)"
                   if allow_literal_secrets else f"sbsched: error: {line}")

    return export_set(desired, namespace=namespace, image=image, allow_literal_secrets=allow_literal_secrets,
                      on_literal=literal), desired
