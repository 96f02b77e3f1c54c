"""Kubernetes resource quantities (`500m`, `2Gi`, `1e3`), exact, as k8s.io/apimachinery's resource.Quantity
parses them: a signed decimal number and one suffix, binary (Ki Mi Gi Ti Pi Ei), decimal (n u m k M G T P E)
or a decimal exponent (e3, E-2). Values are Fractions, so `0.5` and `500m` compare equal. Pure."""
from __future__ import annotations

import re
from fractions import Fraction

_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_FORM = re.compile(r"([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))([eEinumkKMGTP]*[-+]?[0-9]*)")
_EXPONENT = re.compile(r"[eE]([-+]?[0-9]+)")


class QuantityError(ValueError):
    """Not a quantity; the message says so as Kubernetes does."""


def parse_quantity(text: str) -> Fraction:
    """`2Gi` → 2147483648; raises QuantityError for anything Kubernetes would reject."""
    match = _FORM.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise QuantityError(f"quantities must match the regular expression "
                            f"'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$': {text!r}")
    number, suffix = Fraction(match.group(1)), str(match.group(2))
    if suffix in _BINARY:
        return number * Fraction(1024 ** _BINARY[suffix])
    exponent = _EXPONENT.fullmatch(suffix)
    power = _DECIMAL[suffix] if suffix in _DECIMAL else int(exponent.group(1)) if exponent else None
    if power is not None:
        scale = Fraction(10 ** abs(power))
        return number * scale if power >= 0 else number / scale
    raise QuantityError(f"unable to parse quantity's suffix: {text!r}")


def as_int64(text: str) -> int:
    """The quantity as a whole number, as Quantity.AsInt64 gives it (host memory and disk analyzers);
    a fractional value is an error there, as in troubleshoot ("could not parse quantity")."""
    value = parse_quantity(text)
    if value.denominator != 1 or not -(2 ** 63) <= value < 2 ** 63:
        raise QuantityError(f"could not parse quantity {text!r}")
    return int(value)
