"""`import troubleshoot`: troubleshoot's scheduled jobs (troubleshoot/scheduled_jobs.py) written into a
manifest as schedules, so that `apply` takes over from `support-bundle schedule daemon`. A job imported
before (its id in a schedule's label) is left as it is; one that cannot be converted is listed, not
guessed at."""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from ..base.errors import UsageError
from ..timing import hostzone
from ..troubleshoot import scheduled_jobs as ts
from . import edit as manifest_edit

DEFAULT_DIR = os.path.join("~", ".troubleshoot", "scheduled-jobs")


@dataclass(frozen=True)
class JobSource:
    """troubleshoot's job directory, read: its jobs, the files that are none (path, why), and the zone the
    jobs ran in (`zone_given`: by --timezone, else the host's)."""

    directory: str
    zone: str
    zone_given: bool
    jobs: list[ts.Job]
    bad: list[tuple[str, str]]


def read_source(source: str | None, timezone: str | None) -> JobSource:
    """Raises UsageError when the directory is missing or the host's zone cannot be told (and none given)."""
    directory = os.path.expanduser(source or DEFAULT_DIR)
    if not os.path.isdir(directory):
        raise UsageError(f"{directory}: no such directory: no troubleshoot scheduled jobs to import",
                         hint="--from DIR names the directory holding troubleshoot's <job-id>.json files")
    zone = timezone or hostzone.host_zone()
    if not zone:
        raise UsageError("cannot tell this host's time zone (TZ is unset, /etc/localtime is not a link to a zone "
                         "file, there is no /etc/timezone)",
                         hint="pass --timezone with the IANA zone the troubleshoot daemon ran in")
    jobs, bad = ts.read_jobs(directory)
    return JobSource(directory, zone, bool(timezone), jobs, bad)


@dataclass
class Imported:
    """What one import did: how many jobs became schedules, a line for each job (and each bad file), and
    the jobs left out with why."""

    converted: int = 0
    lines: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)


def import_jobs(doc: manifest_edit.Document, source: JobSource, *, path: str) -> Imported:
    """Add a schedule to `doc` for each job not imported before."""
    result = Imported(lines=[f"  skipped {bad}: not a troubleshoot job ({why})" for bad, why in source.bad])
    done = ts.imported_ids(manifest_edit.schedules(doc))
    fresh = [job for job in source.jobs if job.id not in done]
    result.lines.extend(f"  job {job.name!r} ({job.id}) was imported before as {done[job.id]!r}: left as it is"
                        for job in source.jobs if job.id in done)
    converted, left_out = ts.convert(fresh, timezone=source.zone, taken=set(manifest_edit.names(doc)))
    for schedule in converted:
        manifest_edit.create(doc, schedule.name, manifest_edit.Changes(
            cron=schedule.cron, timezone=source.zone, namespaces=schedule.namespaces or None, upload=schedule.upload,
            suspend=schedule.suspend or None, labels=schedule.labels, collectors=ts.DEFAULT_COLLECTORS,
            auto=schedule.auto or None),
            source=path)
        result.lines.append(f"  job {schedule.job.name!r} ({schedule.job.id}) -> schedule {schedule.name!r}: "
                            f"cron {schedule.cron!r} in {source.zone}")
        result.lines.extend(f"    note: {note}" for note in schedule.notes)
    result.converted = len(converted)
    result.left = [f"  not imported: job {job.name!r} ({job.id}, {os.path.basename(job.source)}): {why}"
                   for job, why in left_out]
    return result
