"""clusterInfo, configMap, secret and supportBundleMetadata: single objects, read by name or selector.

Output files and their JSON follow troubleshoot's pkg/collect (cluster_info.go, configmap.go,
secret.go, support_bundle_metadata.go), including its quirks that analyzers rely on: a ConfigMap's
`data` is always present (null unless includeAllData), a Secret's only when asked for; a missing
object still gets its file (`...Exists: false`) beside an `-errors` file.
A secret's values are written only with includeValue / includeAllData, and the built-in redaction
(rule `secret-collector-values`) still masks them in the bundle unless redaction is turned off.
"""
from __future__ import annotations

import base64
import binascii
from typing import Any

from .. import CollectContext, CollectorSpec
from .client import ApiError, Kube
from .lists import pages
from .scope import one_namespace


def cluster_info(spec: CollectorSpec, ctx: CollectContext) -> None:
    """cluster-info/cluster_version.json: {"info": version.Info, "string": gitVersion}."""
    try:
        info = ctx.cluster().version()
    except ApiError as exc:
        ctx.output.write_json("cluster-info/errors.json", [exc.message])
        raise
    ctx.output.write_json("cluster-info/cluster_version.json", {"info": info, "string": info.get("gitVersion", "")})


def config_map(spec: CollectorSpec, ctx: CollectContext) -> None:
    _collect(spec, ctx, plural="configmaps", exists="configMapExists")


def secret(spec: CollectorSpec, ctx: CollectContext) -> None:
    _collect(spec, ctx, plural="secrets", exists="secretExists")


def _collect(spec: CollectorSpec, ctx: CollectContext, *, plural: str, exists: str) -> None:
    kube, params = ctx.cluster(), spec.params
    namespace = one_namespace(params.get("namespace"), kube)
    name, selector = str(params.get("name") or ""), [str(s) for s in params.get("selector") or []]
    if not name and not selector:
        raise ValueError("either name or selector must be specified")
    key = str(params.get("key") or "")
    all_data = params.get("includeAllData") in (True, "true")
    keyed = key and (plural == "configmaps" or not all_data)   # secrets drop the key from paths with includeAllData
    suffix = f"/{key}" if keyed else ""
    errors_path = f"{plural}-errors/{namespace}/{name or _selector_name(selector)}{suffix}.json"
    try:
        found = _objects(kube, plural, namespace, name, selector, ctx.timeout)
    except ApiError as exc:
        if exc.not_found:
            ctx.output.write_json(f"{plural}/{namespace}/{name}{suffix}.json",
                                  _describe(params, namespace, name, None, plural=plural, exists=exists))
        elif exc.forbidden:
            ctx.warnings.append(f"{spec.name}: {exc.message}")
        ctx.output.write_json(errors_path, [exc.message])
        return
    for obj in found:
        object_name = str(obj["metadata"]["name"])
        ctx.output.write_json(f"{plural}/{namespace}/{object_name}{suffix}.json",
                              _describe(params, namespace, object_name, obj, plural=plural, exists=exists))


def _objects(kube: Kube, plural: str, namespace: str, name: str, selector: list[str],
             timeout: float) -> list[dict[str, Any]]:
    base = f"/api/v1/namespaces/{namespace}/{plural}"
    if name:
        return [kube.get(f"{base}/{name}", timeout=timeout)]
    # `*` (troubleshoot's auto-discovery selector) is every object: no API server parses it as a label selector
    labels = ",".join(term for term in selector if term != "*") or None
    return [item for page in pages(kube, base, {"labelSelector": labels}, timeout=timeout)
            for item in page.get("items") or []]


def _describe(params: Any, namespace: str, name: str, obj: dict[str, Any] | None, *, plural: str,
              exists: str) -> dict[str, Any]:
    key = str(params.get("key") or "")
    include_value = params.get("includeValue") in (True, "true")
    all_data = params.get("includeAllData") in (True, "true")
    out: dict[str, Any] = {"namespace": namespace, "name": name, "key": key, exists: obj is not None,
                           "keyExists": False}
    data = _data(obj, secret=plural == "secrets") if obj is not None else {}
    if plural == "secrets":
        if obj is not None and all_data:
            out["data"] = data
        elif key in data:
            out["keyExists"] = True
            if include_value:
                out["value"] = data[key]
        return out
    if key in data:
        out["keyExists"] = True
        if include_value:
            out["value"] = data[key]
    out["data"] = data if obj is not None and all_data else None
    return out


def _data(obj: dict[str, Any], *, secret: bool) -> dict[str, str]:
    """The object's data as text: a Secret's values base64-decoded (binary ones kept as base64)."""
    raw = obj.get("data") or {}
    if not secret:
        return {str(k): str(v) for k, v in raw.items()}
    decoded = {}
    for k, v in raw.items():
        try:
            decoded[str(k)] = base64.b64decode(v, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, TypeError):
            decoded[str(k)] = str(v)
    return decoded


def _selector_name(selector: list[str]) -> str:
    """troubleshoot's selectorToString: a file name made of the selector."""
    text = "-".join(selector).replace("=", "-")
    for bad, good in (("*", "all"), ("?", "_"), (":", "_"), ("<", "_"), (">", "_"), ("|", "_"), ('"', "_"),
                      ("\\", "_"), ("/", "_")):
        text = text.replace(bad, good)
    return text


def support_bundle_metadata(spec: CollectorSpec, ctx: CollectContext) -> None:
    """metadata/cluster.json: the `replicated-support-metadata` Secret's data, decoded."""
    kube = ctx.cluster()
    namespace = one_namespace(spec.params.get("namespace"), kube)
    try:
        obj = kube.get(f"/api/v1/namespaces/{namespace}/secrets/replicated-support-metadata", timeout=ctx.timeout)
    except ApiError as exc:
        raise RuntimeError(f"failed to get secret {namespace}/replicated-support-metadata: {exc.message}") from None
    ctx.output.write_json("metadata/cluster.json", _data(obj, secret=True))
