"""Typed reads of a collector's params and the bundle paths named after it.

Specs are user YAML: a value of the wrong type fails that one collector with a message naming the
key (troubleshoot's strict decoding would reject the spec), rather than a TypeError deep inside.
"""
from __future__ import annotations

import posixpath
from typing import Any, Callable, Mapping, TypeVar, cast

from . import CollectorSpec

T = TypeVar("T")


def text(params: Mapping[str, Any], key: str, default: str = "") -> str:
    return _typed(params, key, default, "a string", lambda value: isinstance(value, str))


def integer(params: Mapping[str, Any], key: str, default: int = 0) -> int:
    return _typed(params, key, default, "an integer",
                  lambda value: isinstance(value, int) and not isinstance(value, bool))


def flag(params: Mapping[str, Any], key: str) -> bool:
    return _typed(params, key, False, "true or false", lambda value: isinstance(value, bool))


def texts(params: Mapping[str, Any], key: str) -> list[str] | None:
    """A list of strings; None when the key is absent (troubleshoot tells absent from empty)."""
    found: list[str] | None = _typed(
        params, key, None, "a list of strings",
        lambda value: isinstance(value, list) and all(isinstance(item, str) for item in value))
    return found


def text_map(params: Mapping[str, Any], key: str) -> dict[str, str]:
    found: Mapping[str, str] = _typed(params, key, {}, "a mapping of strings",
                                      lambda value: isinstance(value, Mapping)
                                      and all(isinstance(v, str) for v in value.values()))
    return {str(k): v for k, v in found.items()}


def section(params: Mapping[str, Any], key: str) -> Mapping[str, Any] | None:
    """A nested mapping such as http's `get:`; None when absent."""
    found: Mapping[str, Any] | None = _typed(params, key, None, "a mapping",
                                             lambda value: isinstance(value, Mapping))
    return found


def collector_name(spec: CollectorSpec, default: str) -> str:
    """collectorName, else the default troubleshoot uses for this kind (not always the kind itself)."""
    return text(spec.params, "collectorName") or default


def bundle_path(*parts: str) -> str:
    """Parts joined and cleaned as Go's filepath.Join does (a name may hold '/'). A name that climbs
    out with '..' stays refused by Output, where troubleshoot would write outside its bundle."""
    return posixpath.normpath(posixpath.join(*parts))


def _typed(params: Mapping[str, Any], key: str, default: T, wanted: str, fits: Callable[[Any], bool]) -> T:
    value = params.get(key)
    if value is None:
        return default
    if not fits(value):
        raise ValueError(f"{key} must be {wanted}, not {type(value).__name__}")
    return cast(T, value)
