"""sbsched create | modify | delete | enable | disable NAME: edit the manifest in place, show the plan,
and with --apply apply it. Nothing is written unless the edited manifest validates and plans."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from reconciler.manifest.edit_flags import AUTO_UPLOAD, Fields, redaction_mode, require_default_upload

from .. import render
from ..render_edit import edit_text, invalid_edit_text, next_run_text
from ._common import store

__all__ = ["EditOptions", "Fields", "create", "delete", "edit", "modify", "redaction_mode", "set_enabled"]

if TYPE_CHECKING:
    from reconciler.manifest.edit import Document


@dataclass(frozen=True)
class EditOptions:
    manifest: str
    state_dir: str | None
    output: str = "text"
    apply: bool = False
    dry_run: bool = False
    lock_timeout: float = 30.0
    command: str = "sbsched"
    set_name: str | None = None      # create: the set of a new file (default: the directory's name)
    allow_empty: bool = False        # delete of the last schedule: the user named it, so the set may empty


def edit(options: EditOptions, change: Callable[[Document, str], str], *, create_missing: bool = False,
         show_next: str | None = None) -> int:
    """The library's edit (reconciler/plan/manifest_edits.py), then its view. Exit 0 done, 1 the edit
    makes the manifest invalid, 2 error."""
    from reconciler.base.clock import SystemClock
    from reconciler.daemon.state_mirror import publish_quietly
    from reconciler.plan.manifest_edits import EditRequest, edit_manifest

    from ._common import config_defaults

    request = EditRequest(options.manifest, dry_run=options.dry_run, apply=options.apply,
                          allow_empty=options.allow_empty, with_basis=options.output == "json",
                          lock_timeout=options.lock_timeout, command=options.command, set_name=options.set_name,
                          create_missing=create_missing, show_next=show_next)
    edited = edit_manifest(request, change, defaults=config_defaults(options.state_dir),
                           store=lambda writes: store(options.state_dir, writes=writes), now=SystemClock().now(),
                           after_write=publish_quietly,
                           on_wait=lambda holder: render.err(f"sbsched: waiting up to {options.lock_timeout:g}s "
                                                             f"for the state lock held by {holder}"))
    path = options.manifest
    if edited.plan is None:
        render.err(invalid_edit_text(path, edited))
        return 1
    message = edit_text(path, edited, dry_run=options.dry_run)
    if options.output == "json":
        render.err(message)
        render.out(render.plan_json(edited.plan))
        return 0
    render.out(message)
    render.out(render.plan_text(edited.plan, applied=edited.applied))
    if edited.next_run is not None:
        render.out(next_run_text(*edited.next_run, applied=edited.applied))
    if edited.plan.has_changes and not options.apply:
        render.err(f"hint: `sbsched apply -f {path}` (or --apply) puts this into the state")
    return 0


def create(name: str, *, fields: Fields, options: EditOptions) -> int:
    """Add the schedule; then, as troubleshoot's create does, say when it runs next and whether a
    daemon is there to run it."""
    from dataclasses import replace

    from reconciler.manifest import edit as manifest_edit

    from ._common import config_defaults

    auto_upload = (fields.upload or "").lower() == AUTO_UPLOAD
    if auto_upload:
        fields = replace(fields, upload=None)

    def change(doc: Document, path: str) -> str:
        if auto_upload:
            require_default_upload(doc, config_defaults(options.state_dir))
        manifest_edit.create(doc, name, fields.changes(doc, name, path), source=path)
        return f"created schedule {name!r}" + (" (its upload: the default one)" if auto_upload else "")

    code = edit(options, change, create_missing=True, show_next=name)
    if code == 0 and not options.dry_run:
        _warn_without_daemon(options)
    return code


def _warn_without_daemon(options: EditOptions) -> None:
    from reconciler.store.paths import state_dir
    from reconciler.store.pidfile import PidFile

    root = state_dir(options.state_dir)
    if not (root / "daemon.pid").exists() or PidFile(root).running() is None:
        render.err("warning: the sbsched daemon is not running, so nothing runs on schedule: start it with "
                   "`sbsched daemon start`")


def modify(name: str, *, fields: Fields, options: EditOptions) -> int:
    from reconciler.manifest import edit as manifest_edit

    def change(doc: Document, path: str) -> str:
        manifest_edit.modify(doc, name, fields.changes(doc, name, path), source=path)
        return f"modified schedule {name!r}"

    return edit(options, change, show_next=name)


def delete(name: str, *, options: EditOptions) -> int:
    from reconciler.manifest import edit as manifest_edit

    def change(doc: Document, path: str) -> str:
        manifest_edit.delete(doc, name, source=path)
        return f"deleted schedule {name!r}"

    return edit(options, change)


def set_enabled(name: str, *, enabled: bool, options: EditOptions) -> int:
    from reconciler.manifest import edit as manifest_edit

    def change(doc: Document, path: str) -> str:
        manifest_edit.set_suspended(doc, name, not enabled, source=path)
        return f"{'enabled' if enabled else 'disabled'} schedule {name!r} (suspend: {str(not enabled).lower()})"

    return edit(options, change)
