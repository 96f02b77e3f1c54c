"""Pure: durations and sizes as people write them in flags and config files (`30m`, `1h30m`, `7d`;
`1GB`, `500MiB`). Decimal units are powers of 1000 and binary ones powers of 1024, as in Kubernetes
quantities and IEC 80000-13, so `1GB` is 1,000,000,000 bytes and `1GiB` is 1,073,741,824."""
from __future__ import annotations

import re

_DURATION = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
DURATION_FORMS = "30s, 30m, 2h, 1h30m, 7d, 2w"

_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?)(b?)", re.IGNORECASE)
_POWERS = {"": 0, "k": 1, "m": 2, "g": 3, "t": 4, "p": 5}
SIZE_FORMS = "1GB, 500MiB, 2G, 1048576"


def parse_duration(text: str) -> float:
    """Seconds in `text`: a duration (`90m`, `1h30m`, `7d`) or a plain number of seconds; ValueError
    otherwise (and for a negative number)."""
    value = text.strip()
    parts = _DURATION.findall(value)
    if parts and "".join(n + u for n, u in parts) == value:
        return sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)
    try:
        seconds = float(value)
    except ValueError:
        raise ValueError(f"{text!r} is not a duration ({DURATION_FORMS}, or seconds)") from None
    if seconds < 0 or seconds != seconds or seconds == float("inf"):
        raise ValueError(f"{text!r} is not a duration ({DURATION_FORMS}, or seconds)")
    return seconds


def parse_size(text: str) -> int:
    """Bytes in `text`: a number with an optional decimal (k, M, G, T, P, with or without B) or binary
    (Ki, Mi, Gi, Ti, Pi, with or without B) unit, any case; ValueError otherwise."""
    match = _SIZE.fullmatch(text.strip())
    if match is None or (match[3] and not match[2]):
        raise ValueError(f"{text!r} is not a size ({SIZE_FORMS})")
    number, prefix, binary = float(match[1]), match[2].lower(), bool(match[3])
    return int(number * (1024 if binary else 1000) ** _POWERS[prefix])
