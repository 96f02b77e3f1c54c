"""Views of the state: one schedule, the list, the history, a cleanup. Plain data in, text out."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .render import table

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
