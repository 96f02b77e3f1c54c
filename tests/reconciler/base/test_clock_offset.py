"""The stress harness's clock hook (reconciler/base/clock.py): off unless SBSCHED_CLOCK_OFFSET_SECONDS is set."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from reconciler.base.clock import OFFSET_ENV, SystemClock
from reconciler.base.errors import UsageError


def test_unset_means_real_time(monkeypatch):
    monkeypatch.delenv(OFFSET_ENV, raising=False)
    before = datetime.now(timezone.utc)
    now = SystemClock().now()
    assert before <= now <= datetime.now(timezone.utc)


def test_the_offset_shifts_now_but_not_monotonic(monkeypatch):
    monkeypatch.setenv(OFFSET_ENV, "-7200.5")
    clock = SystemClock()
    shifted = datetime.now(timezone.utc) - clock.now()
    assert timedelta(hours=2) < shifted < timedelta(hours=2, seconds=5)
    assert abs(clock.monotonic() - SystemClock.monotonic(clock)) < 1


def test_a_bad_offset_is_a_usage_error(monkeypatch):
    monkeypatch.setenv(OFFSET_ENV, "soon")
    with pytest.raises(UsageError, match=OFFSET_ENV):
        SystemClock()
