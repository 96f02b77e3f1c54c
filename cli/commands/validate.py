"""sbsched validate -f FILE [FILE...]: exit 0 valid, 1 invalid, 2 unreadable (the worst of the files).
A valid manifest's host collectors that a run would skip on this host are warned about on stderr."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import render

if TYPE_CHECKING:
    from reconciler.manifest.normalize import ScheduleSet


def validate_files(manifests: list[str], *, output: str) -> int:
    """Each file checked on its own (reconciler/manifest/load.py load_manifests); with several, JSON
    diagnostics name their `file`, and an unreadable file is reported and the others still checked."""
    from reconciler.base.errors import SbschedError
    from reconciler.manifest.load import load_manifests

    several, worst = len(manifests) > 1, 0
    diagnostics: list[dict[str, Any]] = []
    for manifest, result in load_manifests(manifests):
        if isinstance(result, SbschedError):
            render.err(f"sbsched: error: {result.message}")
            worst = 2
            continue
        worst = max(worst, 0 if result.valid else 1)
        if result.manifest is not None:
            _warn_host_skips(manifest, result.manifest)
        if output == "json":
            diagnostics += [{**d.to_json(), "file": d.file} if several else d.to_json() for d in result.diagnostics]
        elif result.valid:
            assert result.manifest is not None
            render.out(f"{manifest}: valid (set {result.manifest.name!r}, {len(result.manifest.schedules)} schedules)")
        else:
            for diagnostic in result.diagnostics:
                render.err(diagnostic.format())
            render.err(f"{manifest}: {len(result.diagnostics)} error(s)")
    if output == "json":
        render.out(render.to_json({"valid": worst == 0, "errorCount": len(diagnostics), "diagnostics": diagnostics}))
    return worst


def _warn_host_skips(path: str, manifest: ScheduleSet) -> None:
    """One line per host collector this host would skip (each spec file read once)."""
    import os
    from functools import cache

    from reconciler.base.errors import SbschedError
    from reconciler.collect import spec as collect_spec
    from reconciler.collect.host import HOST_COLLECTORS
    from reconciler.collect.host.applicable import skip_reason_here
    from reconciler.troubleshoot.reader import read_spec_file

    read = cache(read_spec_file)
    for name, schedule in manifest.schedules.items():
        collect = schedule["collect"]
        try:
            specs = collect_spec.load(collect["specs"], inline_host_collectors=collect["hostCollectors"], read=read)
        except SbschedError:
            continue   # a spec file the manifest's own checks passed but that changed since: the run reports it
        for spec in specs:
            if not spec.host or spec.params.get("exclude") in (True, "true", "True"):
                continue
            reason = (skip_reason_here(spec, os.environ) if spec.kind in HOST_COLLECTORS
                      else f"host collector type {spec.kind!r} is not supported by sbsched")
            if reason:
                render.err(f"{path}: warning: schedule {name!r}: host collector {spec.name!r} will be skipped "
                           f"on this host: {reason}")
