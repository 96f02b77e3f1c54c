"""The live view of `sbsched run` on a terminal: the run's progress events (reconciler/base/progress.py)
drawn with rich on stderr, a line per step above a bar of the collectors done, which disappears when
the run ends and leaves only the lines; the summary on stdout is the same as without it.

Shown only when stdout and stderr are both terminals and not --quiet, so that pipes, files, CI logs
and `-o json` on a terminal's stdout redirect get exactly what they got before."""
from __future__ import annotations

import contextlib
import sys
import threading
from typing import Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.text import Text

from reconciler.base import progress as p

_MARK = {"succeeded": ("✓", "green"), "failed": ("✗", "red"), "skipped": ("–", "yellow"),
         "uploaded": ("✓", "green")}


def wanted(*, quiet: bool) -> bool:
    return not quiet and sys.stdout.isatty() and sys.stderr.isatty()


@contextlib.contextmanager
def live(*, quiet: bool) -> Iterator[p.Progress | None]:
    """A progress callback drawing on stderr while the block runs, or None when no view is wanted."""
    if not wanted(quiet=quiet):
        yield None
        return
    view = LiveView(Console(file=sys.stderr, highlight=False))
    with view.bar:
        yield view


class LiveView:
    """Called from the run's thread and its collectors' threads: one lock orders the lines."""

    def __init__(self, console: Console) -> None:
        self.bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), console=console, transient=True)
        self.task: TaskID | None = None
        self.running: set[str] = set()
        self.lock = threading.Lock()

    def __call__(self, event: p.ProgressEvent) -> None:
        with self.lock:
            line = self._line(event)
            if line is not None:
                self.bar.console.print(line, soft_wrap=True)   # a long path stays whole, one line

    def _line(self, e: p.ProgressEvent) -> Text | None:
        if e.stage == p.COLLECTION_STARTED:
            self.task = self.bar.add_task("collecting", total=e.total or 0)
            return None
        if e.stage == p.COLLECTOR_STARTED:
            self.running.add(e.name)
            return Text.assemble(("  ▸ ", "cyan"), f"{e.name} ({e.kind}) started")
        if e.stage == p.COLLECTOR_FINISHED:
            if e.name in self.running and self.task is not None:
                self.running.discard(e.name)
                self.bar.advance(self.task)
            took = f" in {e.duration_ms:,} ms, {_size(e.bytes or 0)}" if e.status != "skipped" else ""
            why = f": {e.detail}" if e.detail else ""
            return _marked(e.status, f"{e.name} ({e.kind}) {e.status}{took}{why}")
        if e.stage == p.REDACTION_STARTED:
            self._describe("redacting")
            return Text("  redacting…")
        if e.stage == p.REDACTION_FINISHED:
            return _marked("succeeded", f"redaction: {e.total} value(s) masked in {e.bytes} file(s)")
        if e.stage == p.BUNDLE_WRITTEN:
            return _marked("succeeded", f"bundle: {e.detail} ({_size(e.bytes or 0)})")
        if e.stage == p.UPLOAD_STARTED:
            self._describe("uploading")
            return Text(f"  uploading to {e.detail}…")
        if e.stage == p.UPLOAD_FINISHED:
            text = f"uploaded {_size(e.bytes or 0)}" if e.status == "uploaded" else f"upload failed: {e.detail}"
            return _marked(e.status or "failed", text)
        return None

    def _describe(self, what: str) -> None:
        if self.task is not None:
            self.bar.update(self.task, description=what)


def _marked(status: str | None, text: str) -> Text:
    mark, style = _MARK.get(status or "", ("✗", "red"))
    return Text.assemble((f"  {mark} ", style), text)   # Text: no markup parsed, control characters dropped


def _size(count: int) -> str:
    return f"{count:,} bytes"
