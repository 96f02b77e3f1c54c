"""Keeping a JSON line JSON while it is redacted.

A JSON string never spans lines, so a line of a JSON document (or of JSON lines, or a YAML line whose
value is written in JSON style: `key: "text"`, `- [1, "a"]`) can be cut into its tokens on its own. The
line rules know nothing of JSON: they found `"authorization": {` and masked the `{`, or put a quoted
mask (`"***HIDDEN***"`, YAML's safe form) inside a JSON string. `fit` takes their edits and makes each
one respect the tokens: an edit inside one string value stays, its text escaped if need be; an edit
that replaces a whole value stays if its text is a JSON string; anything else masks the whole string
values it touches (with the run's mask for the value, named by its key, written as a JSON string) and
leaves keys and punctuation alone (keys are never masked). A line that does not cut into JSON tokens
is not JSON and its edits are left as they are.
"""
from __future__ import annotations

import json
import re
from typing import Callable, NamedTuple, Sequence

Edit = tuple[int, int, bytes]

# `key:` or `- ` before a JSON-style YAML value (a plain key: no quotes, no flow characters)
_YAML_PREFIX = re.compile(rb"[ \t]*(?:-[ \t]+)*(?:[^\s\"'#{}\[\],:&*!|>%@`-][^\"'#{}\[\],:]*?[ \t]*:(?=[ \t]|$))?")
_TOKEN = re.compile(rb'[ \t\r]*(?:(?P<str>"(?:[^"\\\n]|\\.)*")|(?P<punct>[{}\[\],:])'
                    rb"|(?P<scalar>-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|true|false|null))")
_SPACE = re.compile(rb"[ \t\r]*")
_ESCAPE = re.compile(rb"\\(?:u[0-9a-fA-F]{4}|.)")
_STRING_BODY = re.compile(rb'(?:[^"\\\x00-\x1f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*')


class Token(NamedTuple):
    start: int
    end: int
    kind: str       # "str", "scalar", "punct"
    key: bool       # a string before `:`: a key


def tokens(line: bytes) -> list[Token] | None:
    """The line's JSON tokens (after a YAML `key:` / `- ` prefix), or None when it is not JSON."""
    position = _YAML_PREFIX.match(line).end()  # type: ignore[union-attr]  # it matches the empty string
    found: list[Token] = []
    while position < len(line):
        match = _TOKEN.match(line, position)
        if match is None:
            if _SPACE.match(line, position).end() == len(line):  # type: ignore[union-attr]
                break
            return None
        kind = match.lastgroup or ""
        if kind == "punct" and line[match.start(kind)] == 58 and found and found[-1].kind == "str":   # `:`
            found[-1] = found[-1]._replace(key=True)
        found.append(Token(match.start(kind), match.end(), kind, False))
        position = match.end()
    return found or None


def fit(line: bytes, edits: Sequence[Edit], mask: Callable[[bytes, bytes], bytes]) -> list[Edit]:
    """The edits made safe for the line's JSON tokens (see the module); a value the edits cannot keep
    valid is replaced whole by `mask(value, key)` (masker.masked), escaped into a JSON string. Unchanged
    for a line that is not JSON."""
    cut = tokens(line) if edits else None
    if cut is None:
        return list(edits)
    values = [token for token in cut if token.kind in ("str", "scalar") and not token.key]
    kept: list[Edit] = []
    masked: set[Token] = set()
    for start, end, text in edits:
        inside = next((v for v in values if v.start <= start and end <= v.end), None)
        if inside is not None and inside.kind == "str" and _within_body(line, inside, start, end):
            kept.append((start, end, text if _STRING_BODY.fullmatch(text) else _escaped(text)))
        elif inside is not None and (start, end) == (inside.start, inside.end):
            kept.append((start, end, text if _is_string(text) else b'"' + _escaped(text) + b'"'))
        else:
            masked.update(v for v in values if v.start < end and start < v.end)
    kept = [edit for edit in kept if not any(v.start <= edit[0] and edit[1] <= v.end for v in masked)]
    whole = [(v.start, v.end, b'"' + _escaped(mask(_text(line, v), _key_of(line, cut, v))) + b'"')
             for v in masked]
    return sorted(kept + whole)


def _text(line: bytes, token: Token) -> bytes:
    """A value as the masker sees it: a string's text unescaped (`a\\"b` is the secret `a"b`)."""
    raw = line[token.start:token.end]
    if token.kind != "str":
        return raw
    try:
        text: str = json.loads(raw.decode("utf-8", "surrogateescape"))
        return text.encode("utf-8", "surrogateescape")
    except ValueError:   # an escape JSON does not know (`\\q`): the text between the quotes
        return raw[1:-1]


def _key_of(line: bytes, cut: Sequence[Token], value: Token) -> bytes:
    """The text of the last key before `value` on the line (b"" when none): what names it."""
    key = next((token for token in reversed(cut) if token.key and token.end <= value.start), None)
    return b"" if key is None else line[key.start + 1:key.end - 1]


def _within_body(line: bytes, token: Token, start: int, end: int) -> bool:
    """Whether [start, end) lies inside the string's quotes and cuts no escape sequence in two."""
    if start < token.start + 1 or end > token.end - 1:
        return False
    for escape in _ESCAPE.finditer(line, token.start + 1, token.end - 1):
        if escape.start() < start < escape.end() or escape.start() < end < escape.end():
            return False
    return True


def _is_string(text: bytes) -> bool:
    return len(text) >= 2 and text[:1] == b'"' == text[-1:] and _STRING_BODY.fullmatch(text, 1, len(text) - 1) is not None


def _escaped(text: bytes) -> bytes:
    """`text` as the inside of a JSON string (undecodable bytes are kept as they are)."""
    return json.dumps(text.decode("utf-8", "surrogateescape"), ensure_ascii=False)[1:-1].encode(
        "utf-8", "surrogateescape")
