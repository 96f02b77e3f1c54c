"""The edit verbs' use case (`create`, `modify`, `delete`, `enable`, `disable`, `import troubleshoot`):
load the manifest (or start one), edit it, check the result as `validate` would, plan it against the
state, write it, and apply it when asked. Nothing is written unless the edited manifest validates and
plans; the file is replaced only if nobody changed it since it was read (manifest/load.write_manifest)."""
from __future__ import annotations

import difflib
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable

from ..base.errors import Diagnostic, ManifestError, UsageError
from ..base.names import dns_label
from ..manifest import edit as manifest_edit
from ..manifest.load import load_manifest_text, read_text, write_manifest
from ..manifest.normalize import ScheduleDefaults, ScheduleSet
from ..store.state import StateStore
from . import apply as applying
from .plan import Plan
from .spec_snapshots import snapshot
from .transitions import next_run_time

Change = Callable[[manifest_edit.Document, str], str]   # edits the document; says what it did, for people


@dataclass(frozen=True)
class EditRequest:
    manifest: str
    dry_run: bool = False
    apply: bool = False
    allow_empty: bool = False      # delete of the last schedule: the user named it, so the set may empty
    with_basis: bool = False       # the plan carries the state's basis (JSON output)
    lock_timeout: float = 30.0
    command: str = "sbsched"
    set_name: str | None = None    # create: the set of a new file (default: the directory's name)
    create_missing: bool = False   # start the file when it is missing
    show_next: str | None = None   # the schedule whose next run time to give


@dataclass(frozen=True)
class Edited:
    """How an edit ended. With `diagnostics`, the edit would have left the manifest invalid and nothing
    was written (`invalid_before`: it was invalid before the edit too); else it was planned, written
    unless `unchanged` or a dry run (`diff` then says what would change), and applied when asked."""

    what: str
    diagnostics: tuple[Diagnostic, ...] = ()
    invalid_before: bool = False
    unchanged: bool = False
    diff: str = ""
    plan: Plan | None = None
    applied: bool = False
    next_run: tuple[str | None, str] | None = None   # (next run time or None while suspended, its zone)


def edit_manifest(request: EditRequest, change: Change, *, defaults: ScheduleDefaults,
                  store: Callable[[bool], StateStore], now: datetime,
                  after_write: Callable[[Path], None] | None = None,
                  on_wait: Callable[[str], None] | None = None) -> Edited:
    """`defaults`: what the config files add to every schedule; `store(writes)`: the state, checked (and
    fixed when it `writes`) only once the edit validated; `after_write` and `on_wait` as for plan/apply."""
    path = request.manifest
    doc, expected = open_document(path, set_name=request.set_name, create_missing=request.create_missing)
    what = change(doc, path)
    new_text = manifest_edit.render(doc)
    result = load_manifest_text(new_text, path, config=defaults)
    if result.manifest is None:
        before = expected is not None and not load_manifest_text(doc.original, path).valid
        return Edited(what, diagnostics=tuple(result.diagnostics), invalid_before=before)
    applies = request.apply and not request.dry_run
    state_store = store(applies)
    unchanged = expected is not None and new_text.encode("utf-8") == expected
    desired = snapshot(result.manifest)
    plan = applying.plan_for(state_store, state_store.read(), desired, allow_empty=request.allow_empty,
                             with_basis=request.with_basis)[0]
    diff = ""
    if request.dry_run:
        diff = "" if unchanged else unified_diff(path, doc.original if expected is not None else "", new_text)
    elif not unchanged:
        write_manifest(path, new_text, expected=expected)
    if applies:
        plan = applying.apply(state_store, desired, now=now, allow_empty=request.allow_empty,
                              with_basis=request.with_basis, after_write=after_write,
                              lock_timeout=request.lock_timeout, command=request.command, on_wait=on_wait)
    return Edited(what, unchanged=unchanged, diff=diff, plan=plan, applied=applies,
                  next_run=_next_run(result.manifest, request.show_next, now))


def open_document(path: str, *, set_name: str | None, create_missing: bool
                  ) -> tuple[manifest_edit.Document, bytes | None]:
    """The manifest to edit and its bytes as read (None: a new file, started as set `set_name` or its
    directory's name). Raises ManifestError when it is missing and may not be started, UsageError when
    `set_name` contradicts the file's."""
    if os.path.exists(path):
        text = read_text(path)
        with open(os.path.realpath(path), "rb") as handle:
            expected = handle.read()
        doc = manifest_edit.parse(text, source=path)
        current = manifest_edit.set_name(doc)
        if set_name and current and set_name != current:
            raise UsageError(f"{path} is set {current!r}, not {set_name!r}",
                             hint="--set names the set of a new file; leave it out, or pick another -f")
        return doc, expected
    if create_missing:
        return manifest_edit.new_document(set_name or set_from_directory(path)), None
    raise ManifestError(f"{path}: no such file", hint="`sbsched create NAME --cron ... -f FILE` starts one")


def _next_run(manifest: ScheduleSet, name: str | None, now: datetime) -> tuple[str | None, str] | None:
    if name is None:
        return None
    spec = manifest.schedules[name]
    return next_run_time(spec, {}, now), spec["timezone"]


def unified_diff(path: str, before: str, after: str) -> str:
    name = os.path.basename(path)
    return "".join(difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                        fromfile=f"a/{name}", tofile=f"b/{name}"))


def set_from_directory(path: str) -> str:
    """A new file's set: its directory's name, made a DNS-1123 label ("default" when nothing is left)."""
    return dns_label(os.path.basename(os.path.dirname(os.path.abspath(path))), max_length=63) or "default"

