"""A JSON or YAML file stays a document with the same structure after redaction.

The line rules are fast and keep every byte they do not mask, but they read text, not documents:
jsonline.py keeps a JSON line JSON, yet a YAML flow mapping or a block scalar can still be cut in the
wrong place, and a YAML scalar folded over two lines hides a secret from rules that see one line. So
each redacted file that parsed before is parsed again and compared (`kept`): the same keys in the same
order, lists of the same length, and only scalars changed, each to a string; and no secret's name may
still hold an unmasked value (`leaks`). A file that fails is redacted again from its original, value
by value (`redact_document`): every string through the same rules, a string that holds JSON as a
document of its own, a value under a secret's name masked whole, and the document written anew (JSON
as JSON, YAML as YAML; comments are lost).
"""
from __future__ import annotations

import json
from typing import Any, Callable, Iterator

import yaml

from ..base.yamlio import SafeLoader
from .masker import MASK, holds_mask, is_mask

LIMIT = 32 << 20   # larger documents are not parsed whole (memory): jsonline.py alone keeps them JSON

Kind = str   # "json" or "yaml"
Mask = Callable[[str, str], str]   # (a value, its key) -> what stands in its place: the run's masker


def kind_of(relative: str, head: bytes) -> Kind | None:
    """Which document a file is, if any: by its name, or JSON by its first character."""
    lowered = relative.lower()
    if lowered.endswith((".yaml", ".yml")):
        return "yaml"
    if lowered.endswith(".json") or head.lstrip()[:1] in (b"{", b"["):
        return "json"
    return None


def parse(kind: Kind, data: bytes) -> list[Any] | None:
    """The file's documents, or None when it is not one (a JSON-lines log, a YAML error, too deep)."""
    try:
        if kind == "json":
            return [json.loads(data)]
        return list(yaml.load_all(data.decode("utf-8"), Loader=SafeLoader))
    except (ValueError, yaml.YAMLError, RecursionError):   # JSONDecodeError and UnicodeDecodeError are ValueErrors
        return None


def kept(before: list[Any], after: list[Any]) -> bool:
    """Whether the documents `after` are shaped like `before`: same keys in the same order, lists of the
    same length, every scalar equal or now a string (a masked value); a string that held a JSON document
    holds one of the same shape, or is a mask (any the masker writes: masker.is_mask)."""
    if len(after) != len(before):
        return False
    stack = list(zip(before, after))
    while stack:
        old, new = stack.pop()
        if isinstance(old, str) and old != new and old.lstrip()[:1] in ("{", "[") and not is_mask(new):
            inner = parse("json", old.encode("utf-8", "surrogatepass"))
            if inner is not None:
                if not isinstance(new, str) or (now := parse("json", new.encode("utf-8", "surrogatepass"))) is None:
                    return False
                stack.append((inner, now))
                continue
        if isinstance(old, dict):
            if not isinstance(new, dict) or list(old) != list(new):
                return False
            stack += [(old[key], new[key]) for key in old]
        elif isinstance(old, list):
            if not isinstance(new, list) or len(old) != len(new):
                return False
            stack += zip(old, new)
        elif not isinstance(new, str) and (type(old) is not type(new) or repr(old) != repr(new)):
            return False
    return True


def redact_document(documents: list[Any], redact_text: Callable[[str], str],
                    secret_key: Callable[[str], bool] | None, mask: Mask) -> int:
    """Redact the parsed documents in place, value by value; how many values a secret's name masked
    (a value that already holds a mask is not masked again: `leaks` counts on it).

    `redact_text` runs the line rules over one string; `secret_key` (None: the built-ins are off) says
    whether a key names a secret, whose string or number value, or list of them, is masked whole, with
    what `mask` gives for it."""
    masked = 0
    for parent, key, value in _values(documents):
        under_secret = secret_key is not None and isinstance(key, str) and secret_key(key)
        if under_secret and _maskable(value):
            parent[key] = mask(str(value), key)
            masked += 1
        elif under_secret and isinstance(value, list):
            for index, item in enumerate(value):
                if _maskable(item):
                    value[index] = mask(str(item), key)
                    masked += 1
        elif isinstance(value, str):
            parent[key], inside = _redact_string(value, redact_text, secret_key, mask)
            masked += inside
    return masked


def leaks(documents: list[Any], secret_key: Callable[[str], bool]) -> bool:
    """Whether a secret's name still holds a value the lines did not mask (a YAML scalar folded over
    lines, a key and its value on two lines). Changes `documents` (with ***HIDDEN***: it only counts,
    and the run's masker would keep what it was asked)."""
    return redact_document(documents, lambda text: text, secret_key, lambda value, key: _HIDDEN) > 0


_HIDDEN = MASK.decode()


def _maskable(value: Any) -> bool:
    return (isinstance(value, (str, int, float)) and not isinstance(value, bool)
            and value not in ("", "null", "~", "true", "false")
            and not (isinstance(value, str) and holds_mask(value)))


def _values(documents: list[Any]) -> Iterator[tuple[Any, Any, Any]]:
    """(container, key or index, value) for every value, parents before children, without recursion
    (a document may be nested a thousand deep). A value replaced when yielded is not descended into."""
    stack: list[tuple[Any, Any]] = [(documents, index) for index in reversed(range(len(documents)))]
    while stack:
        parent, key = stack.pop()
        yield parent, key, parent[key]
        value = parent[key]
        if isinstance(value, dict):
            stack += [(value, k) for k in reversed(list(value))]
        elif isinstance(value, list):
            stack += [(value, i) for i in reversed(range(len(value)))]


def _redact_string(text: str, redact_text: Callable[[str], str], secret_key: Callable[[str], bool] | None,
                   mask: Mask) -> tuple[str, int]:
    """A string that holds a JSON document is redacted as one (and written back compact if anything in
    it changed); any other string goes through the line rules."""
    raw = text.encode("utf-8", "surrogatepass")
    if text.lstrip()[:1] in ("{", "[") and (inner := parse("json", raw)) is not None:
        masked = redact_document(inner, redact_text, secret_key, mask)
        if inner == parse("json", raw):
            return text, masked
        return json.dumps(inner[0], ensure_ascii=False, separators=(",", ":")), masked
    return redact_text(text), 0


def dump(kind: Kind, documents: list[Any], original: bytes) -> bytes:
    """The documents written anew: JSON indented as the original was (two spaces, or on one line), YAML
    block style; the original's final newline kept."""
    if kind == "json":
        indented = b"\n" in original.strip()
        text = json.dumps(documents[0], ensure_ascii=False, indent=2 if indented else None)
    else:
        text = yaml.safe_dump_all(documents, allow_unicode=True, sort_keys=False, width=1 << 30)
        text = text.removesuffix("\n")
    return (text + ("\n" if original.endswith(b"\n") else "")).encode("utf-8", "surrogatepass")
