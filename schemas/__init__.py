"""JSON Schemas shipped as package data, so an installed sbsched validates without the source tree."""
from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any


@cache
def load(name: str) -> dict[str, Any]:
    """Return the parsed schema `name` (e.g. "schedules"); cached because it never changes at run time."""
    text = resources.files(__name__).joinpath(f"{name}.schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema
