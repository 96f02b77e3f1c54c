"""sbsched analyze BUNDLE [--spec FILE]...: troubleshoot's analyzers over a bundle.
Exit 0 when no outcome is a fail, 1 when one is, 2 on an error (unreadable bundle or spec)."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from .. import render

if TYPE_CHECKING:
    from reconciler.analyze import Result

_LABELS = {"pass": ("PASS", "32"), "warn": ("WARN", "33"), "fail": ("FAIL", "31"), "none": ("NONE", "2"),
           "skipped": ("SKIP", "2")}


def analyze(bundle: str, *, specs: Sequence[str], output: str) -> int:
    from reconciler.analyze import (analyze_archive, counts, default_analyzers, dumps_analysis, load_analyzers,
                                    skipped_count)

    analyzers = load_analyzers([str(Path(s)) for s in specs]) if specs else default_analyzers()
    results = analyze_archive(Path(bundle), analyzers)
    if output == "json":
        render.out(dumps_analysis(results))
    else:
        render.out(_text(results, counts(results), skipped_count(results)))
    return 1 if counts(results)["fail"] else 0


def _text(results: Sequence[Result], tally: dict[str, int], skipped: int) -> str:
    lines: list[str] = []
    for r in results:
        label, colour = _LABELS.get(r.outcome, (r.outcome.upper(), "0"))
        lines.append(f"{render.paint(label, colour)}  {r.title or '(untitled)'}")
        message = r.message or ("no outcome matched" if r.outcome == "none" else "")
        lines += [f"      {line}" for line in message.splitlines() if line.strip()]
    summary = f"{tally['pass']} pass, {tally['warn']} warn, {tally['fail']} fail"
    if skipped:
        summary += f", {skipped} skipped"
    lines.append(("\n" if lines else "") + (summary if results else "no analyzer produced a result"))
    return "\n".join(lines)
