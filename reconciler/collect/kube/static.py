"""data and http: in-cluster collectors that need no API server.

`data` writes the spec's text to `<name>/<collectorName>`; troubleshoot specs use it to put fixed
facts into a bundle for analyzers (e2e.yaml's `config/replicas.txt`). `http` makes its request from
this host, as troubleshoot's own in-cluster http collector does from where troubleshoot runs, and
records it at `<name>/<collectorName or "result">.json` in the host collector's shape.
"""
from __future__ import annotations

from .. import CollectContext, CollectorSpec
from ..host.http_request import request_result
from ..params import bundle_path, text


def data(spec: CollectorSpec, ctx: CollectContext) -> None:
    name, file_name = text(spec.params, "name"), text(spec.params, "collectorName")
    if not file_name and not name:
        raise ValueError("data needs `collectorName` (the file name) or `name`")
    ctx.output.write_text(bundle_path(name, file_name), text(spec.params, "data"))


def http(spec: CollectorSpec, ctx: CollectContext) -> None:
    result = request_result(spec, ctx)
    file_name = (text(spec.params, "collectorName") or "result") + ".json"
    ctx.output.write_json(bundle_path(text(spec.params, "name"), file_name), result)
