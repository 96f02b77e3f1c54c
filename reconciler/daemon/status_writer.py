"""Status changes of finished runs, gathered and written to state.json in batches."""
from __future__ import annotations

import logging
import queue
import threading

from ..base.clock import Clock
from ..base.errors import SbschedError
from ..run.executor import StateChange, write_now
from ..store.state import StateStore

log = logging.getLogger("sbsched.daemon")
BATCH_WINDOW = 0.2       # seconds over which status changes are gathered into one write
RETRY_AFTER = 5.0        # seconds before a batch whose write failed is written again
_RETRY: StateChange = lambda state: state  # noqa: E731  (the queue timed out: write what was carried)


class StatusBatcher:
    """Collects state changes from finished runs and writes them in batches: 1,000 runs ending in the
    same second make a handful of state writes, not 1,000."""

    def __init__(self, store: StateStore, clock: Clock, *, lock_timeout: float) -> None:
        self.store, self.clock, self.lock_timeout = store, clock, lock_timeout
        self.changes: queue.SimpleQueue[StateChange | None] = queue.SimpleQueue()
        self.writes = 0
        self._own: dict[int, int] = {}   # serial read -> serial written, for each of our writes
        self._own_lock = threading.Lock()
        self.thread = threading.Thread(target=self._loop, name="sbsched-status", daemon=True)
        self.thread.start()

    def submit(self, change: StateChange) -> None:
        self.changes.put(change)

    def follow(self, serial: int) -> int:
        """`serial` carried forward over this writer's own writes that started from it. The daemon
        re-plans when the result differs from the state's serial: some other process wrote (apply,
        suspend, a manual run). Serials, unlike file stamps, cannot hide an apply under a status write
        landing after it: that write then started from the apply's serial, not from the planned one."""
        with self._own_lock:
            while serial in self._own:
                serial = self._own.pop(serial)
            for stale in [read for read in self._own if read < serial]:
                del self._own[stale]
            return serial

    def close(self) -> None:
        self.changes.put(None)
        self.thread.join()

    def _loop(self) -> None:
        closing = False
        pause = threading.Event()  # never set: waiting on it is a plain, interruptible pause
        carried: list[StateChange] = []  # a batch whose write failed (a full disk, a busy lock): tried again
        while not closing:
            try:
                first = self.changes.get(timeout=RETRY_AFTER if carried else None)
            except queue.Empty:
                first = _RETRY
            closing = first is None
            batch = list(carried) + ([] if first is None or first is _RETRY else [first])
            if not closing and first is not _RETRY:
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
                    read, written = write_now(self.store, *batch, now=self.clock.now(),
                                              lock_timeout=self.lock_timeout, command="sbsched daemon")
                    with self._own_lock:
                        self._own[read] = written
                    self.writes += 1
                    carried = []
                except (SbschedError, OSError) as exc:  # an OSError used to end this thread: every later
                    carried = batch                      # status change was lost until a restart
                    message = exc.message if isinstance(exc, SbschedError) else f"{type(exc).__name__}: {exc}"
                    log.error("could not write %d status change(s)%s: %s", len(batch),
                              "" if closing else f"; trying again in {RETRY_AFTER:g}s", message)
