"""Pure: tokenized redaction, troubleshoot's format (pkg/redact/tokenizer.go), our rules.

A masked secret becomes `***TOKEN_<TYPE>_<HEX>***`. HEX is the first six hex digits, upper case, of an
HMAC-SHA256 of the value under the run's salt: the same value gives the same token everywhere in a
bundle, and, under a schedule's kept salt, in every bundle of that schedule, so "did the password
change?" is answered without revealing it. Without the salt a token cannot be tested against a
guess. TYPE says where the value was found (the key naming it) or, failing that, its shape (an AWS
key id, a JWT, an e-mail address, an IP address); never a word from inside the value.

Differences from troubleshoot, on purpose: the HMAC covers the value only (troubleshoot adds the key,
so a password under two names got the token of whichever came first, and another one the next week);
values are not normalized (troubleshoot lower-cases short words and strips `Bearer `, so `Admin` and
`admin` shared a token: the map must give back exactly what was in the file); a value's first type
wins for the whole bundle; and a second value with the same type and HEX is numbered inside the
stars (`***TOKEN_PASSWORD_1A2B3C_1***`, the form troubleshoot's ValidateToken accepts).
"""
from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Iterable

from .masker import MASK, TOKEN, is_mask

HEX_DIGITS = 6
TOKEN_PREFIX = b"***TOKEN_"

# The name (lower case) that found the value, in this order: the first that matches types it.
_BY_NAME: tuple[tuple[str, re.Pattern[bytes]], ...] = tuple((kind, re.compile(p)) for kind, p in (
    ("APIKEY", rb"api[-_. ]?key|access[-_. ]?key"),
    ("PASSWORD", rb"passw|passphrase|pwd|pass(?![a-z])"),
    ("DATABASE", rb"database|(?<![a-z])db[-_. ]?(?:url|uri|host|conn|dsn)|dsn|connection[-_ ]?string"),
    ("TOKEN", rb"token|bearer|jwt|oauth"),
    ("AUTH", rb"auth"),
    ("CREDENTIAL", rb"cred"),
    ("SECRET", rb"secret|private[-_. ]?key"),
    ("KEY", rb"key|cert"),
))
# The value's shape, when its name says nothing.
_BY_SHAPE: tuple[tuple[str, re.Pattern[bytes]], ...] = tuple((kind, re.compile(p)) for kind, p in (
    ("APIKEY", rb"(?:AKIA|ASIA)[A-Z0-9]{16}"),
    ("TOKEN", rb"eyJ[\w-]+\.eyJ[\w-]+\.[\w-]*|(?:gh[pousr]_|github_pat_|glpat-|xox[abposr]-)[\w-]+"),
    ("EMAIL", rb"[\w.%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"),
    ("IP", rb"(?:[0-9]{1,3}\.){3}[0-9]{1,3}"),
))
GENERIC = "GENERIC"


def classify(context: bytes, value: bytes) -> str:
    """The token type of `value`, found where `context` names it."""
    lowered = context.lower()
    for kind, pattern in _BY_NAME:
        if pattern.search(lowered):
            return kind
    for kind, pattern in _BY_SHAPE:
        if pattern.fullmatch(value.strip()):
            return kind
    return GENERIC


def digest(salt: bytes, value: bytes) -> str:
    """HEX: the HMAC-SHA256 of the value under the salt, first six hex digits, upper case."""
    return hmac.new(salt, value, hashlib.sha256).hexdigest()[:HEX_DIGITS].upper()


@dataclass(frozen=True)
class Entry:
    """One token: its type and the value it stands for."""

    token: str
    type: str
    value: bytes


class Tokenizer:
    """A run's Masker when its schedule tokenizes: one token per value, kept for the redaction map.

    `hidden`: values that stay `***HIDDEN***` and never enter the map, nor does any value holding
    one (the run's own upload and webhook credentials: the map is no second copy of them)."""

    def __init__(self, salt: bytes, *, hidden: Iterable[bytes] = ()) -> None:
        self.salt = salt
        self.hidden = tuple(value for value in hidden if value)
        self.tokens: dict[str, Entry] = {}
        self._by_value: dict[bytes, bytes] = {}

    def mask(self, value: bytes, context: bytes) -> bytes:
        if not value or is_mask(value):
            return value or MASK   # masked already, by an earlier rule on the same line
        if TOKEN_PREFIX in value:   # a rule's match took in what an earlier one tokenized: map the original
            value = TOKEN.sub(self._original, value)
        if any(secret in value for secret in self.hidden):
            return MASK
        token = self._by_value.get(value)
        if token is None:
            token = self._issue(value, classify(context, value))
        return token

    def _original(self, match: re.Match[bytes]) -> bytes:
        entry = self.tokens.get(match[0].decode())
        return entry.value if entry is not None else match[0]

    def _issue(self, value: bytes, kind: str) -> bytes:
        base = f"***TOKEN_{kind}_{digest(self.salt, value)}"
        token, n = base + "***", 0
        while token in self.tokens:   # another value with the same type and digest
            n += 1
            token = f"{base}_{n}***"
        self.tokens[token] = Entry(token, kind, value)
        self._by_value[value] = token.encode()
        return self._by_value[value]
