"""Analysis: troubleshoot's analyzers over a bundle, and troubleshoot's analysis.json.

    specs = load_analyzers(["specs/app.yaml"], inline=schedule_analyzers, inline_host=schedule_host_analyzers)
    results = analyze_archive(Path("bundle.tar.gz"), specs)      # or analyze_dir(top_directory, specs)
    analysis_json(results)                                        # the list written as analysis.json
    counts(results)                                               # {"pass": n, "warn": n, "fail": n}
    when_diagnostics("specs/app.yaml")                            # for validate: FILE:LINE:COL: path: message

Modules: spec (loading), runner (dispatch, archive handling), cluster / nodes / workloads / pods / host /
text (the analyzers), when / semver / quantity / selectors / gotemplate / jsonpath (their pure syntax),
bundle_files (lenient, confined reading), results (data and analysis.json), diagnostics (validate).
See docs/analysis.md.
"""
from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:   # the names below are loaded on first use: `validate` needs only `when_diagnostics`
    from .archive import BundleError
    from .diagnostics import when_diagnostics
    from .results import (FAIL, NONE, PASS, SKIPPED, WARN, AnalyzerSpec, Result, analysis_json, counts,
                          dumps_analysis, skipped_count)
    from .runner import analyze_archive, analyze_dir
    from .spec import load_analyzers

_WHERE = {"BundleError": "archive", "when_diagnostics": "diagnostics", "analyze_archive": "runner",
          "analyze_dir": "runner", "load_analyzers": "spec",
          **{name: "results" for name in ("FAIL", "NONE", "PASS", "SKIPPED", "WARN", "AnalyzerSpec", "Result",
                                          "analysis_json", "counts", "dumps_analysis", "skipped_count")}}

__all__ = [
    "AnalyzerSpec", "Result", "load_analyzers", "analyze_dir", "analyze_archive", "analysis_json", "dumps_analysis",
    "counts", "skipped_count", "when_diagnostics", "default_analyzers", "BundleError",
    "PASS", "WARN", "FAIL", "NONE", "SKIPPED",
]


def __getattr__(name: str) -> Any:
    """PEP 562: import the submodule holding `name` when it is first asked for."""
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{_WHERE[name]}"), name)
    globals()[name] = value
    return value


def default_analyzers() -> list[AnalyzerSpec]:
    """What troubleshoot analyzes a bundle with when it is given no spec (pkg/analyze/download.go,
    getDefaultAnalyzers): one clusterVersion check."""
    from .results import AnalyzerSpec

    outcomes = [
        {"fail": {"when": "< 1.13.0", "message": "The application requires at Kubernetes 1.13.0 or later, and "
                  "recommends 1.15.0.", "uri": "https://www.kubernetes.io"}},
        {"warn": {"when": "< 1.15.0", "message": "Your cluster meets the minimum version of Kubernetes, but we "
                  "recommend you update to 1.15.0 or later.", "uri": "https://kubernetes.io"}},
        {"pass": {"when": ">= 1.15.0", "message": "Your cluster meets the recommended and required versions of "
                  "Kubernetes."}},
    ]
    return [AnalyzerSpec("clusterVersion", {"outcomes": outcomes}, host=False, source="default", index=0)]
