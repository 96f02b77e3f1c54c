"""Time budgets: a collector's own `timeout` param (a Go duration) within the runner's ctx.timeout.

The runner abandons a collector at ctx.timeout and sets ctx.cancelled; a Deadline trips on either,
so children, sockets and loops stop on their own instead of outliving their collector.
"""
from __future__ import annotations

import time
from typing import Any, Mapping

from .. import CollectContext
from ..runner import go_duration


def parse_duration(value: object) -> float:
    """Seconds in a signed Go duration ("1m30s", "-10s", "0"); ValueError in Go's words otherwise."""
    text = value.strip() if isinstance(value, str) else value
    sign = 1.0
    if isinstance(text, str) and text[:1] in ("-", "+"):
        sign, text = (-1.0 if text[0] == "-" else 1.0), text[1:]
    if text == "0":
        return 0.0
    seconds = None if isinstance(text, bool) else go_duration(text)
    if seconds is None:
        raise ValueError(f'time: invalid duration "{value}"')
    return sign * seconds


def duration_param(params: Mapping[str, Any], key: str = "timeout") -> tuple[float | None, str]:
    """(seconds, the value as the spec wrote it) of a duration param; (None, "") when it is unset.
    A bare number is taken as seconds, as the runner takes it."""
    value = params.get(key)
    if value is None or value == "":
        return None, ""
    try:
        return parse_duration(value), str(value) if isinstance(value, str) else f"{value}s"
    except ValueError as exc:
        raise ValueError(f'failed to parse {key} "{value}": {exc}') from None


class Deadline:
    """When a collector's blocking work must end. `seconds` <= 0 or None means no limit of its own."""

    def __init__(self, ctx: CollectContext, seconds: float | None = None) -> None:
        self.seconds = ctx.timeout if seconds is None or seconds <= 0 else min(seconds, ctx.timeout)
        self._ends = time.monotonic() + self.seconds
        self._cancelled = ctx.cancelled

    def remaining(self) -> float:
        return max(0.0, self._ends - time.monotonic())

    def expired(self) -> bool:
        return self._cancelled.is_set() or self.remaining() <= 0

    def wait(self, seconds: float) -> None:
        """Pause between retries, cut short by cancellation or the deadline."""
        self._cancelled.wait(min(seconds, self.remaining()))

    def check(self, what: str) -> None:
        if self._cancelled.is_set():
            raise TimeoutError(f"{what}: cancelled by the runner")
        if self.remaining() <= 0:
            raise TimeoutError(f"{what}: did not finish within {self.seconds:g}s")


def stop_if_cancelled(ctx: CollectContext) -> None:
    """Once the runner has given up on a collector it goes on to redact and archive the bundle, so
    from then on the collector must write nothing more."""
    if ctx.cancelled.is_set():
        raise TimeoutError("cancelled by the runner; nothing more is written")
