"""Status changes of finished runs, gathered and written to state.json in batches."""
from __future__ import annotations

import logging
import queue
import threading

from .clock import Clock
from .errors import SbschedError
from .executor import StateChange, write_now
from .state_store import StateStore

log = logging.getLogger("sbsched.daemon")
BATCH_WINDOW = 0.2       # seconds over which status changes are gathered into one write


class StatusBatcher:
    """Collects state changes from finished runs and writes them in batches: 1,000 runs ending in the
    same second make a handful of state writes, not 1,000."""

    def __init__(self, store: StateStore, clock: Clock, *, lock_timeout: float) -> None:
        self.store, self.clock, self.lock_timeout = store, clock, lock_timeout
        self.changes: queue.SimpleQueue[StateChange | None] = queue.SimpleQueue()
        self.writes = 0
        self.last_written: tuple[int, int] | None = None  # (mtime_ns, inode) of our latest write
        self.thread = threading.Thread(target=self._loop, name="sbsched-status", daemon=True)
        self.thread.start()

    def submit(self, change: StateChange) -> None:
        self.changes.put(change)

    def close(self) -> None:
        self.changes.put(None)
        self.thread.join()

    def _loop(self) -> None:
        closing = False
        pause = threading.Event()  # never set: waiting on it is a plain, interruptible pause
        while not closing:
            first = self.changes.get()
            closing = first is None
            batch = [] if first is None else [first]
            if not closing:
                pause.wait(BATCH_WINDOW)  # let the changes of runs ending together pile up
            while True:
                try:
                    item = self.changes.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    closing = True
                else:
                    batch.append(item)
            if batch:
                try:
                    self.last_written = write_now(self.store, *batch, now=self.clock.now(),
                                                  lock_timeout=self.lock_timeout, command="sbsched daemon")
                    self.writes += 1
                except SbschedError as exc:
                    log.error("could not write %d status change(s): %s", len(batch), exc.message)
