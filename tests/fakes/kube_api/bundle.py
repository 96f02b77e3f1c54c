"""A troubleshoot support bundle read the way `sbctl serve` reads it, to be served back as a cluster.

Every Kubernetes object under `cluster-resources/` is found by its own `apiVersion` and `kind`
(troubleshoot's directory names are not a table kept here): the `*List` files of built-in kinds and
the plain JSON arrays of `custom-resources/`. Files that hold no objects (errors, discovery, RBAC
rule lists) and the YAML copies are passed over; discovery comes from `resources.json` and
`groups.json`, the server version from `cluster-info/`, container logs from `pods/logs/`."""
from __future__ import annotations

import json
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# namespace, pod, container, previous
LogKey = tuple[str, str, str, bool]

# What a bundle without cluster-info/cluster_version.json is served as.
DEFAULT_VERSION = {"major": "1", "minor": "31", "gitVersion": "v1.31.0", "platform": "linux/amd64"}


@dataclass
class Bundle:
    objects: list[dict[str, Any]] = field(default_factory=list)
    resource_lists: list[dict[str, Any]] = field(default_factory=list)   # []APIResourceList
    groups: list[dict[str, Any]] = field(default_factory=list)           # []APIGroup
    version: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_VERSION))
    logs: dict[LogKey, Path] = field(default_factory=dict)


def extract(archive: Path, into: Path) -> Path:
    """Unpack a bundle archive (`.tar.gz`) into a directory; returns the bundle's root."""
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return find_root(into)


def find_root(directory: Path) -> Path:
    """The directory holding `cluster-resources/`: the one given or its single top directory."""
    if (directory / "cluster-resources").is_dir():
        return directory
    for child in sorted(directory.iterdir()):
        if (child / "cluster-resources").is_dir():
            return child
    raise ValueError(f"{directory}: no cluster-resources/ directory, not a support bundle")


def load(root: Path) -> Bundle:
    resources = root / "cluster-resources"
    bundle = Bundle()
    for path in sorted(resources.rglob("*.json")):
        document = _read_json(path)
        if path.parent == resources and path.name == "resources.json" and isinstance(document, list):
            bundle.resource_lists = document
        elif path.parent == resources and path.name == "groups.json" and isinstance(document, list):
            bundle.groups = document
        else:
            bundle.objects.extend(_objects_in(document))
    version = _read_json(root / "cluster-info" / "cluster_version.json")
    if isinstance(version, dict) and isinstance(version.get("info"), dict):
        bundle.version = version["info"]
    for log in sorted((resources / "pods" / "logs").glob("*/*/*.log")):
        container, previous = log.stem, log.stem.endswith("-previous")
        if previous:
            container = container.removesuffix("-previous")
        bundle.logs[(log.parent.parent.name, log.parent.name, container, previous)] = log
    return bundle


def _read_json(path: Path) -> Any:
    """The document, or None when the file is missing or not JSON: bundles are read leniently."""
    try:
        return json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None


def _objects_in(document: Any) -> list[dict[str, Any]]:
    """The objects of a `*List` (its `items`) or of a plain array; nothing from any other document."""
    if isinstance(document, dict) and str(document.get("kind", "")).endswith("List"):
        document = document.get("items")
    if not isinstance(document, list):
        return []
    return [item for item in document if _is_object(item)]


def _is_object(item: Any) -> bool:
    return (isinstance(item, dict) and isinstance(item.get("apiVersion"), str)
            and isinstance(item.get("kind"), str) and isinstance(item.get("metadata"), dict)
            and isinstance(item["metadata"].get("name"), str))
