"""Found by `make stress` (stress/disk_full.py): the daemon's status batcher caught only SbschedError, so
the first OSError of a state write (a full disk) ended its thread, and every later status change (runs
started and finished) was silently lost until the daemon restarted. A failed batch is now kept and
written again, with whatever came after it, once the disk has room."""
from __future__ import annotations

import errno
import threading

from reconciler.base.clock import SystemClock
from reconciler.daemon import status_writer
from reconciler.store.state import StateStore



def _bump(state):
    return {**state, "bumps": state.get("bumps", 0) + 1}


def test_a_full_disk_does_not_end_the_batcher_and_nothing_is_lost(tmp_path, monkeypatch):
    monkeypatch.setattr(status_writer, "RETRY_AFTER", 0.05)
    store = StateStore(tmp_path / "state")
    failures = {"left": 2}
    real_write = StateStore.write

    def full_disk_twice(self, state):
        if failures["left"]:
            failures["left"] -= 1
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(self, state)

    monkeypatch.setattr(StateStore, "write", full_disk_twice)
    batcher = status_writer.StatusBatcher(store, SystemClock(), lock_timeout=5)
    batcher.submit(_bump)
    tick = threading.Event()
    for _ in range(200):   # up to 4 s: two failed writes 0.05 s apart, then the one that lands
        if batcher.writes:
            break
        tick.wait(0.02)
    assert batcher.thread.is_alive()
    batcher.submit(_bump)
    batcher.close()
    assert failures["left"] == 0
    assert store.read()["bumps"] == 2
