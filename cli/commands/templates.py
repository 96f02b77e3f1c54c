"""sbsched templates -f FILE [-o text|json]: the manifest's templates and the schedules using each."""
from __future__ import annotations

from .. import render
from ._common import valid_manifest


def templates(manifest: str, *, output: str) -> int:
    """Read from the manifest (templates live there, not in the state); an invalid one is exit 2."""
    usage = valid_manifest(manifest).template_usage()
    if output == "json":
        render.out(render.to_json({"items": usage}))
    elif not usage:
        render.err(f"No templates in {manifest}.")
    else:
        render.out(render.table(["TEMPLATE", "SCHEDULES"],
                                [[u["name"], ", ".join(u["schedules"]) or render.NONE] for u in usage]))
    return 0
