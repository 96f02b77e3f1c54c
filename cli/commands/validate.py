"""sbsched validate -f FILE [FILE...]: exit 0 valid, 1 invalid, 2 unreadable (the worst of the files)."""
from __future__ import annotations

from typing import Any

from .. import render


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
