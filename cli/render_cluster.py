"""Views of `diff/apply --target kubernetes`: the plan against a cluster, object by object."""
from __future__ import annotations

import difflib
from typing import Any

from .render import changes_shown, scalar


def cluster_plan_text(plan: Any, *, applied: bool = False, dry_run: bool = False) -> str:
    lines: list[str] = []
    for change, head in changes_shown(plan, lambda change, action: f"{change.ref}: {action}"):
        lines.append(head)
        for field in change.fields:
            lines += _field(field.path, field.before, field.after)
    counts = plan.summary
    where = f"{plan.server} (namespace {plan.namespace})"
    if not plan.has_changes:
        lines.append(f"No changes: set {plan.set_name!r} is up to date in {where} ({counts['no-op']} objects).")
    elif applied:
        lines.append(f"Applied set {plan.set_name!r} to {where}: {counts['create']} created, {counts['update']} "
                     f"updated, {counts['delete']} deleted, {counts['no-op']} unchanged.")
    else:
        lines.append(f"Plan for set {plan.set_name!r} in {where}: {counts['create']} to create, {counts['update']} "
                     f"to update, {counts['delete']} to delete, {counts['no-op']} unchanged."
                     + (" (dry run: nothing applied)" if dry_run else ""))
    return "\n".join(lines) + "\n"


def _field(path: str, before: Any, after: Any) -> list[str]:
    """One line per field; a multi-line text (a spec file, schedule.json) as a unified diff."""
    if isinstance(before, str) and isinstance(after, str) and ("\n" in before or "\n" in after):
        diff = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=1)
        return [f"    {path}:"] + [f"      {line}" for line in list(diff)[2:]]
    return [f"    {path}: {scalar(before)} -> {scalar(after)}"]
