"""The fake clock is a clock of its own: both its readings move only when the test moves them."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from .fakes.clock import FakeClock

T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)


def test_monotonic_stands_still_until_the_test_moves_the_clock():
    clock = FakeClock(T0)
    first = clock.monotonic()
    assert clock.monotonic() == first


def test_advance_moves_monotonic_by_exactly_the_delta():
    clock = FakeClock(T0)
    first = clock.monotonic()
    clock.advance(minutes=2, seconds=5)
    assert clock.monotonic() - first == 125.0 and clock.now() == T0 + timedelta(seconds=125)


def test_set_moves_monotonic_forward_by_the_time_passed_and_never_back():
    clock = FakeClock(T0)
    first = clock.monotonic()
    clock.set(T0 + timedelta(hours=1))
    assert clock.monotonic() - first == 3600.0
    clock.set(T0)   # a wall clock stepped back (NTP, a test rewinding): durations never run backwards
    assert clock.now() == T0 and clock.monotonic() - first == 3600.0
