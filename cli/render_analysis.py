"""Views of what was checked: `analyze`'s outcomes and `check`'s RBAC preflight, as text."""
from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from .render import NONE, paint, table

if TYPE_CHECKING:
    from reconciler.analyze import Result
    from reconciler.run.rbac_check import Report

_LABELS = {"pass": ("PASS", "32"), "warn": ("WARN", "33"), "fail": ("FAIL", "31"), "none": ("NONE", "2"),
           "skipped": ("SKIP", "2")}


def analysis_text(results: Sequence[Result], tally: dict[str, int], skipped: int) -> str:
    """One coloured line per outcome with its message below, then the tally."""
    lines: list[str] = []
    for r in results:
        label, colour = _LABELS.get(r.outcome, (r.outcome.upper(), "0"))
        lines.append(f"{paint(label, colour)}  {r.title or '(untitled)'}")
        message = r.message or ("no outcome matched" if r.outcome == "none" else "")
        lines += [f"      {line}" for line in message.splitlines() if line.strip()]
    summary = f"{tally['pass']} pass, {tally['warn']} warn, {tally['fail']} fail"
    if skipped:
        summary += f", {skipped} skipped"
    lines.append(("\n" if lines else "") + (summary if results else "no analyzer produced a result"))
    return "\n".join(lines)


def access_text(name: str, report: Report) -> str:
    """What the schedule's collectors will be denied (a table and a line), or that all is allowed."""
    denied = report.denied
    if not report.derived.needs:
        return f"Schedule {name!r} needs no Kubernetes access."
    if not denied:
        return f"All {len(report.verdicts)} access(es) the collectors of {name!r} need are allowed at {report.server}."
    reasons = any(report.verdicts[n.access].reason for n in denied)   # real API servers seldom give one
    rows = table(["COLLECTOR", "VERB", "RESOURCE", "NAMESPACE"] + (["REASON"] if reasons else []),
                 [[n.collector, n.access.verb, n.access.display_resource, n.access.display_namespace]
                  + ([report.verdicts[n.access].reason or NONE] if reasons else []) for n in denied])
    distinct = len({n.access for n in denied})
    return (rows + f"{distinct} of {len(report.verdicts)} access(es) would be denied at {report.server}: "
            "those collectors will record the 403 and the run goes on without that data.")
