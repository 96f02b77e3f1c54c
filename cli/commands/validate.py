"""sbsched validate -f FILE: exit 0 valid, 1 invalid, 2 unreadable."""
from __future__ import annotations

from .. import render


def validate(manifest: str, *, output: str) -> int:
    from reconciler.manifest_file import load_manifest

    result = load_manifest(manifest)
    if output == "json":
        render.out(render.to_json({"valid": result.valid, "errorCount": len(result.diagnostics),
                                   "diagnostics": [d.to_json() for d in result.diagnostics]}))
    elif result.valid:
        assert result.manifest is not None
        render.out(f"{manifest}: valid (set {result.manifest.name!r}, {len(result.manifest.schedules)} schedules)")
    else:
        for diagnostic in result.diagnostics:
            render.err(diagnostic.format())
        render.err(f"{manifest}: {len(result.diagnostics)} error(s)")
    return 0 if result.valid else 1
