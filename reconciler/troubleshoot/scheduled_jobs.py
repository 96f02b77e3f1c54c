"""Pure: troubleshoot's scheduled jobs (`support-bundle schedule create`) as sbsched schedules.

troubleshoot keeps each job in `~/.troubleshoot/scheduled-jobs/<id>.json` (pkg/schedule/job.go):
`{id, name, schedule, namespace, auto, upload, enabled, runCount, lastRun, created}`. Its daemon
(pkg/schedule/daemon.go) wakes once a minute and runs a job when every field of its 5-field cron
matches the local wall time, with its own matcher (`matchesCronField`):

- `*` matches anything; `*/N` matches values divisible by N (so day-of-month `*/2` is the even days,
  where cron's `*/2` counts from 1: 1, 3, 5...); anything else is a comma list of integers, and an
  item that is not one (a range, a name) never matches;
- all five fields must match: day-of-month AND day-of-week, where cron fires when either does if both
  are restricted; day-of-week is 0-6 (7 never matches).

Each job's expression is turned into the cron expression that fires at exactly the same wall times
(fields kept as written where cron reads them the same way), with a note for each field that had to
change. A job whose expression cron cannot express (both day fields restricted) or that never fires
under troubleshoot's matcher is not converted: the reason is returned instead. The local-time meaning
becomes an explicit `timezone`: the zone of the host the jobs ran on.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping

from ..base.names import dns_label, unique
from ..timing import cron

# (name, lowest, highest) of troubleshoot's fields: the values its matcher can meet (day-of-week 0-6)
FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day-of-month", 1, 31), ("month", 1, 12), ("day-of-week", 0, 6))
DEFAULT_COLLECTORS: tuple[dict[str, dict[str, Any]], ...] = ({"clusterInfo": {}}, {"clusterResources": {}})   # what every support-bundle run collects
UPLOAD_SCHEMES = ("s3://", "gs://", "https://", "http://", "file://")
LABEL_FROM, LABEL_ID = "migrated-from", "troubleshoot-job-id"
_GO_INT = re.compile(r"[+-]?[0-9]+")


class Unconvertible(ValueError):
    """The job cannot become a schedule that fires when it did; `str()` says why."""


@dataclass(frozen=True)
class Job:
    id: str
    name: str
    schedule: str
    namespace: str = ""
    auto: bool = False
    upload: str = ""
    enabled: bool = True
    run_count: int = 0
    last_run: str | None = None
    created: str | None = None
    source: str = ""

    @classmethod
    def from_json(cls, data: Any, *, source: str = "") -> Job:
        """A job as troubleshoot wrote it; ValueError when it is not one (troubleshoot skips those too)."""
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        for key in ("id", "name", "schedule"):
            if not isinstance(data.get(key), str) or not data[key].strip():
                raise ValueError(f"no {key!r} string")
        text = {k: str(data[k]) if isinstance(data.get(k), str) else "" for k in ("namespace", "upload")}
        return cls(id=data["id"], name=data["name"].strip(), schedule=data["schedule"], namespace=text["namespace"],
                   auto=data.get("auto") is True, upload=text["upload"],
                   enabled=data.get("enabled", True) is not False,
                   run_count=data["runCount"] if isinstance(data.get("runCount"), int) else 0,
                   last_run=_stamp(data.get("lastRun")), created=_stamp(data.get("created")), source=source)


def _stamp(value: Any) -> str | None:
    """A Go time.Time as JSON; its zero value (`0001-01-01T00:00:00Z`, a job never run) is None."""
    return value if isinstance(value, str) and value and not value.startswith("0001-01-01") else None


@dataclass
class Converted:
    """One job as a schedule: its manifest fields and a note for each thing that changed on the way."""

    job: Job
    name: str
    cron: str
    namespaces: list[str]
    upload: str | None
    suspend: bool
    labels: dict[str, str]
    notes: list[str] = field(default_factory=list)
    auto: bool = False   # troubleshoot's auto-discovery: collect.auto


# -- cron ----------------------------------------------------------------------------------------------
def matches(field_text: str, value: int) -> bool:
    """troubleshoot's matchesCronField, line for line."""
    if field_text == "*":
        return True
    if field_text.startswith("*/"):
        interval = field_text[2:]
        return bool(_GO_INT.fullmatch(interval)) and int(interval) > 0 and value % int(interval) == 0
    return any(_GO_INT.fullmatch(item.strip()) and int(item.strip()) == value for item in field_text.split(","))


def convert_cron(expression: str) -> tuple[str, list[str]]:
    """The cron expression (cronie semantics) that fires exactly when troubleshoot's daemon ran the job,
    with a note per field that changed; Unconvertible when there is none."""
    parts = expression.split()
    if len(parts) != 5:
        raise Unconvertible(f"{expression!r} has {len(parts)} fields; troubleshoot's daemon only runs 5-field "
                            "expressions, so this job never ran")
    sets = [frozenset(v for v in range(low, high + 1) if matches(text, v)) for text, (_, low, high)
            in zip(parts, FIELDS)]
    for text, values, (name, _, _) in zip(parts, sets, FIELDS):
        if not values:
            raise Unconvertible(f"{name} {text!r} matches nothing under troubleshoot's matcher, so this job "
                                "never ran")
    out, notes = [], []
    for index, (text, values, (name, low, high)) in enumerate(zip(parts, sets, FIELDS)):
        written = text if _same(text, values, index) else _render(values, low, high)
        if written != text:
            notes.append(f"cron {name} {text!r} is written {written!r}: {_why(text, name)}")
        out.append(written)
    day_star, weekday_star = out[2].startswith("*"), out[4].startswith("*")
    if not day_star and not weekday_star:
        raise Unconvertible(f"{expression!r} restricts both day-of-month and day-of-week: troubleshoot runs it when "
                            "both match, cron when either does, and no cron expression says 'both'")
    result = " ".join(out)
    try:
        cron.parse(result)
    except cron.CronError as exc:
        raise Unconvertible(f"{expression!r}: {exc}") from None
    return result, notes


def _same(text: str, values: frozenset[int], index: int) -> bool:
    """True when cron reads field `text` as exactly troubleshoot's `values` (the day rule's AND/OR, which
    depends on whether a day field starts with `*`, is checked on the whole expression)."""
    name, low, high = FIELDS[index]
    try:
        read = cron._parse_field(text, name, low, 7 if index == 4 else high, None)
    except cron.CronError:
        return False
    if index == 4 and 7 in read:
        read = (read - {7}) | {0}
    return read == values


def _render(values: frozenset[int], low: int, high: int) -> str:
    """`values` as one cron field: `*`, `*/N`, `a-b/N`, or a list with ranges."""
    ordered = sorted(values)
    if len(ordered) == high - low + 1:
        return "*"
    if len(ordered) > 1:
        step = ordered[1] - ordered[0]
        if ordered == list(range(ordered[0], ordered[-1] + 1, step)):
            if ordered[0] == low and ordered[-1] + step > high:
                return f"*/{step}"
            if step > 1 and len(ordered) > 2:
                return f"{ordered[0]}-{ordered[-1]}/{step}"
    runs: list[str] = []
    start = previous = ordered[0]
    for value in [*ordered[1:], None]:
        if value is not None and value == previous + 1:
            previous = value
            continue
        runs.append(str(start) if start == previous else f"{start}-{previous}")
        if value is not None:
            start = previous = value
    return ",".join(runs)


_PLURAL = {"minute": "minutes", "hour": "hours", "day-of-month": "days of the month", "month": "months",
           "day-of-week": "days of the week"}


def _why(text: str, name: str) -> str:
    if text.startswith("*/"):
        return (f"troubleshoot matches the {_PLURAL[name]} divisible by {text[2:]}" +
                ("; cron's */N on that field counts from 1" if name in ("day-of-month", "month") else ""))
    if name == "day-of-week" and "7" in text.split(","):
        return "troubleshoot never matches 7 (Sunday is 0 there)"
    return "troubleshoot's matcher reads only integers and lists; the values it matched are kept"


# -- jobs ----------------------------------------------------------------------------------------------
def convert(jobs: list[Job], *, timezone: str, taken: set[str]) -> tuple[list[Converted], list[tuple[Job, str]]]:
    """(schedules, jobs left out with why), names made DNS-1123 labels unique among `taken` (updated)."""
    converted: list[Converted] = []
    left_out: list[tuple[Job, str]] = []
    for job in jobs:
        try:
            expression, notes = convert_cron(job.schedule)
        except Unconvertible as exc:
            left_out.append((job, str(exc)))
            continue
        base = dns_label(job.name) or dns_label(f"job-{job.id}") or "troubleshoot-job"
        name = unique(base, taken)
        taken.add(name)
        if name != job.name:
            notes.insert(0, f"name {job.name!r} is {name!r}: schedule names are DNS-1123 labels, unique, "
                            "at most 52 characters")
        upload = job.upload if job.upload.startswith(UPLOAD_SCHEMES) else None
        if job.upload and upload is None:
            notes.append(f"upload {job.upload!r} (troubleshoot's auto-upload to the vendor portal) has no sbsched "
                         "equivalent: set upload.url to s3://, gs://, https:// or file://")
        if not job.enabled:
            notes.append("the job was disabled: the schedule is written with suspend: true")
        converted.append(Converted(job, name, expression, [job.namespace] if job.namespace else [], upload,
                                   not job.enabled, {LABEL_FROM: "troubleshoot", LABEL_ID: job.id}, notes,
                                   job.auto))
    return converted, left_out


def order(jobs: list[Job]) -> list[Job]:
    """Oldest first (troubleshoot's `created`), then by name: the order the schedules are appended in."""
    def key(job: Job) -> tuple[float, str, str]:
        try:
            created = datetime.fromisoformat(job.created.replace("Z", "+00:00")).timestamp() if job.created else 0.0
        except ValueError:
            created = 0.0
        return created, job.name, job.id

    return sorted(jobs, key=key)


def imported_ids(schedules: list[Mapping[str, Any]]) -> dict[str, str]:
    """troubleshoot job id -> schedule name, for schedules an earlier import wrote (their labels)."""
    found: dict[str, str] = {}
    for item in schedules:
        labels = item.get("labels") if isinstance(item, Mapping) else None
        if isinstance(labels, Mapping) and isinstance(labels.get(LABEL_ID), str):
            found[labels[LABEL_ID]] = str(item.get("name"))
    return found


def read_jobs(directory: str) -> tuple[list[Job], list[tuple[str, str]]]:
    """The jobs in troubleshoot's directory (`*.json`), oldest first, and the files that are not jobs
    (file, why), which troubleshoot's daemon skips too."""
    import glob
    import json
    import os

    jobs: list[Job] = []
    bad: list[tuple[str, str]] = []
    for path in sorted(glob.glob(os.path.join(glob.escape(directory), "*.json"))):
        try:
            with open(path, "rb") as handle:
                jobs.append(Job.from_json(json.loads(handle.read(1 << 20)), source=path))
        except (OSError, ValueError) as exc:
            bad.append((path, str(exc).splitlines()[0] if str(exc) else type(exc).__name__))
    return order(jobs), bad
