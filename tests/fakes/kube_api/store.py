"""The served cluster's content: discovery and objects, kept apart from the bundle so that a test can
add, create and delete freely and `reset` can go back to the bundle's content.

Objects are indexed by group and plural resource, the way the apiserver keys its storage, and found
from their own `apiVersion`/`kind` through discovery. A kind discovery lacks (an object of a kind
`resources.json` did not list, a CRD's served version) is given a discovery entry, so every object
the cluster holds can be listed through the API."""
from __future__ import annotations

import copy
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from .bundle import Bundle, LogKey
from .logs import LogSource, file_source

STANDARD_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


@dataclass(frozen=True)
class ResourceType:
    group: str
    plural: str
    kind: str
    namespaced: bool


def split_api_version(api_version: str) -> tuple[str, str]:
    """`apps/v1` -> (`apps`, `v1`); the core group's `v1` -> (``, `v1`)."""
    group, _, version = api_version.rpartition("/")
    return group, version


def join_api_version(group: str, version: str) -> str:
    return f"{group}/{version}" if group else version


def guess_plural(kind: str) -> str:
    """client-go's UnsafeGuessKindToResource, for kinds that no discovery document names."""
    singular = kind.lower()
    if singular.endswith("s"):
        return singular + "es"
    if singular.endswith("y"):
        return singular[:-1] + "ies"
    return singular + "s"


def now_rfc3339() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Discovery:
    """APIResourceLists by group-version and APIGroups by name, with the resource types they define."""

    def __init__(self, resource_lists: Iterable[dict[str, Any]], groups: Iterable[dict[str, Any]]) -> None:
        self._lists: dict[str, dict[str, Any]] = {}
        self._groups: dict[str, dict[str, Any]] = {group["name"]: copy.deepcopy(group) for group in groups}
        self._types: dict[tuple[str, str], ResourceType] = {}
        self._by_kind: dict[tuple[str, str], ResourceType] = {}
        for resource_list in resource_lists:
            group, version = split_api_version(resource_list["groupVersion"])
            for resource in resource_list.get("resources") or []:
                self.ensure(group, version, resource)

    def ensure(self, group: str, version: str, resource: dict[str, Any]) -> None:
        """Serve `resource` (an APIResource) in group/version, adding the group-version when new."""
        group_version = join_api_version(group, version)
        resource_list = self._lists.setdefault(group_version,
                                               {"groupVersion": group_version, "resources": []})
        if all(entry["name"] != resource["name"] for entry in resource_list["resources"]):
            resource_list["resources"].append(copy.deepcopy(resource))
        entry = self._groups.setdefault(group, {"name": group, "versions": [],
                                               "preferredVersion": {"groupVersion": group_version,
                                                                    "version": version}})
        if all(known["version"] != version for known in entry["versions"]):
            entry["versions"].append({"groupVersion": group_version, "version": version})
        if "/" not in resource["name"]:
            rtype = ResourceType(group, resource["name"], resource["kind"], bool(resource.get("namespaced")))
            self._types.setdefault((group, rtype.plural), rtype)
            self._by_kind.setdefault((group, rtype.kind), rtype)

    def type_for(self, api_version: str, kind: str, namespaced: bool) -> ResourceType:
        """The resource type objects of this apiVersion and kind are stored under, defined if unknown."""
        group, version = split_api_version(api_version)
        rtype = self._by_kind.get((group, kind)) or ResourceType(group, guess_plural(kind), kind, namespaced)
        if self.served(group, version, rtype.plural) is None:
            self.ensure(group, version, {"name": rtype.plural, "singularName": kind.lower(), "kind": kind,
                                         "namespaced": rtype.namespaced, "verbs": STANDARD_VERBS})
        return rtype

    def add_crd(self, crd: dict[str, Any]) -> None:
        """Serve a CustomResourceDefinition's kind in every version it marks served."""
        spec = crd.get("spec") or {}
        names = spec.get("names") or {}
        resource = {"name": names.get("plural"), "singularName": names.get("singular", ""),
                    "namespaced": spec.get("scope") == "Namespaced", "kind": names.get("kind"),
                    "verbs": STANDARD_VERBS}
        resource.update({key: names[key] for key in ("shortNames", "categories") if key in names})
        if not resource["name"] or not resource["kind"]:
            return
        for version in spec.get("versions") or []:
            if version.get("served"):
                self.ensure(spec.get("group", ""), version["name"], resource)

    def served(self, group: str, version: str, plural: str) -> ResourceType | None:
        """The type behind /apis/group/version/plural, None when that version does not serve it."""
        resource_list = self._lists.get(join_api_version(group, version))
        if resource_list is None or all(entry["name"] != plural for entry in resource_list["resources"]):
            return None
        return self._types.get((group, plural))

    def kinds(self, kind: str) -> list[ResourceType]:
        return [rtype for (_, known), rtype in self._by_kind.items() if known == kind]

    def resource_list(self, group_version: str) -> dict[str, Any] | None:
        return self._lists.get(group_version)

    def group(self, name: str) -> dict[str, Any] | None:
        return self._groups.get(name)

    def groups(self) -> list[dict[str, Any]]:
        """The named groups, as /apis lists them (the legacy core group is /api's)."""
        return [group for name, group in self._groups.items() if name]

    def resources(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """(group, APIResource) for every resource and subresource served, in any version."""
        for group_version, resource_list in self._lists.items():
            group, _ = split_api_version(group_version)
            for resource in resource_list["resources"]:
                yield group, resource


ObjectKey = tuple[str, str]   # namespace ("" when cluster-scoped), name


class Store:
    """Discovery, objects, container logs and container files: everything a test may change."""

    def __init__(self, bundle: Bundle) -> None:
        self.discovery = Discovery(bundle.resource_lists, bundle.groups)
        self.version = bundle.version
        self._objects: dict[ResourceType, dict[ObjectKey, dict[str, Any]]] = {}
        self.resource_version = 0
        # CRDs first, so the kinds they define are known before their objects arrive.
        for obj in sorted(bundle.objects, key=lambda obj: not _is_crd(obj)):
            self._store(obj)
            self.resource_version = max(self.resource_version, _int(obj["metadata"].get("resourceVersion")))
        self.logs: dict[LogKey, LogSource] = {key: file_source(path) for key, path in bundle.logs.items()}
        self.files: dict[tuple[str, str, str], dict[str, bytes]] = {}

    def _store(self, obj: dict[str, Any]) -> tuple[ResourceType, dict[str, Any]]:
        metadata = obj["metadata"]
        rtype = self.discovery.type_for(obj["apiVersion"], obj["kind"], bool(metadata.get("namespace")))
        if _is_crd(obj):
            self.discovery.add_crd(obj)
        key = (metadata.get("namespace", "") if rtype.namespaced else "", metadata["name"])
        self._objects.setdefault(rtype, {})[key] = obj
        return rtype, obj

    def put(self, obj: dict[str, Any]) -> tuple[ResourceType, dict[str, Any]]:
        """Store an object made at runtime, filling what the apiserver would (uid, timestamps, version)."""
        obj = copy.deepcopy(obj)
        metadata = obj["metadata"]
        metadata.setdefault("uid", str(uuid.uuid4()))
        metadata.setdefault("creationTimestamp", now_rfc3339())
        metadata["resourceVersion"] = self._next_version()
        return self._store(obj)

    def _next_version(self) -> str:
        self.resource_version += 1
        return str(self.resource_version)

    def get(self, rtype: ResourceType, namespace: str | None, name: str) -> dict[str, Any] | None:
        return self._objects.get(rtype, {}).get((namespace or "", name))

    def objects(self, rtype: ResourceType, namespace: str | None) -> list[dict[str, Any]]:
        """Objects in key order (namespace, name), as etcd returns them; all namespaces when None."""
        objects = self._objects.get(rtype, {})
        return [objects[key] for key in sorted(objects) if namespace is None or key[0] == namespace]

    def delete(self, rtype: ResourceType, namespace: str | None, name: str) -> dict[str, Any] | None:
        removed = self._objects.get(rtype, {}).pop((namespace or "", name), None)
        if removed is not None:
            self._next_version()
        return removed

    def find(self, kind: str, namespace: str | None, name: str,
             api_version: str | None) -> ResourceType | None:
        """The type of the stored object of this kind and name (`api_version` settles a kind two groups
        share, as Event in the core group and in events.k8s.io)."""
        held = [rtype for rtype in self.discovery.kinds(kind)
                if self.get(rtype, namespace, name) is not None
                and (api_version is None or rtype.group == split_api_version(api_version)[0])]
        if len(held) > 1:
            groups = [rtype.group for rtype in held]
            raise ValueError(f"{kind} {name!r} exists in groups {groups}: give api_version")
        return held[0] if held else None

    def pod_type(self) -> ResourceType:
        return self.discovery.type_for("v1", "Pod", namespaced=True)

    def containers_logged(self, namespace: str, pod: str) -> list[str]:
        return sorted({container for (ns, name, container, _) in self.logs if (ns, name) == (namespace, pod)})


def _is_crd(obj: dict[str, Any]) -> bool:
    api_version = str(obj.get("apiVersion", ""))
    return obj.get("kind") == "CustomResourceDefinition" and api_version.startswith("apiextensions.k8s.io/")


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0

