"""Pure: what marks and names the objects sbsched puts in a cluster.

Every object carries `app.kubernetes.io/managed-by: sbsched` and `sbsched.dev/set: <set>`; apply prunes
only objects carrying both, so `kubectl apply --prune -l` with `prune_selector` owns the same objects."""
from __future__ import annotations

import re
from typing import Any, Mapping

MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGER = "sbsched"            # the label's value, and the server-side apply field manager
SET_LABEL = "sbsched.dev/set"
SCHEDULE_LABEL = "sbsched.dev/schedule"
NAME_LABEL = "app.kubernetes.io/name"

_LABEL_NAME = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?")
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


def set_labels(set_name: str) -> dict[str, str]:
    return {NAME_LABEL: "sbsched", MANAGED_BY: MANAGER, SET_LABEL: set_name}


def prune_selector(set_name: str) -> str:
    """The label selector of everything this set owns in a cluster."""
    return f"{MANAGED_BY}={MANAGER},{SET_LABEL}={set_name}"


def owned_by(obj: Mapping[str, Any], set_name: str) -> bool:
    """The object carries this set's labels (so apply may update or prune it)."""
    labels = labels_of(obj)
    return labels.get(MANAGED_BY) == MANAGER and labels.get(SET_LABEL) == set_name


def labels_of(obj: Mapping[str, Any]) -> dict[str, str]:
    return dict((obj.get("metadata") or {}).get("labels") or {})


def identity(set_name: str) -> str:
    """The ServiceAccount, (Cluster)Role and binding names of a set."""
    return f"sbsched-{set_name}"


def configmap_name(schedule: str) -> str:
    return f"sbsched-{schedule}"


def label_problem(key: str, value: str) -> str | None:
    """None when key=value is a valid Kubernetes label (the apiserver refuses the object otherwise)."""
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not _DNS_SUBDOMAIN.fullmatch(prefix)):
        return f"label key {key!r}: the prefix must be a DNS subdomain"
    if not name or len(name) > 63 or not _LABEL_NAME.fullmatch(name):
        return f"label key {key!r}: the name must be 1-63 letters, digits, '-', '_' or '.', alphanumeric at both ends"
    if len(value) > 63 or not _LABEL_NAME.fullmatch(value):
        return f"label {key}={value!r}: values are at most 63 letters, digits, '-', '_' or '.', alphanumeric at both ends"
    return None


def namespace_problem(namespace: str) -> str | None:
    if len(namespace) > 63 or not _DNS_LABEL.fullmatch(namespace):
        return "a namespace is a DNS-1123 label: at most 63 lowercase letters, digits and '-'"
    return None
