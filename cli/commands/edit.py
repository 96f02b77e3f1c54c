"""sbsched create | modify | delete | enable | disable NAME: edit the manifest in place, show the plan,
and with --apply apply it. Nothing is written unless the edited manifest validates and plans."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping

from .. import render
from ._common import store

if TYPE_CHECKING:
    from reconciler.manifest.edit import Changes, Document


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
    """Load (or start) the manifest, let `change` edit it (returning what it did, for people), check,
    plan, write, show, and apply when asked. Exit 0 done, 1 the edit makes the manifest invalid, 2 error."""
    from reconciler.base.errors import ManifestError, UsageError
    from reconciler.manifest import edit as manifest_edit
    from reconciler.manifest.load import read_text

    path = options.manifest
    expected: bytes | None
    if os.path.exists(path):
        text = read_text(path)
        expected = open(os.path.realpath(path), "rb").read()
        doc = manifest_edit.parse(text, source=path)
        current = manifest_edit.set_name(doc)
        if options.set_name and current and options.set_name != current:
            raise UsageError(f"{path} is set {current!r}, not {options.set_name!r}",
                             hint="--set names the set of a new file; leave it out, or pick another -f")
    elif create_missing:
        expected = None
        doc = manifest_edit.new_document(options.set_name or set_from_directory(path))
    else:
        raise ManifestError(f"{path}: no such file", hint="`sbsched create NAME --cron ... -f FILE` starts one")
    what = change(doc, path)
    new_text = manifest_edit.render(doc)
    return finish(options, doc, new_text, expected, what, show_next=show_next)


def finish(options: EditOptions, doc: Document, new_text: str, expected: bytes | None, what: str, *,
           show_next: str | None = None) -> int:
    """Validate `new_text` as the manifest, plan it, write it (unless unchanged or --dry-run), show it
    (with schedule `show_next`'s next run time)."""
    from reconciler.manifest.load import load_manifest_text, write_manifest
    from reconciler.plan.apply import plan_for
    from reconciler.plan.spec_snapshots import snapshot

    from ._common import config_defaults

    path = options.manifest
    result = load_manifest_text(new_text, path, config=config_defaults(options.state_dir))
    if result.manifest is None:
        for diagnostic in result.diagnostics:
            render.err(diagnostic.format())
        before = "" if expected is None or load_manifest_text(doc.original, path).valid else \
            " (it was invalid before this edit too)"
        render.err(f"{path}: not changed: the edit would leave it invalid, {len(result.diagnostics)} error(s)"
                   f"{before}")
        return 1
    state_store = store(options.state_dir, writes=options.apply and not options.dry_run)
    unchanged = expected is not None and new_text.encode("utf-8") == expected
    desired = snapshot(result.manifest)
    plan = plan_for(state_store, state_store.read(), desired, allow_empty=options.allow_empty,
                    with_basis=options.output == "json")[0]
    first, _, more = what.partition("\n")
    message = f"{path}: {first}" + (" (already so: the file is unchanged)" if unchanged else "") + \
        (f"\n{more}" if more else "")
    if options.dry_run:
        message = message.replace("\n", " (dry run: nothing written)\n", 1) if "\n" in message else \
            message + " (dry run: nothing written)"
        if not unchanged:
            message += "\n" + unified_diff(path, doc.original if expected is not None else "", new_text).rstrip("\n")
    elif not unchanged:
        write_manifest(path, new_text, expected=expected)
    if options.apply and not options.dry_run:
        from reconciler.base.clock import SystemClock
        from reconciler.daemon.state_mirror import publish_quietly
        from reconciler.plan import apply as applying

        plan = applying.apply(state_store, desired, now=SystemClock().now(), allow_empty=options.allow_empty,
                              with_basis=options.output == "json", after_write=publish_quietly,
                              lock_timeout=options.lock_timeout, command=options.command,
                              on_wait=lambda holder: render.err(f"sbsched: waiting up to {options.lock_timeout:g}s "
                                                                f"for the state lock held by {holder}"))
    if options.output == "json":
        render.err(message)
        render.out(render.plan_json(plan))
        return 0
    render.out(message)
    render.out(render.plan_text(plan, applied=options.apply and not options.dry_run))
    if show_next is not None:
        render.out(_next_run_line(result.manifest.schedules[show_next], applied=options.apply and not options.dry_run))
    if plan.has_changes and not options.apply:
        render.err(f"hint: `sbsched apply -f {path}` (or --apply) puts this into the state")
    return 0


def _next_run_line(spec: Mapping[str, Any], *, applied: bool) -> str:
    from reconciler.base.clock import SystemClock
    from reconciler.plan.transitions import next_run_time

    when = next_run_time(spec, {}, SystemClock().now())
    if when is None:
        return "Next run: none (suspended)"
    return f"Next run: {when} ({spec['timezone']})" + ("" if applied else ", once applied")


def unified_diff(path: str, before: str, after: str) -> str:
    import difflib

    return "".join(difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                        fromfile=f"a/{os.path.basename(path)}", tofile=f"b/{os.path.basename(path)}"))


def set_from_directory(path: str) -> str:
    """A new file's set: its directory's name, made a DNS-1123 label ("default" when nothing is left)."""
    from reconciler.base.names import dns_label

    return dns_label(os.path.basename(os.path.dirname(os.path.abspath(path))), max_length=63) or "default"


def spec_paths(manifest: str, specs: list[str] | None) -> list[str] | None:
    """--spec paths as the manifest holds them: relative to the manifest's directory (absolute stays)."""
    if specs is None:
        return None
    base = os.path.dirname(os.path.abspath(manifest))
    return [s if not s or os.path.isabs(s) else os.path.relpath(os.path.abspath(s), base) for s in specs]


def redaction_mode(redact: bool | None, tokenize: bool) -> str | None:
    """--redact / --no-redact / --tokenize as a manifest_edit.REDACTION mode (None: left as it is)."""
    from reconciler.base.errors import UsageError

    if tokenize and redact is False:
        raise UsageError("--tokenize redacts (with tokens), --no-redact does not: give one of them")
    if tokenize:
        return "tokenize"
    return None if redact is None else "mask" if redact else "off"


@dataclass(frozen=True)
class Fields:
    """What `create` and `modify` were told to set, as typed (None: not given). The flags are
    troubleshoot's `schedule create` flags too (reconciler/manifest/troubleshoot_flags.py)."""

    cron: str | None = None
    timezone: str | None = None
    namespaces: list[str] | None = None      # -n, repeatable, comma lists
    specs: list[str] | None = None           # -s, repeatable, comma lists
    upload: str | None = None
    redaction: str | None = None             # redaction_mode(--redact/--no-redact, --tokenize)
    enabled: bool | None = None              # -e false: suspend: true
    auto: bool = False                       # troubleshoot's auto-discovery: its foundational collectors
    analyze: bool | None = None
    upload_options: list[str] | None = None  # k=v,... for upload.options / upload.credentials
    upload_credentials: str | None = None    # PATH or ENVVAR
    description: str | None = None
    labels: list[str] | None = None          # k=v,...
    template: str | None = None              # create --template NAME

    def changes(self, doc: Document, name: str, manifest: str) -> Changes:
        """The manifest edit these fields make to schedule `name` of `doc`."""
        from reconciler.manifest import edit as manifest_edit
        from reconciler.manifest import troubleshoot_flags as flags

        settings = self._upload_settings(doc, name)
        specs = flags.split_list(self.specs)
        return manifest_edit.Changes(
            cron=self.cron, timezone=self.timezone, namespaces=flags.split_list(self.namespaces),
            specs=spec_paths(manifest, specs), upload=self.upload,
            redaction=self.redaction, suspend=None if self.enabled is None else not self.enabled,
            collectors=flags.AUTO_COLLECTORS if self.auto else None, analyze=self.analyze,
            description=self.description, labels=flags.key_values(self.labels, flag="--labels") or None,
            upload_settings=settings, template=self.template)

    def _upload_settings(self, doc: Document, name: str) -> dict[str, Any] | None:
        """--upload-options and --upload-credentials for the upload URL the schedule will have."""
        from reconciler.manifest import edit as manifest_edit
        from reconciler.manifest import troubleshoot_flags as flags
        from reconciler.base.errors import UsageError

        if not self.upload_options and self.upload_credentials is None:
            return None
        url = self.upload
        if url is None and name in manifest_edit.names(doc):
            url = (manifest_edit.find(doc, name).get("upload") or {}).get("url")
        url = url or manifest_edit.default(doc, "upload", "url")
        if not url:
            raise UsageError("--upload-options and --upload-credentials need an upload: give --upload URL")
        settings = flags.upload_settings(flags.key_values(self.upload_options, flag="--upload-options"), url)
        if self.upload_credentials is not None:
            more = flags.upload_credentials(self.upload_credentials, url)
            for section in ("options", "credentials"):
                settings[section].update(more[section])
        return settings


AUTO_UPLOAD = "enabled"   # troubleshoot's `--upload enabled`: its auto-upload, here the configured default upload


def create(name: str, *, fields: Fields, options: EditOptions) -> int:
    """Add the schedule; then, as troubleshoot's create does, say when it runs next and whether a
    daemon is there to run it."""
    from dataclasses import replace

    from reconciler.manifest import edit as manifest_edit

    auto_upload = (fields.upload or "").lower() == AUTO_UPLOAD
    if auto_upload:
        fields = replace(fields, upload=None)

    def change(doc: Document, path: str) -> str:
        if auto_upload:
            _default_upload(doc, options)
        manifest_edit.create(doc, name, fields.changes(doc, name, path), source=path)
        return f"created schedule {name!r}" + (" (its upload: the default one)" if auto_upload else "")

    code = edit(options, change, create_missing=True, show_next=name)
    if code == 0 and not options.dry_run:
        _warn_without_daemon(options)
    return code


def _default_upload(doc: Document, options: EditOptions) -> None:
    """`--upload enabled` needs a default upload: the manifest's `defaults.upload` or the config files'
    defaultUploadConfig (the schedule then names none and gets it)."""
    from reconciler.manifest import edit as manifest_edit
    from reconciler.base.errors import UsageError

    from ._common import config_defaults

    if not manifest_edit.default(doc, "upload", "url") and config_defaults(options.state_dir).upload is None:
        raise UsageError("--upload enabled: troubleshoot's auto-upload goes to its vendor portal, which sbsched "
                         "does not have; here it means the default upload, and none is configured",
                         hint="give --upload URL, or set defaultUploadConfig: {endpoint: URL} (with "
                              "autoUploadEnabled: true) in <state-dir>/config.yaml")


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
