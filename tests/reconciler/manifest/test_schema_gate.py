"""The schema's yes/no gate (fastjsonschema) says what the full validator says, built lean: with the
definitions in every error it raised, its code was 460 KB and took ~80 ms to build, paid by every
`validate`, `diff` and `apply` (a third of a small manifest's `diff`); built without them, ~13 ms."""
from __future__ import annotations

import copy

import pytest

from reconciler.manifest import schema
from reconciler.schemas import load as load_schema

GOOD = {"apiVersion": "sbsched/v1", "kind": "ScheduleSet", "metadata": {"name": "s"},
        "schedules": [{"name": "a", "cron": "0 * * * *"}]}


def _with(path: tuple, value: object) -> dict:
    data = copy.deepcopy(GOOD)
    at = data
    for key in path[:-1]:
        at = at[key]
    at[path[-1]] = value
    return data


@pytest.mark.parametrize("data", [
    _with(("apiVersion",), "sbsched/v2"),          # const
    _with(("kind",), "CronJob"),                    # const
    _with(("schedules", 0, "name"), "Not A Label"),  # pattern
    _with(("schedules", 0, "policy"), {"concurrency": "Sometimes"}),   # enum
    _with(("schedules", 0, "surprise"), 1),          # additionalProperties
])
def test_the_gate_refuses_what_the_full_validator_refuses(data):
    assert schema.validate(data), "the full validator found nothing: not a refusal case"
    with pytest.raises(Exception):
        schema._fast_validator()(data)


def test_the_gate_passes_a_valid_manifest_and_is_built_without_error_definitions():
    """The lean build's errors carry no definition (nor value): only the full validator's messages are shown."""
    gate = schema._fast_validator()
    assert gate(copy.deepcopy(GOOD)) is not None and schema.validate(copy.deepcopy(GOOD)) == []
    with pytest.raises(Exception) as refused:
        gate(_with(("kind",), "CronJob"))
    assert getattr(refused.value, "definition", "missing") is None


def test_const_becomes_the_equal_one_value_enum_outside_maps_of_names_and_data():
    node = {"properties": {"const": {"const": 1}, "enum": {"type": "string"}},
            "$defs": {"const": {"const": {"const": 2}}}, "default": {"const": 3}, "const": "x"}
    assert schema.gate_schema(node) == {
        "properties": {"const": {"enum": [1]}, "enum": {"type": "string"}},
        "$defs": {"const": {"enum": [{"const": 2}]}}, "default": {"const": 3}, "enum": ["x"]}
    assert schema.gate_schema({"const": "a", "enum": ["a", "b"]}) == {"enum": ["a"]}
    assert schema.gate_schema({"const": "c", "enum": ["a", "b"]}) == {"enum": []}
    assert schema.gate_schema(load_schema("schedules")) != load_schema("schedules")
