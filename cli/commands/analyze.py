"""sbsched analyze BUNDLE [--spec FILE]...: troubleshoot's analyzers over a bundle.
Exit 0 when no outcome is a fail, 1 when one is, 2 on an error (unreadable bundle or spec)."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from .. import render
from ..render_analysis import analysis_text


def analyze(bundle: str, *, specs: Sequence[str], output: str) -> int:
    from reconciler.analyze import (analyze_archive, counts, default_analyzers, dumps_analysis, load_analyzers,
                                    skipped_count)

    analyzers = load_analyzers([str(Path(s)) for s in specs]) if specs else default_analyzers()
    results = analyze_archive(Path(bundle), analyzers)
    if output == "json":
        render.out(dumps_analysis(results))
    else:
        render.out(analysis_text(results, counts(results), skipped_count(results)))
    return 1 if counts(results)["fail"] else 0
