"""A synthetic cluster the size troubleshoot's users report minutes and out-of-memory kills on (issue
23): by default 500 namespaces, 20,000 pods of 2 containers logging 200 lines each, 60,000 events and
2,000 custom resources of 20 CRDs.

Pods, events and custom resources are never stored: each is made from its position in key order
(namespace, name) when a request reaches it, so the server stays small whatever the size, a LIST page
costs its own items only (a continue token is found by bisection, not by a scan) and every answer is
the same from one run to the next. Namespaces and CRDs, a few hundred objects, are stored as any
added object is, so discovery serves the CRDs' kinds.

    api.synthesize(ClusterSize())            # or ClusterSize.with_pods(1_000): the same cluster, smaller
"""
from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .query import Matcher, decode_continue, encode_continue, object_key

GROUP = "synthetic.example.com"
CONTAINERS = ("main", "sidecar", "proxy", "init")
CREATED = "2026-01-01T00:00:00Z"


@dataclass(frozen=True)
class ClusterSize:
    namespaces: int = 500
    pods: int = 20_000
    containers: int = 2          # per pod, at most len(CONTAINERS)
    log_lines: int = 200         # per container
    events: int = 60_000
    crds: int = 20
    custom_resources: int = 2_000

    @classmethod
    def with_pods(cls, pods: int) -> ClusterSize:
        """The default cluster scaled to `pods`: namespaces, events and custom resources in proportion."""
        full = cls()
        ratio = pods / full.pods
        return cls(namespaces=max(1, round(full.namespaces * ratio)), pods=pods,
                   events=round(full.events * ratio), crds=full.crds,
                   custom_resources=max(full.crds, round(full.custom_resources * ratio)))

    def __post_init__(self) -> None:
        per_crd = self.custom_resources // self.crds if self.crds else 0
        if (self.pods % self.namespaces or self.events % self.namespaces or not 1 <= self.containers <= len(CONTAINERS)
                or (self.crds and (self.custom_resources % self.crds or per_crd % min(per_crd, self.namespaces)))):
            raise ValueError(f"{self}: pods and events must spread evenly over the namespaces, custom resources "
                             "over the CRDs and their namespaces, with 1 to 4 containers per pod")


class Family:
    """One kind's objects, `per_namespace` in each of `namespaces` (sorted), made from their position and
    named by it, so names are unique across namespaces as a Deployment's pods' are (same-named pods in
    many namespaces would make every logs link a replacement)."""

    def __init__(self, namespaces: list[str], per_namespace: int, prefix: str,
                 make: Callable[[str, str, int], dict[str, Any]]) -> None:
        self.namespaces, self.per_namespace, self.prefix, self.make = namespaces, per_namespace, prefix, make
        self._index = {name: i for i, name in enumerate(namespaces)}

    def __len__(self) -> int:
        return len(self.namespaces) * self.per_namespace

    def name(self, position: int) -> str:
        return f"{self.prefix}-{position:05d}"

    def key(self, position: int) -> tuple[str, str]:
        return self.namespaces[position // self.per_namespace], self.name(position)

    def object(self, position: int) -> dict[str, Any]:
        namespace, name = self.key(position)
        return self.make(namespace, name, position)

    def find(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The object so named, made afresh; None when the family has none by that name."""
        prefix, _, number = name.rpartition("-")
        if prefix != self.prefix or not number.isdigit() or len(number) != 5 or int(number) >= len(self) \
                or self.namespaces[int(number) // self.per_namespace] != namespace:
            return None
        return self.object(int(number))

    def span(self, namespace: str | None) -> tuple[int, int]:
        """The positions a list of one namespace (or of all, None) covers."""
        if namespace is None:
            return 0, len(self)
        if namespace not in self._index:
            return 0, 0
        start = self._index[namespace] * self.per_namespace
        return start, start + self.per_namespace


def page(family: Family, namespace: str | None, matches: Matcher | None, limit: int | None, token: str | None,
         resource_version: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """One page of a lazy list and its metadata, as `query.page` answers a stored one: from the first key
    after the token's, `limit` items passing the selectors. remainingItemCount is given only without
    selectors, as the apiserver gives it."""
    start, stop = family.span(namespace)
    if token:
        start = bisect.bisect_right(range(stop), decode_continue(token), lo=start, hi=stop, key=family.key)
    items: list[dict[str, Any]] = []
    position = start
    while position < stop and (not limit or len(items) <= limit):   # one past the page: is there more?
        obj = family.object(position)
        if matches is None or matches(obj):
            items.append(obj)
        position += 1
    metadata: dict[str, Any] = {"resourceVersion": resource_version}
    if limit and len(items) > limit:
        items = items[:limit]
        metadata["continue"] = encode_continue(resource_version, object_key(items[-1]))
        if matches is None:
            metadata["remainingItemCount"] = stop - position + 1
    return items, metadata


class Synthetic:
    """The lazy part of a synthetic cluster: families by (group, plural), and container logs."""

    def __init__(self, size: ClusterSize) -> None:
        self.size = size
        self.namespaces = [f"ns-{i:05d}" for i in range(size.namespaces)]
        self.families: dict[tuple[str, str], Family] = {
            ("", "pods"): Family(self.namespaces, size.pods // size.namespaces, "pod", self._pod),
            ("", "events"): Family(self.namespaces, size.events // size.namespaces, "event", self._event),
        }
        per_crd = size.custom_resources // size.crds if size.crds else 0
        spread = self.namespaces[:min(per_crd, size.namespaces)]
        for crd in range(size.crds):
            self.families[(GROUP, _plural(crd))] = Family(spread, per_crd // max(1, len(spread)), "widget",
                                                          self._widget(crd))

    def stored(self) -> list[dict[str, Any]]:
        """What is stored rather than made: the namespaces and the CRDs."""
        namespaces = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "uid": f"uid-{name}",
                                                                          "creationTimestamp": CREATED},
                       "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}
                      for name in self.namespaces]
        crds = [{"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                 "metadata": {"name": f"{_plural(crd)}.{GROUP}"},
                 "spec": {"group": GROUP, "scope": "Namespaced",
                          "names": {"plural": _plural(crd), "singular": _plural(crd)[:-1], "kind": _kind(crd),
                                    "listKind": f"{_kind(crd)}List"},
                          "versions": [{"name": "v1", "served": True, "storage": True,
                                        "schema": {"openAPIV3Schema": {"type": "object",
                                                                       "x-kubernetes-preserve-unknown-fields": True}}}]}}
                for crd in range(self.size.crds)]
        return namespaces + crds

    def log(self, namespace: str, pod: str, container: str, previous: bool) -> bytes | None:
        """A container's log (no previous one: no container restarted); None when there is no such container."""
        found = self.families[("", "pods")].find(namespace, pod)
        if previous or found is None or container not in CONTAINERS[:self.size.containers]:
            return None
        return b"".join(b"2026-01-01T00:%02d:%02dZ %s/%s/%s line %04d: synthetic log output\n"
                        % (n // 60 % 60, n % 60, namespace.encode(), pod.encode(), container.encode(), n)
                        for n in range(self.size.log_lines))

    def _pod(self, namespace: str, name: str, position: int) -> dict[str, Any]:
        containers = CONTAINERS[:self.size.containers]
        return {"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{namespace}-{name}",
                             "resourceVersion": str(position + 1), "creationTimestamp": CREATED,
                             "labels": {"app": f"app-{position % 10}"}},
                "spec": {"nodeName": f"node-{position % 50:02d}",
                         "containers": [{"name": c, "image": f"registry.example.com/{c}:1.0",
                                         "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}}}
                                        for c in containers]},
                "status": {"phase": "Running", "podIP": f"10.{position >> 16 & 255}.{position >> 8 & 255}."
                                                       f"{position & 255}",
                           "startTime": CREATED,
                           "containerStatuses": [{"name": c, "ready": True, "restartCount": 0,
                                                  "image": f"registry.example.com/{c}:1.0",
                                                  "imageID": f"registry.example.com/{c}@sha256:{position:064x}",
                                                  "containerID": f"containerd://{position:032x}{i:032x}",
                                                  "state": {"running": {"startedAt": CREATED}}}
                                                 for i, c in enumerate(containers)]}}

    def _event(self, namespace: str, name: str, position: int) -> dict[str, Any]:
        pods = self.families[("", "pods")]
        pod = pods.name(position // (self.size.events // self.size.namespaces) * pods.per_namespace
                        + position % pods.per_namespace)   # a pod of the event's namespace
        reason, message = [("Scheduled", f"Successfully assigned {namespace}/{pod} to node-{position % 50:02d}"),
                           ("Pulled", 'Container image "registry.example.com/main:1.0" already present on machine'),
                           ("Started", "Started container main")][position % 3]
        return {"apiVersion": "v1", "kind": "Event",
                "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{namespace}-{name}",
                             "resourceVersion": str(position + 1), "creationTimestamp": CREATED},
                "involvedObject": {"kind": "Pod", "namespace": namespace, "name": pod, "apiVersion": "v1"},
                "reason": reason, "message": message, "type": "Normal", "count": 1,
                "source": {"component": "kubelet"}, "firstTimestamp": CREATED, "lastTimestamp": CREATED}

    def _widget(self, crd: int) -> Callable[[str, str, int], dict[str, Any]]:
        def make(namespace: str, name: str, position: int) -> dict[str, Any]:
            return {"apiVersion": f"{GROUP}/v1", "kind": _kind(crd),
                    "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{crd}-{namespace}-{name}",
                                 "resourceVersion": str(position + 1), "creationTimestamp": CREATED},
                    "spec": {"replicas": position % 5, "size": ["small", "medium", "large"][position % 3]},
                    "status": {"ready": True}}
        return make


def _kind(crd: int) -> str:
    return f"Widget{crd:02d}"


def _plural(crd: int) -> str:
    return f"widget{crd:02d}s"
