"""`collect.loadClusterSpecs`: troubleshoot's `--load-cluster-specs` (internal/specs `LoadFromCluster`).

The SupportBundle and Redactor specs the cluster holds in Secrets and ConfigMaps labelled
`troubleshoot.sh/kind=support-bundle` (and the older `troubleshoot.io/kind=support-bundle`, which
troubleshoot adds to its default selector), under the data keys `support-bundle-spec` and
`redactor-spec` (troubleshoot's `preflight.yaml` / `preflight-spec` hold preflights, which a support
bundle does not run). They are searched in the schedule's `collect.namespaces`, else across the cluster
with one list per kind and selector, or namespace by namespace when that list is refused, as
troubleshoot does when it may not read every namespace's Secrets and ConfigMaps.

Each is named as troubleshoot's CLI names one (`secret/NS/NAME/KEY`, `configmap/NS/NAME/KEY`) and read
as a spec file is: its collectors, analyzers and redactors join the schedule's own. The cluster's
content is not the manifest's author's: a spec that does not parse, or a refused list, is recorded and
the run goes on. Specs are held in memory for the run only; the record names them, never their text.
"""
from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from ..base.errors import SbschedError
from ..troubleshoot.reader import SpecFile, read_spec_file

if TYPE_CHECKING:
    from ..collect.kube.client import Kube

LABEL_SELECTORS = ("troubleshoot.sh/kind=support-bundle", "troubleshoot.io/kind=support-bundle")
SPEC_KEYS = ("support-bundle-spec", "redactor-spec")
_KINDS = (("secrets", "secret"), ("configmaps", "configmap"))


@dataclass
class ClusterSpecs:
    texts: dict[str, str] = field(default_factory=dict)    # "secret/NS/NAME/KEY" -> the spec's text
    denied: list[str] = field(default_factory=list)        # what the API server refused, its message
    errors: list[str] = field(default_factory=list)        # specs found that could not be used

    def reader(self, fallback: Callable[[str], SpecFile]) -> Callable[[str], SpecFile]:
        """`fallback` (the schedule's own spec files), plus the specs found in the cluster."""
        def read(path: str) -> SpecFile:
            return read_spec_file(path, self.texts.__getitem__) if path in self.texts else fallback(path)
        return read

    def usable(self, read: Callable[[str], SpecFile]) -> list[str]:
        """The found specs that parse as troubleshoot documents, in name order; the others go to `errors`."""
        out = []
        for path in sorted(self.texts):
            try:
                read(path)
            except SbschedError as exc:
                self.errors.append(str(exc))
            else:
                out.append(path)
        return out

    def to_json(self) -> dict[str, Any]:
        return {"loaded": sorted(self.texts), "denied": self.denied, "errors": self.errors}


def load_cluster_specs(kube: Kube, *, timeout: float) -> ClusterSpecs:
    """Every labelled spec the credentials may read in the schedule's namespaces (or all)."""
    from ..collect.kube.client import ApiError
    from .discovery import namespaces_of

    found = ClusterSpecs()
    listed: list[str] | None = None   # the namespaces, listed once if a cluster-wide list is refused
    for plural, singular in _KINDS:
        for selector in LABEL_SELECTORS:
            where: list[str | None] = list(kube.namespaces) or [None]
            while where:
                namespace = where.pop(0)
                try:
                    items = _list(kube, plural, namespace, selector, timeout)
                except ApiError as exc:
                    if not (exc.forbidden and namespace is None):
                        found.denied.append(exc.message)
                        continue
                    listed = namespaces_of(kube, timeout)[0] if listed is None else listed
                    where = list(listed)   # refused cluster-wide: one by one
                    continue
                for item in items:
                    _keep(found, singular, item)
    return found


def _list(kube: Kube, plural: str, namespace: str | None, selector: str, timeout: float) -> list[dict[str, Any]]:
    from ..collect.kube.lists import pages

    path = f"/api/v1/namespaces/{namespace}/{plural}" if namespace else f"/api/v1/{plural}"
    return [item for page in pages(kube, path, {"labelSelector": selector}, timeout=timeout)
            for item in page.get("items") or []]


def _keep(found: ClusterSpecs, singular: str, item: dict[str, Any]) -> None:
    meta = item.get("metadata") or {}
    data = item.get("data") or {}
    for key in SPEC_KEYS:
        if key not in data:
            continue
        path = f"{singular}/{meta.get('namespace', '')}/{meta.get('name', '')}/{key}"
        if singular == "configmap":
            found.texts[path] = str(data[key])
            continue
        try:
            found.texts[path] = base64.b64decode(str(data[key]), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            found.errors.append(f"{path}: not base64-encoded UTF-8 text")
