"""A slot missed for `startingDeadlineSeconds` is recorded once as `skipped` (reason `deadline`), as a
Forbid skip is, so that history shows it and no later pass (a re-plan, a restart, `reconcile --once`)
warns about it again."""
from __future__ import annotations

import logging
from datetime import datetime, timezone

from .test_loop import FakeClock, T0, daemon, make, records, settle


def test_a_slot_past_its_starting_deadline_is_recorded_skipped_once_and_warned_about_once(tmp_path, caplog):
    clock = FakeClock(T0)
    store, _ = make(tmp_path, """
        - name: late
          cron: "0 * * * *"
          policy: {startingDeadlineSeconds: 60}
          collect: {hostCollectors: [{ok: {}}]}
    """, clock)
    clock.set(datetime(2026, 6, 1, 13, 5, tzinfo=timezone.utc))   # the daemon was down at 13:00
    caplog.set_level(logging.INFO, logger="sbsched")

    first = daemon(store, clock)
    first.tick()
    first.request_reload()   # a re-plan decides every schedule again
    first.tick()
    settle(first)
    first.close()
    again = daemon(store, clock)   # so does a restarted daemon, or reconcile --once
    again.tick()
    again.close()

    (skipped,) = records(store)
    assert (skipped["id"], skipped["status"], skipped["reason"], skipped["trigger"]) == \
        ("late-20260601T1300Z", "skipped", "deadline", "catch-up")
    assert "missed its starting deadline (60s)" in skipped["error"]["message"]
    assert skipped["endTime"] == clock.now().isoformat()
    status = store.read()["schedules"]["late"]["status"]
    assert (status["lastResult"], status["lastScheduleTime"]) == ("skipped", "2026-06-01T13:00:00+00:00")
    assert len([m for m in caplog.messages if "starting deadline" in m]) == 1
