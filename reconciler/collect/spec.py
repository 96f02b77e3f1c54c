"""Which collectors a schedule runs: troubleshoot spec files plus the schedule's inline lists.

troubleshoot's kinds and where their collectors live:
  SupportBundle   spec.collectors (in-cluster) and spec.hostCollectors (host)
  Collector       spec.collectors (in-cluster)
  Preflight       spec.collectors (in-cluster)
  HostCollector   spec.collectors (host)
  HostPreflight   spec.collectors (host)
A spec may also be wrapped in a ConfigMap/Secret (troubleshoot's labelled specs). v1beta3 specs have
the same shape. A collector with `exclude: true` is recorded as skipped, as troubleshoot does.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping

import yaml

from . import CollectorSpec
from ..base.errors import SbschedError
from ..base.yamlio import SafeLoader
from ..troubleshoot.specfiles import read_spec_text, wrapped_documents

HOST_KINDS = frozenset({"HostCollector", "HostPreflight"})
CLUSTER_KINDS = frozenset({"SupportBundle", "Collector", "Preflight"})


class SpecLoadError(SbschedError):
    """A spec file that cannot be used; the message names the file."""


def collectors_of(documents: Iterable[Any], source: str) -> list[CollectorSpec]:
    """The collector entries of already-parsed YAML documents, in order."""
    found: list[CollectorSpec] = []
    for doc in documents:
        for inner in wrapped_documents(doc):
            kind, spec = inner.get("kind"), inner.get("spec") or {}
            if not isinstance(spec, dict) or not isinstance(kind, str):   # `kind: []` is no kind at all
                continue
            if kind in HOST_KINDS:
                found += entries(spec.get("collectors"), host=True, source=source)
            elif kind in CLUSTER_KINDS:
                found += entries(spec.get("collectors"), host=False, source=source)
                if kind == "SupportBundle":
                    found += entries(spec.get("hostCollectors"), host=True, source=source)
    return found


def entries(items: Any, *, host: bool, source: str) -> list[CollectorSpec]:
    """`[{kind: {params}}]` → CollectorSpecs; an entry not of that shape is reported as its own kind."""
    out: list[CollectorSpec] = []
    for item in items if isinstance(items, list) else [] if items is None else [items]:  # `collectors: 1`: malformed
        if isinstance(item, dict) and len(item) == 1:
            kind, params = next(iter(item.items()))
            out.append(CollectorSpec(str(kind), params if isinstance(params, dict) else {}, host, source))
        else:
            out.append(CollectorSpec("<malformed>", {"entry": item}, host, source))
    return out


def load(paths: Iterable[str], *, inline_collectors: Iterable[Mapping[str, Any]] = (),
         inline_host_collectors: Iterable[Mapping[str, Any]] = (),
         read: Callable[[str], str] = read_spec_text) -> list[CollectorSpec]:
    """Every collector of a schedule: spec files first (in manifest order), then inline entries. `read`
    gives a file's text (a run reads the applied snapshots: spec_snapshots.reader)."""
    found: list[CollectorSpec] = []
    for path in paths:
        try:
            documents = list(yaml.load_all(read(path), Loader=SafeLoader))
        except OSError as exc:
            raise SpecLoadError(f"cannot read spec {path}: {exc.strerror}") from None
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise SpecLoadError(f"spec {path} is not valid YAML: {str(exc).splitlines()[0]}") from None
        found += collectors_of(documents, path)
    found += entries(list(inline_collectors), host=False, source="inline")
    found += entries(list(inline_host_collectors), host=True, source="inline")
    return found
