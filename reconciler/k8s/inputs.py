"""What rendering needs from disk: the text of every file a schedule's spec reads, whether it runs host
collectors, and the Kubernetes access its collectors need (the derivation `sbsched check` uses, taken in
the namespace the pod runs in). Each file is read once, however many schedules name it."""
from __future__ import annotations

from functools import cache


from ..base.errors import SbschedError
from ..collect import CollectorSpec
from ..collect import spec as collect_spec
from .configmap import referenced_files
from ..manifest.normalize import ScheduleSet
from .render import ScheduleInputs
from ..run.rbac_check import cluster_sourced, needed_access
from ..troubleshoot.specfiles import read_spec_text


def gather(manifest: ScheduleSet, *, namespace: str) -> dict[str, ScheduleInputs]:
    read = cache(_read)
    load = cache(_collectors)
    out = {}
    for name, spec in manifest.schedules.items():
        collect = spec["collect"]
        specs = [c for path in collect["specs"] for c in load(path)]
        specs += collect_spec.entries(list(collect["collectors"]), host=False, source="inline")
        specs += collect_spec.entries(list(collect["hostCollectors"]), host=True, source="inline")
        derived = needed_access(specs, namespaces=collect["namespaces"], default_namespace=namespace,
                                cluster=collect["cluster"])
        derived.needs += cluster_sourced(collect, specs, default_namespace=namespace)   # auto, loadClusterSpecs
        out[name] = ScheduleInputs(files={path: read(path) for path in referenced_files(spec)},
                                   accesses=tuple(need.access for need in derived.needs),
                                   host_collectors=any(c.host for c in specs))
    return out


def _read(path: str) -> str:
    try:
        return read_spec_text(path)
    except OSError as exc:
        raise SbschedError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise SbschedError(f"{path} is not UTF-8 text") from None


def _collectors(path: str) -> tuple[CollectorSpec, ...]:
    return tuple(collect_spec.load([path]))


