"""What rendering needs from disk: the text of every file a schedule's spec reads, whether it runs host
collectors, and the Kubernetes access its collectors need (the derivation `sbsched check` uses, taken in
the namespace the pod runs in). Each file is read once, however many schedules name it."""
from __future__ import annotations

from functools import cache


from ..collect import spec as collect_spec
from .configmap import referenced_files
from ..manifest.normalize import ScheduleSet
from .render import ScheduleInputs
from ..run.rbac_check import cluster_sourced, needed_access
from ..troubleshoot.reader import read_spec_file, read_text
from ..troubleshoot.specfiles import read_spec_text


def gather(manifest: ScheduleSet, *, namespace: str) -> dict[str, ScheduleInputs]:
    """Raises SpecError (troubleshoot/reader.py) for a file that cannot be read or parsed."""
    text = cache(read_spec_text)   # each file read once: its text goes into the ConfigMap, parsed for the RBAC
    parse = cache(lambda path: read_spec_file(path, text))
    out = {}
    for name, spec in manifest.schedules.items():
        collect = spec["collect"]
        specs = [c for path in collect["specs"] for c in collect_spec.collectors_of(parse(path))]
        specs += collect_spec.entries(list(collect["collectors"]), host=False, source="inline")
        specs += collect_spec.entries(list(collect["hostCollectors"]), host=True, source="inline")
        derived = needed_access(specs, namespaces=collect["namespaces"], default_namespace=namespace,
                                cluster=collect["cluster"])
        derived.needs += cluster_sourced(collect, specs, default_namespace=namespace)   # auto, loadClusterSpecs
        spec_files = {*collect["specs"], *spec["redact"]["redactors"]}   # and the upload's caFile
        out[name] = ScheduleInputs(files={path: read_text(path, text, noun="spec" if path in spec_files else "caFile")
                                          for path in referenced_files(spec)},
                                   accesses=tuple(need.access for need in derived.needs),
                                   host_collectors=any(c.host for c in specs))
    return out
