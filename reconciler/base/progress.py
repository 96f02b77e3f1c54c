"""What a run reports as it goes, for a live view (the CLI's, on a terminal): each collector as it starts
and ends with the bytes it wrote, redaction, the archive and the upload.

A `Progress` is any callable taking a `ProgressEvent`. The executor calls it from the run's thread and,
for collectors, from their worker threads, so it must be thread-safe; it must also be quick and never
raise (a view's failure is not the run's: `safe` wraps it so). The library knows no renderer: run/ never
imports rich, the CLI does (cli/progress.py).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

COLLECTION_STARTED = "collection-started"   # total: how many collectors will run
COLLECTOR_STARTED = "collector-started"     # name, kind
COLLECTOR_FINISHED = "collector-finished"   # name, kind, status (succeeded|failed|skipped), detail, bytes, ms
REDACTION_STARTED = "redaction-started"
REDACTION_FINISHED = "redaction-finished"   # total: values masked; bytes: files changed
BUNDLE_WRITTEN = "bundle-written"           # detail: path; bytes: its size
UPLOAD_STARTED = "upload-started"           # detail: the object URL (masked)
UPLOAD_FINISHED = "upload-finished"         # status (uploaded|failed), bytes, detail: the error


@dataclass(frozen=True)
class ProgressEvent:
    stage: str
    name: str = ""
    kind: str = ""
    status: str | None = None
    detail: str | None = None
    bytes: int | None = None
    total: int | None = None
    duration_ms: int | None = None


Progress = Callable[[ProgressEvent], None]


def ignore(_event: ProgressEvent) -> None:
    """The default: a run nobody watches."""


def safe(progress: Progress | None) -> Progress:
    """`progress`, or `ignore`; an error raised by the view is logged once per event, never the run's."""
    if progress is None:
        return ignore
    view = progress

    def call(event: ProgressEvent) -> None:
        try:
            view(event)
        except Exception as exc:   # a broken terminal must not fail a bundle
            logging.getLogger("sbsched.progress").debug("progress view failed: %s", exc)
    return call
