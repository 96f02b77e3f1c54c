"""Pure: any text as a DNS-1123 label (lowercase letters, digits and '-', starting and ending with a
letter or digit), the shape of schedule and set names; and the did-you-mean hint for a mistyped name."""
from __future__ import annotations

import difflib
import re
import unicodedata

_INVALID = re.compile(r"[^a-z0-9-]+")
_DASHES = re.compile(r"-{2,}")


def dns_label(text: str, *, max_length: int = 52) -> str:
    """`text` lowercased, accents dropped, every run of other characters one '-', trimmed to
    `max_length`; "" when nothing usable is left."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    label = _DASHES.sub("-", _INVALID.sub("-", ascii_text.lower().replace("_", "-").replace(".", "-")))
    return label[:max_length].strip("-")


def unique(label: str, taken: set[str], *, max_length: int = 52) -> str:
    """`label`, or `label-2`, `label-3`... (shortened to fit) when it is taken."""
    if label not in taken:
        return label
    n = 2
    while True:
        suffix = f"-{n}"
        candidate = label[:max_length - len(suffix)].rstrip("-") + suffix
        if candidate not in taken:
            return candidate
        n += 1


def did_you_mean(word: str, options: list[str]) -> str:
    """` (did you mean 'x'?)` for the closest of `options`, or "": the hint of every unknown-key error."""
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if not close:
        close = [o for o in options if o.lower() == word.lower()]
    return f" (did you mean {close[0]!r}?)" if close else ""
