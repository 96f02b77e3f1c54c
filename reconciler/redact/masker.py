"""What a masked secret becomes: the one question every rule asks, answered by the run's Masker.

The default answers `***HIDDEN***`, as troubleshoot does; a schedule with `redact.tokenize` answers
with a token instead (tokens.py). The masker is the run's, set around `redact_tree` in a context
variable rather than passed down: every rule's `feed(line, previous)` would otherwise carry it, and
the rules are module constants shared by concurrent runs (a context variable is per thread, and a
thread starts with the default).
"""
from __future__ import annotations

import contextlib
import re
from contextvars import ContextVar
from typing import Iterator, Protocol

MASK = b"***HIDDEN***"


class Masker(Protocol):
    """Replaces one matched secret. `context` is what names it (a key, the text before it in the
    match); it may type the replacement, never appear in it."""

    def mask(self, value: bytes, context: bytes) -> bytes:
        """The bytes that stand in the file where `value` was."""


class Hidden:
    """troubleshoot's default: every value becomes ***HIDDEN***."""

    def mask(self, value: bytes, context: bytes) -> bytes:
        return MASK


_CURRENT: ContextVar[Masker] = ContextVar("sbsched_masker", default=Hidden())


def masked(value: bytes, context: bytes) -> bytes:
    """The current run's replacement for `value`."""
    return _CURRENT.get().mask(value, context)


def quoted(mask: bytes) -> bytes:
    """A mask written where a bare value stood in YAML (`key: ***X***` would be an alias)."""
    return b'"' + mask + b'"'


@contextlib.contextmanager
def using(masker: Masker | None) -> Iterator[None]:
    """Rules masking inside the block ask `masker` (None: the default)."""
    if masker is None:
        yield
        return
    token = _CURRENT.set(masker)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def context_of(match: re.Match[bytes], group: str) -> bytes:
    """What names the value in `group`: the match's `name` group where it has one (`DB_PASSWORD=`),
    else the group's own name and the text of the match before it (`credentials` after
    `Authorization: Bearer `, `dq` after `"bootstrapToken": "`)."""
    if "name" in match.re.groupindex and match["name"] is not None:
        return match["name"]
    start = match.start(group)
    return group.encode() + b" " + match.string[match.start():max(start, match.start())]
