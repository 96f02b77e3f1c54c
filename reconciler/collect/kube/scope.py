"""Which namespaces a collector reads: its own spec's, bounded by the schedule's `collect.namespaces`.

The schedule's list is a limit, never an addition: a collector naming a namespace outside it is
skipped (with that reason), and one naming none reads every namespace the schedule allows.
"""
from __future__ import annotations

from typing import Any

from .. import Skipped
from .client import Kube


def namespaces_in_scope(requested: Any, kube: Kube) -> list[str] | None:
    """The namespaces to read, or None for all of them (cluster-wide)."""
    own = [requested] if isinstance(requested, str) and requested else \
        [str(n) for n in requested or [] if str(n)] if isinstance(requested, list) else []
    limit = list(kube.namespaces)
    if not own:
        return limit or None
    if not limit:
        return own
    inside = [n for n in own if n in limit]
    if not inside:
        raise Skipped(f"namespace {', '.join(own)} is outside the schedule's collect.namespaces "
                      f"({', '.join(limit)})")
    return inside


def one_namespace(requested: Any, kube: Kube) -> str:
    """The namespace of a collector that reads one (configMap, secret...): its own, else the kubeconfig
    context's, as kubectl picks it; outside collect.namespaces it is skipped."""
    name = str(requested) if isinstance(requested, str) and requested else kube.default_namespace
    in_scope = namespaces_in_scope(name, kube)
    return in_scope[0] if in_scope else name
