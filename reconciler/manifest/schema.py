r"""JSON Schema validation of a manifest, producing every problem at once as (path, message) pairs.

Two validators, one schema: fastjsonschema answers "valid?" for 10,000 schedules in ~0.1 s; only when
the answer is no does jsonschema (10-20x slower) walk the document to list every error with a message
written for people, including a "did you mean" for misspelt keys.

Patterns are ECMA 262 regular expressions, as JSON Schema says and as editors run them: `$` ends the text.
Python's `$` also matches before a final newline, so jsonschema's `re.search` took "abc\n" for a DNS label
(and made `bundles/abc\n/`); both validators here read an unescaped `$` as `\Z`, as fastjsonschema does.
"""
from __future__ import annotations

import re
from functools import cache
from typing import Any, Callable, Iterator

from ..base.names import did_you_mean
from ..base.yamlio import JsonPath
from ..schemas import load as load_schema

_TYPE_NAMES = {"object": "a mapping", "array": "a list", "string": "a string", "integer": "an integer",
               "number": "a number", "boolean": "true or false", "null": "null"}


@cache
def _fast_validator() -> Callable[[Any], Any]:
    import fastjsonschema

    # use_default=False: by default fastjsonschema writes schema defaults into the data it checks, which
    # would put `timezone: UTC` into every schedule before `defaults:` is merged under it.
    # detailed_exceptions=False: its errors are never shown (the full validator's are), and with the
    # definitions in every raise its code was 460 KB, ~80 ms to build in each validate/diff/apply (now ~13).
    return fastjsonschema.compile(gate_schema(load_schema("schedules")), use_default=False,
                                  detailed_exceptions=False)


_NAME_MAPS = frozenset({"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"})
_DATA = frozenset({"const", "enum", "default", "examples"})


def gate_schema(node: Any, *, names: bool = False) -> Any:
    """The schema with every `const: X` written as the equal `enum: [X]`: fastjsonschema 2.22.3 fails to
    build a lean validator with a `const` in it (KeyError 'definition_rule'). The keys of a map of names
    (`properties`, `$defs`) are names, and values such as `default` are data: both are kept as they are."""
    if isinstance(node, list):
        return [gate_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    if names:
        return {key: gate_schema(value) for key, value in node.items()}
    out = {key: value if key in _DATA else gate_schema(value, names=key in _NAME_MAPS)
           for key, value in node.items() if key != "const"}
    if "const" in node:   # with an `enum` beside it, both hold: the values of the enum equal to the const
        out["enum"] = [value for value in out.get("enum", [node["const"]]) if value == node["const"]]
    return out


@cache
def _full_validator() -> Any:
    import jsonschema
    from referencing import Registry

    def no_remote(uri: str) -> Any:
        raise LookupError(f"remote schema references are not followed: {uri}")

    schema = load_schema("schedules")
    validator = jsonschema.validators.extend(jsonschema.Draft202012Validator, {"pattern": _ecma_pattern})
    return validator(schema, registry=Registry(retrieve=no_remote))  # type: ignore[call-arg]


_DOLLAR = re.compile(r"(?<!\\)\$")   # fastjsonschema's own rule (draft04.DOLLAR_FINDER), so both agree


@cache
def ecma_regex(pattern: str) -> re.Pattern[str]:
    """A JSON Schema pattern compiled so that `$` matches only at the end of the text, as in ECMA 262."""
    return re.compile(_DOLLAR.sub(r"\\Z", pattern))


def _ecma_pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[Any]:
    from jsonschema.exceptions import ValidationError

    if validator.is_type(instance, "string") and not ecma_regex(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def validate(data: Any) -> list[tuple[JsonPath, str, bool]]:
    """Schema problems as (path, message, at_key) sorted by path; at_key places the caret on the key."""
    import fastjsonschema

    try:
        _fast_validator()(data)
        return []
    except fastjsonschema.JsonSchemaException:
        pass
    found: list[tuple[JsonPath, str, bool]] = []
    for error in _full_validator().iter_errors(data):
        found.extend(_explain(error))
    return sorted(set(found), key=lambda item: (_sort_key(item[0]), item[1]))


def _sort_key(path: JsonPath) -> tuple[tuple[int, str | int], ...]:
    return tuple((0, p) if isinstance(p, int) else (1, p) for p in path)


def _explain(error: Any) -> Iterator[tuple[JsonPath, str, bool]]:
    path: JsonPath = tuple(error.absolute_path)
    schema, keyword, instance = error.schema, error.validator, error.instance
    if keyword in ("oneOf", "anyOf") and (branch := _branch_of_its_type(error.context)):
        for inner in branch:   # a string header value with a newline: say that, not "must be a string or ..."
            yield from _explain(inner)
    elif "x-message" in schema and keyword in ("type", "oneOf", "minProperties", "maxProperties",
                                                "additionalProperties"):
        yield path, schema["x-message"], False
    elif keyword == "additionalProperties":
        known = sorted(schema.get("properties", {}))
        for key in sorted(set(instance) - set(known)):
            yield (*path, key), f"unknown key {key!r}{did_you_mean(key, known)}", True
    elif keyword == "required":
        missing = error.validator_value
        for key in missing:
            if key not in instance:
                yield path, f"missing required key {key!r}", False
    elif keyword == "type":
        yield path, f"expected {_expected_types(error.validator_value)}, got {_describe(instance)}", False
    elif keyword == "enum":
        options = error.validator_value
        close = did_you_mean(str(instance), [str(o) for o in options])
        yield path, f"expected one of {', '.join(map(str, options))}; got {_describe(instance)}{close}", False
    elif keyword == "const":
        yield path, f"expected {error.validator_value!r}, got {_describe(instance)}", False
    elif keyword == "pattern":
        shown = "the value" if schema.get("x-sensitive") else _describe(instance)  # e.g. a secret key pasted by mistake
        yield path, f"{shown} {schema.get('x-patternMessage', 'does not match ' + error.validator_value)}", False
    elif keyword in ("maxLength", "minLength"):
        limit = error.validator_value
        what = f"at most {limit}" if keyword == "maxLength" else f"at least {limit}"
        yield path, f"must be {what} characters long, got {len(instance)}", False
    elif keyword in ("minimum", "maximum"):
        sign = ">=" if keyword == "minimum" else "<="
        yield path, f"must be {sign} {error.validator_value}, got {instance}", False
    elif keyword == "uniqueItems":
        yield path, "items must be unique", False
    elif keyword in ("oneOf", "anyOf") and error.context:
        import jsonschema

        yield from _explain(jsonschema.exceptions.best_match(error.context))
    else:
        yield path, error.message, False


def _branch_of_its_type(errors: list[Any] | None) -> list[Any]:
    """The errors of the one oneOf/anyOf branch whose type the value has (it failed on something else), or []."""
    branches: dict[Any, list[Any]] = {}
    for inner in errors or []:
        branches.setdefault(inner.relative_schema_path[0], []).append(inner)
    typed = [found for found in branches.values()
             if not any(e.validator == "type" and not e.relative_path for e in found)]
    return typed[0] if len(typed) == 1 else []


def _expected_types(value: str | list[str]) -> str:
    names = [_TYPE_NAMES.get(v, v) for v in ([value] if isinstance(value, str) else value)]
    return " or ".join(names)


def _describe(instance: Any) -> str:
    if isinstance(instance, bool):
        return "true" if instance else "false"
    if instance is None:
        return "null"
    if isinstance(instance, dict):
        return "a mapping"
    if isinstance(instance, list):
        return "a list"
    if isinstance(instance, str):
        return repr(instance) if len(instance) <= 40 else f"{instance[:37] + '...'!r} ({len(instance):,} characters)"
    return f"{type(instance).__name__} {instance!r}"
