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
# A token (tokens.py): `***TOKEN_<TYPE>_<HEX>***`, a second value with the same type and HEX numbered inside.
TOKEN = re.compile(rb"\*\*\*TOKEN_(?P<type>[A-Z]+)_(?P<hex>[0-9A-F]{6})(?:_(?P<n>[0-9]{1,6}))?\*\*\*")
# Anything a masker writes: the structure check and every "masked already?" test accept all of them.
_ANY_MASK = re.escape(MASK) + b"|" + TOKEN.pattern
_MASKS = re.compile(_ANY_MASK)
_TEXT_MASKS = re.compile(_ANY_MASK.decode())


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


def is_mask(value: bytes | str) -> bool:
    """Whether `value` is, whole, a mask some masker writes (`***HIDDEN***`, a token)."""
    if isinstance(value, str):
        return _TEXT_MASKS.fullmatch(value) is not None
    return _MASKS.fullmatch(value) is not None


def holds_mask(value: bytes | str) -> bool:
    """Whether `value` holds a mask some masker writes (`Basic ***HIDDEN***`): it was masked already."""
    if isinstance(value, str):
        return _TEXT_MASKS.search(value) is not None
    return _MASKS.search(value) is not None


def unquoted(value: bytes) -> bytes:
    """A scalar as the masker sees it: without the quotes of a quoted one (`'pw'` and `pw` are one secret)."""
    return value[1:-1] if len(value) > 1 and value[:1] == value[-1:] and value[:1] in (b"'", b'"') else value


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
