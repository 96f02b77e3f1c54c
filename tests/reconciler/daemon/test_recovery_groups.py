"""Issue 16: after kill -9 of the daemon or of `sbsched run`, the collectors' process groups lived on
(PPID 1). Their running record lists them (`collectorProcesses`); recovery kills those still alive on this
host, drops the list from the record, and never signals a group recorded on another host."""
from __future__ import annotations

import os
import socket
import subprocess

from reconciler.store import executions
from reconciler.collect.groups import Group, boot_id

from ...conftest import wait_until
from ..collect.test_groups import _alive, _stat
from .test_loop import FakeClock, T0, daemon, make


def _running(run_id: str, pid: int, host: str, group: subprocess.Popen) -> dict:
    stat = _stat(group.pid)
    assert stat is not None
    return {"id": run_id, "schedule": "h", "set": "d", "trigger": "schedule",
            "scheduledTime": "2026-06-01T11:00:00+00:00", "startTime": "2026-06-01T11:00:00.250000+00:00",
            "status": "running", "reason": None, "attempt": 1, "runner": {"pid": pid, "host": host},
            "collectorProcesses": {"bootId": boot_id(), "cookie": "",
                                   "groups": [Group(group.pid, int(stat[19])).to_json()]}}


def test_recovery_kills_the_groups_a_dead_run_recorded_on_this_host_only(tmp_path):
    clock = FakeClock(T0)
    store, _ = make(tmp_path, '- {name: h, cron: "0 * * * *", collect: {hostCollectors: [{ok: {}}]}}\n', clock)
    procs = [subprocess.Popen(["sleep", "294.5"], start_new_session=True) for _ in range(2)]
    try:
        ours = _running("h-20260601T1100Z", 2**22 + 7, socket.gethostname(), procs[0])
        elsewhere = _running("h-20260601T1000Z", 2**22 + 7, "another-host", procs[1])
        for record in (ours, elsewhere):
            executions.write(store.root, record)
        daemon(store, clock).close()
        wait_until(lambda: not _alive(procs[0].pid), what="the recorded group to be killed")
        assert _alive(procs[1].pid)
        for record in (ours, elsewhere):
            settled = [r for r in executions.history(store.root) if r["id"] == record["id"]][0]
            assert (settled["status"], settled["reason"]) == ("failed", "interrupted")
            assert "collectorProcesses" not in settled
    finally:
        for proc in procs:
            if _alive(proc.pid):
                os.killpg(proc.pid, 9)
            proc.wait()
