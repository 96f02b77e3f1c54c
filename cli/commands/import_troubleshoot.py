"""sbsched import troubleshoot [--from DIR] [-f FILE]: troubleshoot's scheduled jobs as schedules in the
manifest (reconciler/manifest/job_import.py), so that `apply` takes over from `support-bundle schedule daemon`."""
from __future__ import annotations

from typing import TYPE_CHECKING

from .. import render
from .edit import EditOptions, edit

if TYPE_CHECKING:
    from reconciler.manifest.edit import Document


def import_troubleshoot(*, source: str | None, timezone: str | None, options: EditOptions) -> int:
    """Exit 0 every job imported (or imported before), 1 some could not be (listed), 2 error."""
    from reconciler.manifest.job_import import import_jobs, read_source

    jobs = read_source(source, timezone)
    left: list[str] = []

    def change(doc: Document, path: str) -> str:
        imported = import_jobs(doc, jobs, path=path)
        left.extend(imported.left)
        whose = "as --timezone says" if jobs.zone_given else "the host's"
        return (f"imported {imported.converted} of {len(jobs.jobs)} troubleshoot job(s) from {jobs.directory} "
                f"(timezone {jobs.zone}, {whose})\n" + "\n".join(imported.lines + imported.left)).rstrip("\n")

    if not jobs.jobs:
        render.out("\n".join([f"no troubleshoot jobs in {jobs.directory}",
                              *(f"  skipped {path}: not a troubleshoot job ({why})" for path, why in jobs.bad)]))
        return 0
    code = edit(options, change, create_missing=True)
    if code == 0 and left:
        render.err(f"sbsched: {len(left)} job(s) could not be imported (listed above); the others were")
        return 1
    return code
