"""sbsched import troubleshoot [--from DIR] [-f FILE]: troubleshoot's scheduled jobs as schedules in the
manifest, so that `apply` takes over from `support-bundle schedule daemon`."""
from __future__ import annotations

import os
from typing import TYPE_CHECKING

from .. import render
from .edit import EditOptions, edit

if TYPE_CHECKING:
    from reconciler.manifest.edit import Document

DEFAULT_DIR = os.path.join("~", ".troubleshoot", "scheduled-jobs")


def import_troubleshoot(*, source: str | None, timezone: str | None, options: EditOptions) -> int:
    """Exit 0 every job imported (or imported before), 1 some could not be (listed), 2 error."""
    from reconciler.base.errors import UsageError
    from reconciler.manifest import edit as manifest_edit
    from reconciler.timing.hostzone import host_zone
    from reconciler.troubleshoot import scheduled_jobs as ts

    directory = os.path.expanduser(source or DEFAULT_DIR)
    if not os.path.isdir(directory):
        raise UsageError(f"{directory}: no such directory: no troubleshoot scheduled jobs to import",
                         hint="--from DIR names the directory holding troubleshoot's <job-id>.json files")
    zone = timezone or host_zone()
    whose = "as --timezone says" if timezone else "the host's"
    if not zone:
        raise UsageError("cannot tell this host's time zone (TZ is unset, /etc/localtime is not a link to a zone "
                         "file, there is no /etc/timezone)",
                         hint="pass --timezone with the IANA zone the troubleshoot daemon ran in")
    jobs, bad = ts.read_jobs(directory)
    lines = [f"  skipped {path}: not a troubleshoot job ({why})" for path, why in bad]
    left: list[str] = []

    def change(doc: Document, path: str) -> str:
        done = ts.imported_ids(manifest_edit.schedules(doc))
        fresh = [job for job in jobs if job.id not in done]
        lines.extend(f"  job {job.name!r} ({job.id}) was imported before as {done[job.id]!r}: left as it is"
                     for job in jobs if job.id in done)
        converted, left_out = ts.convert(fresh, timezone=zone, taken=set(manifest_edit.names(doc)))
        for schedule in converted:
            manifest_edit.create(doc, schedule.name, manifest_edit.Changes(
                cron=schedule.cron, timezone=zone, namespaces=schedule.namespaces or None, upload=schedule.upload,
                suspend=schedule.suspend or None, labels=schedule.labels, collectors=ts.DEFAULT_COLLECTORS,
                auto=schedule.auto or None),
                source=path)
            lines.append(f"  job {schedule.job.name!r} ({schedule.job.id}) -> schedule {schedule.name!r}: "
                         f"cron {schedule.cron!r} in {zone}")
            lines.extend(f"    note: {note}" for note in schedule.notes)
        for job, why in left_out:
            left.append(f"  not imported: job {job.name!r} ({job.id}, {os.path.basename(job.source)}): {why}")
        return (f"imported {len(converted)} of {len(jobs)} troubleshoot job(s) from {directory} "
                f"(timezone {zone}, {whose})\n" + "\n".join(lines + left)).rstrip("\n")

    if not jobs:
        render.out("\n".join([f"no troubleshoot jobs in {directory}", *lines]))
        return 0
    code = edit(options, change, create_missing=True)
    if code == 0 and left:
        render.err(f"sbsched: {len(left)} job(s) could not be imported (listed above); the others were")
        return 1
    return code
