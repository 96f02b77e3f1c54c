"""`daemon status`'s view without the command line: a document from the pid file, the state and /proc."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from reconciler.daemon.status_view import daemon_status
from reconciler.store.pidfile import PidFile
from reconciler.store.state import StateStore
from tests.fakes.clock import FakeClock

START = datetime(2026, 3, 1, 12, tzinfo=timezone.utc)


def test_no_daemon_is_no_view(tmp_path: Path) -> None:
    found = daemon_status(StateStore(tmp_path), FakeClock(START), before=None, taken=0.0)
    assert found.view is None and found.process is None


def test_a_running_daemon_is_described_with_its_process_and_health(tmp_path: Path) -> None:
    tmp_path.chmod(0o700)
    pidfile = PidFile(tmp_path)   # this test process plays the daemon: /proc has its memory and CPU
    pidfile.acquire(START)
    try:
        clock = FakeClock(START + timedelta(hours=1, seconds=5))
        first = daemon_status(StateStore(tmp_path), clock, before=None, taken=1.0)
        second = daemon_status(StateStore(tmp_path), clock, before=first.process, taken=2.0)
    finally:
        pidfile.release()
    assert first.view is not None and first.process is not None and second.view is not None
    assert first.view["running"] is True and first.view["uptimeSeconds"] == 3605
    assert first.view["rssBytes"] == first.process.rss_bytes > 1_000_000
    assert first.view["schedules"] == 0 and first.view["nextDue"] is None and first.view["metrics"] is None
    assert set(first.view["health"]) == {"readyz"}    # no endpoint: the checks are made here
    assert 0 <= second.view["cpuPercent"]
