"""Which namespaces (and pods) a collector reads: its own spec's, bounded by the schedule's
`collect.namespaces`.

The schedule's list is a limit, never an addition: a collector naming a namespace outside it is
skipped (with that reason), and one naming none reads every namespace the schedule allows.
"""
from __future__ import annotations

from typing import Any, Iterator, Sequence

from .. import CollectContext, Skipped
from .client import ApiError, Kube
from .lists import Listed, pages


class OutOfScope(Skipped):
    """The collector names only namespaces outside collect.namespaces: the run skips it."""


def resolve(requested: Any, limit: Sequence[str]) -> list[str] | None:
    """The namespaces a collector whose spec asks for `requested` reads under the schedule's `limit`,
    or None for all of them (cluster-wide). Pure: `sbsched check` derives access with it too."""
    own = [requested] if isinstance(requested, str) and requested else \
        [str(n) for n in requested or [] if str(n)] if isinstance(requested, list) else []
    if not own:
        return list(limit) or None
    if not limit:
        return own
    inside = [n for n in own if n in limit]
    if not inside:
        raise OutOfScope(f"namespace {', '.join(own)} is outside the schedule's collect.namespaces "
                         f"({', '.join(limit)})")
    return inside


def resolve_one(requested: Any, limit: Sequence[str], default_namespace: str) -> str:
    """The namespace of a collector that reads one (configMap, secret...): its own, else the kubeconfig
    context's, as kubectl picks it; outside `limit` it is skipped."""
    name = str(requested) if isinstance(requested, str) and requested else default_namespace
    in_scope = resolve(name, limit)
    return in_scope[0] if in_scope else name


def namespaces_in_scope(requested: Any, kube: Kube) -> list[str] | None:
    return resolve(requested, kube.namespaces)


def one_namespace(requested: Any, kube: Kube) -> str:
    return resolve_one(requested, kube.namespaces, kube.default_namespace)


def matching_pods(kube: Kube, ctx: CollectContext, params: Any, *, errors_file: str) -> Iterator[dict[str, Any]]:
    """The pods a collector's `namespace` and `selector` name, slimmed to what collectors use of them
    (`containers`, `initContainers`: names; `neverRestarted`: those whose status counts 0 restarts, so
    without a previous log), so a listing of thousands keeps no specs in memory. Yielded page by page:
    a collector starts on the first page's pods while the next pages come (a 20,000-pod cluster lists
    in 40). A listing error goes to `errors_file` (troubleshoot's shape: a list of messages) once the
    listing ends; a 403 is a warning."""
    selector = ",".join(str(s) for s in params.get("selector") or [])
    scope = namespaces_in_scope(params.get("namespace"), kube)
    errors: list[str] = []
    listed = Listed()
    for namespace in scope if scope is not None else [None]:
        path = f"/api/v1/namespaces/{namespace}/pods" if namespace else "/api/v1/pods"
        try:
            for page in pages(kube, path, {"labelSelector": selector or None}, timeout=ctx.timeout, listed=listed):
                yield from map(_slim, page.get("items") or [])
        except ApiError as exc:
            errors.append(exc.message)
            if exc.forbidden:
                ctx.warnings.append(f"{errors_file}: {exc.message}")
    ctx.warnings.extend(listed.restarts)
    if errors:
        ctx.output.write_json(errors_file, errors)


def _slim(pod: dict[str, Any]) -> dict[str, Any]:
    spec = pod.get("spec") or {}
    return {"namespace": pod["metadata"].get("namespace", ""), "name": pod["metadata"]["name"],
            "containers": [str(c["name"]) for c in spec.get("containers") or []],
            "initContainers": [str(c["name"]) for c in spec.get("initContainers") or []],
            "neverRestarted": tuple(str(c.get("name")) for key in ("containerStatuses", "initContainerStatuses")
                                    for c in (pod.get("status") or {}).get(key) or [] if c.get("restartCount") == 0)}
