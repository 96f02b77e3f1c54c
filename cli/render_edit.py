"""The edit verbs' views: what the edit did to the file (and, dry, its diff), why it was refused, when
the schedule runs next. The plan itself is render.plan_text / plan_json."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reconciler.plan.manifest_edits import Edited


def edit_text(path: str, edited: Edited, *, dry_run: bool) -> str:
    """`FILE: what it did` on the first line (said unchanged or dry), its further lines, then a dry run's diff."""
    first, _, more = edited.what.partition("\n")
    message = f"{path}: {first}" + (" (already so: the file is unchanged)" if edited.unchanged else "") + \
        (f"\n{more}" if more else "")
    if not dry_run:
        return message
    message = message.replace("\n", " (dry run: nothing written)\n", 1) if "\n" in message else \
        message + " (dry run: nothing written)"
    return message + ("\n" + edited.diff.rstrip("\n") if not edited.unchanged else "")


def invalid_edit_text(path: str, edited: Edited) -> str:
    """Each problem the edit would make, FILE:LINE:COL, then that nothing was written."""
    before = " (it was invalid before this edit too)" if edited.invalid_before else ""
    return "\n".join([*(d.format() for d in edited.diagnostics),
                      f"{path}: not changed: the edit would leave it invalid, {len(edited.diagnostics)} error(s)"
                      f"{before}"])


def next_run_text(when: str | None, zone: str, *, applied: bool) -> str:
    if when is None:
        return "Next run: none (suspended)"
    return f"Next run: {when} ({zone})" + ("" if applied else ", once applied")
