"""The one backoff policy (a run's retries, an upload's, a webhook's), its numbers pinned with a seeded
random source: base doubling per failure, up to half the base of jitter, a cap, Retry-After. No waits."""
from __future__ import annotations

from random import Random

import pytest

from reconciler.base.backoff import RetryPolicy


def seeded(**fields: float) -> RetryPolicy:
    return RetryPolicy(**fields, random=Random(19).random)   # draws .677, .785, .520, .511, .394, .997


def test_each_wait_doubles_the_base_and_adds_up_to_half_the_base_at_random():
    policy = seeded(backoff_seconds=10, max_delay=300)

    waits = [policy.delay(failures) for failures in range(1, 7)]

    assert waits == pytest.approx([13.385629, 23.924557, 42.602331, 82.557459, 161.967673, 300.0])


def test_the_jitter_spans_nothing_to_half_the_base():
    assert RetryPolicy(backoff_seconds=30, random=lambda: 0.0).delay(1) == 30
    assert RetryPolicy(backoff_seconds=30, random=lambda: 0.0).delay(3) == 120
    assert RetryPolicy(backoff_seconds=30, random=lambda: 0.999999).delay(3) == pytest.approx(135, abs=1e-4)


def test_the_cap_holds_whatever_the_attempt_even_past_what_a_float_can_hold():
    policy = seeded(backoff_seconds=86_400, max_delay=86_400)

    assert policy.delay(101) == 86_400          # policy.retries at its maximum, backoffSeconds too
    assert policy.delay(5_000) == 86_400        # 2.0 ** 4999 overflows a float


def test_retry_after_is_honoured_when_longer_up_to_the_cap():
    policy = RetryPolicy(backoff_seconds=1, max_delay=60, random=lambda: 0.5)

    assert policy.delay(1, retry_after=42) == 42
    assert policy.delay(1, retry_after=10_000) == 60
    assert policy.delay(3, retry_after=2) == 4.25    # shorter than the backoff: the backoff stands
    assert policy.delay(1, retry_after=0) == policy.delay(1, retry_after=None) == 1.25


def test_a_zero_base_retries_at_once():
    assert seeded(backoff_seconds=0).delay(3) == 0


def test_the_same_seed_gives_the_same_waits_and_the_source_is_not_part_of_equality():
    first, second = seeded(backoff_seconds=30), seeded(backoff_seconds=30)

    assert [first.delay(n) for n in (1, 2, 3)] == [second.delay(n) for n in (1, 2, 3)]
    assert first == RetryPolicy(backoff_seconds=30)
