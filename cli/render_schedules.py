"""Views of the state: one schedule, the list, the history, a cleanup. Plain data in, text out."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .render import NONE, after_text, table, to_yaml

if TYPE_CHECKING:
    from reconciler.run.cleanup import Cleanup


def cleanup_text(result: Cleanup, *, dry_run: bool, repair: bool) -> str:
    """What was repaired, removed and held back, then the totals."""
    lines: list[str] = []
    if repair:
        repaired = result.repaired
        lines += [f"Repaired {len(repaired)} thing(s)" + (":" if repaired else ": nothing to repair."),
                  *(f"  {r['kind']}: {r.get('id') or r.get('path')}" for r in repaired)]
    verb = "Would remove" if dry_run else "Removed"
    removed, kept, summary = result.removed, result.held_back, result.summary
    if removed:
        lines.append(table(["SCHEDULE", "RUN", "STATUS", "TIME", "REASON"],
                           [(r["schedule"], r["id"], r["status"], r["time"], r["reason"]) for r in removed]).rstrip("\n"))
    if kept:
        lines.append(f"Kept {len(kept)} run(s) whose upload failed (--force removes them too): "
                     + ", ".join(r["id"] for r in kept))
    lines.append(f"{verb} {summary['runs']} run(s): {summary['bundles']} bundle(s), {summary['records']} record(s), "
                 f"{summary['bytes'] / 1024 / 1024:.1f} MiB." if removed else "Nothing to remove.")
    if result.snapshots:
        lines.append(f"{verb} {len(result.snapshots)} spec snapshot(s) no schedule references.")
    return "\n".join(lines)


DRIFT = {"none": "as applied", "changed": "DRIFT: {file} changed since it was applied",
         "missing": "DRIFT: {file} is gone", "unknown": "applied from an unrecorded place"}


def status_text(name: str, view: dict[str, Any]) -> str:
    """One schedule (plan/views.schedule_status): its fields, its spec as YAML, its spec files, recent runs."""
    st, spec = view["status"], view["spec"]
    lines = [
        f"Name:                 {name}",
        f"Set:                  {view['set']}",
        *([f"Description:          {spec['description']}"] if spec.get("description") else []),
        *([f"Template:             {spec['template']}"] if spec.get("template") else []),
        *([f"Cron:                 {spec['cron']} ({spec['timezone']})"] if "cron" in spec else []),
        *([f"Runs after:           {after_text(spec)}"] if spec.get("after") else []),
        f"Suspended:            {str(bool(spec['suspend'])).lower()} (manifest), "
        f"{str(bool(st.get('suspended'))).lower()} (runtime)",
        f"Next run:             {st['nextRunTime'] or NONE}",
        *([f"Not scheduled:        {st['scheduleError']}"] if "scheduleError" in st else []),
        f"Last scheduled:       {st.get('lastScheduleTime') or NONE}",
        f"Last successful:      {st.get('lastSuccessfulTime') or NONE}",
        f"Last result:          {st.get('lastResult') or NONE}",
        f"Consecutive failures: {st.get('consecutiveFailures', 0)}",
        f"Run count:            {st.get('runCount', 0)}",
        f"Active:               {', '.join(st.get('active') or []) or NONE}",
        "Spec:",
        *("  " + line for line in to_yaml(spec).splitlines()),
        *(["Spec files (runs use the applied snapshots):"] if view["specFiles"] else []),
        *(f"  {f['path']}  sha256 {f['sha256'][:12]}  {DRIFT[f['drift']].format(file=f['file'])}"
          for f in view["specFiles"]),
        "Recent runs:",
    ]
    runs = view["recentRuns"]
    lines += [f"  {r.get('id')}  {r.get('status')}  {r.get('reason') or ''}".rstrip() for r in runs] or ["  " + NONE]
    return "\n".join(lines)


def history_table(records: list[dict[str, Any]]) -> str:
    rows = [(r["id"], r["schedule"], r["trigger"], r["status"], _reason(r), r.get("startTime") or "",
             f"{r['durationSeconds']:.1f}s" if r.get("durationSeconds") is not None else "",
             (r.get("bundle") or {}).get("path") or NONE) for r in records]
    return table(["ID", "SCHEDULE", "TRIGGER", "STATUS", "REASON", "STARTED", "DURATION", "BUNDLE"], rows)


def _reason(record: dict[str, Any]) -> str:
    """Why it ended so; for a run waiting in backoff, also when it tries again."""
    reason = record.get("reason") or ""
    if record.get("status") == "retrying" and record.get("nextAttemptTime"):
        return f"{reason}, next attempt {record['nextAttemptTime']}".lstrip(", ")
    return reason


def logs_text(record: dict[str, Any]) -> str:
    """An execution's own log lines, under a `--- ID (status)` line."""
    from reconciler.run.run_log import lines

    shown = lines(record.get("logs")) or ["(no log lines: recorded by an sbsched without run logs)"]
    return "\n".join([f"--- {record['id']} ({record['status']})", *("  " + line for line in shown)]) + "\n"


def list_table(items: list[dict[str, Any]], *, wide: bool) -> str:
    """`list`'s table (plan/inventory.list_items); `wide` adds STATUS, RUN-COUNT and DESCRIPTION."""
    from reconciler.plan.inventory import disabled, run_status

    headers = ["NAME", "SET", "CRON", "TIMEZONE", "SUSPENDED", "NEXT-RUN", "LAST-RUN", "LAST-RESULT"]
    rows = [[i["name"], i["set"], _cron(i["spec"]), i["spec"]["timezone"], str(disabled(i)).lower(),
             "error" if "scheduleError" in i["status"] else i["status"]["nextRunTime"] or NONE,
             i["status"].get("lastScheduleTime") or NONE, i["status"].get("lastResult") or NONE]
            for i in items]
    if wide:
        headers += ["STATUS", "RUN-COUNT", "DESCRIPTION"]
        for row, i in zip(rows, items):
            row += [run_status(i), str(i["status"].get("runCount", 0)), i["spec"].get("description") or ""]
    return table(headers, rows)


def _cron(spec: dict[str, Any]) -> str:
    """The CRON column: the cron, and/or the chain a schedule runs after ("after nightly (success)")."""
    after = after_text(spec)
    return " ".join(part for part in (spec.get("cron", ""), after and f"after {after}") if part)
