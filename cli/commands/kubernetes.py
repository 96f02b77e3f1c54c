"""diff/apply --target kubernetes: the export's plan against a cluster, and its server-side apply."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .. import render
from ..render_cluster import cluster_plan_text
from .export import render_set

if TYPE_CHECKING:
    from reconciler.collect.kube.client import Kube
    from reconciler.k8s.plan import ClusterPlan


def diff(manifest: str, *, image: str | None, namespace: str, kubeconfig: str | None, context: str | None,
         output: str, allow_empty: bool, allow_literal_secrets: bool = False) -> int:
    cluster_plan, _, _ = _plan(manifest, image=image, namespace=namespace, kubeconfig=kubeconfig, context=context,
                               allow_empty=allow_empty, allow_literal_secrets=allow_literal_secrets)
    render.out(render.plan_json(cluster_plan) if output == "json" else cluster_plan_text(cluster_plan))
    return 1 if cluster_plan.has_changes else 0


def apply(manifest: str, *, image: str | None, namespace: str, kubeconfig: str | None, context: str | None,
          output: str, allow_empty: bool, dry_run: bool, allow_literal_secrets: bool = False) -> int:
    from reconciler.k8s.cluster import execute

    cluster_plan, desired, kube = _plan(manifest, image=image, namespace=namespace, kubeconfig=kubeconfig,
                                        context=context, allow_empty=allow_empty,
                                        allow_literal_secrets=allow_literal_secrets)
    if not dry_run and cluster_plan.has_changes:
        execute(kube, cluster_plan, desired)
    if output == "json":
        render.out(render.plan_json(cluster_plan))
    else:
        render.out(cluster_plan_text(cluster_plan, applied=not dry_run, dry_run=dry_run))
    return 0


def _plan(manifest: str, *, image: str | None, namespace: str, kubeconfig: str | None, context: str | None,
          allow_empty: bool, allow_literal_secrets: bool) -> tuple[ClusterPlan, list[dict[str, object]], Kube]:
    from reconciler.base.errors import LiteralSecrets, UsageError
    from reconciler.collect.kube.client import ClusterSettings, open_cluster
    from reconciler.k8s.export import cluster_plan

    try:
        exported, desired = render_set(manifest, image=image, namespace=namespace,
                                       allow_literal_secrets=allow_literal_secrets)
    except LiteralSecrets as exc:   # apply and diff: an error (exit 2), before the cluster is contacted
        raise UsageError(exc.message.replace("nothing was exported", "nothing was planned"), hint=exc.hint) from None
    for warning in exported.warnings:
        render.err(f"sbsched: warning: {warning}")
    kube = open_cluster(ClusterSettings(kubeconfig, context))
    planned = cluster_plan(kube, desired, exported.objects, namespace=namespace, allow_empty=allow_empty)
    return planned, exported.objects, kube
