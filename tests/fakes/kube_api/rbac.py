"""Authorization in the fake cluster: everything is allowed except what a test forbids.

A refusal is by resource (plural, or `pods/log` style for a subresource), verb and namespace (None:
everywhere). As with RBAC, which can only grant, a request at the cluster scope (a list across all
namespaces) is refused when any namespace refuses it: no cluster-wide grant could exist then. The
self-subject reviews answer from the same refusals, so what `auth can-i` says is what requests get."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

# What every authenticated user may do (system:basic-user and system:public-info-viewer).
SELF_REVIEW_RULES: list[dict[str, Any]] = [
    {"verbs": ["create"], "apiGroups": ["authorization.k8s.io"],
     "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]},
    {"verbs": ["create"], "apiGroups": ["authentication.k8s.io"], "resources": ["selfsubjectreviews"]},
]
NON_RESOURCE_RULES: list[dict[str, Any]] = [{"verbs": ["*"], "nonResourceURLs": ["*"]}]


@dataclass(frozen=True)
class Refusal:
    resource: str
    namespace: str | None
    verb: str


class Policy:
    def __init__(self) -> None:
        self._refusals: set[Refusal] = set()

    def forbid(self, resource: str, namespace: str | None, verb: str) -> None:
        self._refusals.add(Refusal(resource, namespace, verb))

    def denies(self, resource: str, namespace: str | None, verb: str) -> bool:
        return any(refusal.resource == resource and refusal.verb == verb
                   and (refusal.namespace is None or namespace is None or refusal.namespace == namespace)
                   for refusal in self._refusals)

    def rules_review(self, namespace: str | None,
                     resources: Iterable[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
        """A SelfSubjectRulesReview status: `*` when nothing is refused here, else every served resource
        with the verbs discovery gives it, less the refused ones (RBAC rules cannot deny)."""
        rules = [dict(rule) for rule in SELF_REVIEW_RULES]
        if not any(self.denies(refusal.resource, namespace, refusal.verb) for refusal in self._refusals):
            rules.append({"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]})
        else:
            verbs_of: dict[tuple[str, str], set[str]] = defaultdict(set)
            for group, resource in resources:
                verbs_of[(group, resource["name"])].update(resource.get("verbs") or [])
            by_verbs: dict[tuple[str, tuple[str, ...]], list[str]] = defaultdict(list)
            for (group, name), verbs in sorted(verbs_of.items()):
                allowed = tuple(sorted(verb for verb in verbs if not self.denies(name, namespace, verb)))
                if allowed:
                    by_verbs[(group, allowed)].append(name)
            rules.extend({"verbs": list(verbs), "apiGroups": [group], "resources": names}
                         for (group, verbs), names in by_verbs.items())
        return {"resourceRules": rules, "nonResourceRules": [dict(rule) for rule in NON_RESOURCE_RULES],
                "incomplete": False}

    def access_review(self, spec: dict[str, Any]) -> dict[str, Any]:
        """A SelfSubjectAccessReview status for `spec` (resource or non-resource attributes)."""
        attributes = spec.get("resourceAttributes")
        if not attributes:
            return {"allowed": True}
        resource = attributes.get("resource", "")
        if attributes.get("subresource"):
            resource += "/" + attributes["subresource"]
        namespace = attributes.get("namespace") or None
        return {"allowed": not self.denies(resource, namespace, attributes.get("verb", ""))}
