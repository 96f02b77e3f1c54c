"""Equal sections of many specs held once (issue 23: 100,000 normalized schedules in flat memory).

A normalized schedule is ~10 small dicts (policy, retention, collect, ... every default filled in), ~3 KiB,
yet across a manifest those sections take few distinct values (100,000 generated schedules: 1 to 170 per
section). Holding each distinct value once takes the normalized manifest from ~315 MiB to a top-level dict
per schedule. Specs are values once normalized: nothing edits a section in place (an edit builds a new
one), which is what makes sharing them safe.
"""
from __future__ import annotations

from typing import Any, Iterable

Pool = dict[tuple[str, str], Any]


def share_sections(spec: dict[str, Any], pool: Pool, keys: Iterable[str] | None = None) -> dict[str, Any]:
    """`spec`, its dict and list values (those under `keys`, else all) replaced in place by an equal one
    met before in `pool`. Keyed by repr, which tells apart what == does not (True from 1, 1.0 from 1)."""
    for key in list(spec) if keys is None else keys:
        value = spec.get(key)
        if isinstance(value, (dict, list)):
            spec[key] = pool.setdefault((key, repr(value)), value)
    return spec
