"""sbsched check NAME: what the schedule's collectors will be denied (RBAC), before any run.
Exit 0 when everything is allowed, 1 when something is denied, 2 on an error."""
from __future__ import annotations

from .. import render
from ._common import store


def check(name: str, *, state_dir: str | None, output: str) -> int:
    from reconciler.base.errors import SbschedError
    from reconciler.plan.inventory import find
    from reconciler.run.rbac_check import check_schedule

    state_store = store(state_dir)
    report = check_schedule(name, find(state_store.read(), name), state_store.root)
    if report.errors:   # a review that could not be made: the answer is unknown
        first = report.errors[0]
        raise SbschedError(f"{len(report.errors)} access review(s) failed at {report.server}; first: "
                           f"{first.access.verb} {first.access.display_resource}: {first.error}")
    denied = report.denied
    if output != "text":
        render.out(render.to_json(report.to_json()))
        return 1 if denied else 0
    if not report.derived.needs:
        render.out(f"Schedule {name!r} needs no Kubernetes access.")
    elif denied:
        reasons = any(report.verdicts[n.access].reason for n in denied)   # real API servers seldom give one
        render.out(render.table(["COLLECTOR", "VERB", "RESOURCE", "NAMESPACE"] + (["REASON"] if reasons else []),
                                [[n.collector, n.access.verb, n.access.display_resource, n.access.display_namespace]
                                 + ([report.verdicts[n.access].reason or render.NONE] if reasons else [])
                                 for n in denied]))
        distinct = len({n.access for n in denied})
        render.out(f"{distinct} of {len(report.verdicts)} access(es) would be denied at {report.server}: "
                   "those collectors will record the 403 and the run goes on without that data.")
    else:
        render.out(f"All {len(report.verdicts)} access(es) the collectors of {name!r} need are allowed "
                   f"at {report.server}.")
    for collector, why in report.derived.skipped:
        render.err(f"note: {collector} will be skipped: {why}")
    return 1 if denied else 0
