"""textAnalyze (cluster and host), yamlCompare and jsonCompare: analyzers over any collected file
(troubleshoot's text_analyze.go, host_text_analyze.go, yaml_compare.go, json_compare.go).

textAnalyze `regex`: every outcome whose `when` (default: pass true, fail/warn false) equals "the regex
matched" sets the result and the last such message wins, as in troubleshoot; a fail stays a fail.
textAnalyze `regexGroups`: the first outcome whose `when` holds over the named groups wins, and its
message is a template over the groups. One result per matching file. Regexes are Go's RE2 syntax, read
by Python's `re` (the common subset; `\\z` and POSIX classes are translated).
"""
from __future__ import annotations

import json
import os
import re
from typing import Any, Mapping

import yaml

from . import when
from .bundle_files import Bundle, NotCollected, load_yaml
from .common import (FAIL, NONE, PASS, WARN, Analyzer, AnalyzerError, Icon, Result, flag, outcomes, result, strings,
                     text)
from .gotemplate import TemplateError, render
from .jsonpath import PathError, get_at_path, json_path

_ICON_URI = "https://troubleshoot.sh/images/analyzer-icons/text-analyze.svg"
ICON = Icon("kubernetes_text_analyze", _ICON_URI)
GROUPS_ICON = Icon("kubernetes_text_analyze", _ICON_URI + "?w=13&h=16")
_POSIX = {"alpha": "a-zA-Z", "digit": "0-9", "alnum": "a-zA-Z0-9", "upper": "A-Z", "lower": "a-z",
          "space": r"\s", "punct": r"!-/:-@\[-`{-~", "xdigit": "0-9A-Fa-f", "word": r"\w", "blank": r" \t"}


def go_regex(pattern: str) -> re.Pattern[str]:
    """Compile an RE2 pattern with Python's re."""
    translated = pattern.replace(r"\z", r"\Z").replace("(?<", "(?P<").replace("(?P<=", "(?<=").replace("(?P<!", "(?<!")
    translated = re.sub(r"\[:(\w+):\]", lambda m: _POSIX.get(m.group(1), m.group(0)), translated)
    try:
        return re.compile(translated)
    except re.error as exc:
        raise AnalyzerError(f"failed to compile regex: {pattern}: {exc}") from None


def _exec_output(name: str) -> bool:
    return name.endswith(("-stdout.txt", "-stderr.txt", "-errors.json"))


def _wild(path: str) -> bool:
    return any(c in path for c in "*?[")


def _text_path(collector: str, name: str) -> str:
    """exec collectors write <collector>/<namespace>/<pod>/<file>; troubleshoot finds a bare file name there."""
    full = os.path.join(collector, name)
    if _exec_output(name) and not _wild(name) and not _wild(full):
        return os.path.join(collector, "*", "*", name)
    return full


_RANK = {NONE: 0, PASS: 1, WARN: 2, FAIL: 3}


def regex_result(pattern: re.Pattern[str], content: str, items: Any, title: str) -> Result:
    matched = pattern.search(content) is not None
    outcome, message, uri = NONE, "", ""
    for o in items:
        default = "true" if o.outcome == PASS else "false"
        try:
            wanted = when.parse_bool(o.when or default)
        except when.WhenError as exc:
            raise AnalyzerError(f"failed to process when statement: {o.when}: {exc}") from None
        if wanted == matched:       # every matching outcome applies: the gravest one and the last message
            outcome = max(outcome, o.outcome, key=_RANK.__getitem__)
            message, uri = o.message, o.uri
    return result(title, outcome, message, uri, ICON)


def groups_result(pattern: re.Pattern[str], content: str, items: Any, title: str) -> Result:
    match = pattern.search(content)
    found = {k: v for k, v in (match.groupdict() if match else {}).items() if v is not None}
    for o in items:
        try:
            hit = when.regex_groups(o.when, found)
        except when.WhenError as exc:
            raise AnalyzerError(f"failed to compare regex {o.outcome} conditional: {exc}") from None
        if hit:
            try:
                message = render(o.message, found)
            except TemplateError as exc:
                raise AnalyzerError(f"failed to template message in outcome.{o.outcome.capitalize()} block: "
                                    f"{exc}") from None
            return result(title, o.outcome, message, o.uri, GROUPS_ICON)
    return result(title, NONE, "", "", GROUPS_ICON)


def text_analyze(p: Mapping[str, Any], bundle: Bundle, title: str) -> list[Result]:
    collector, file_name = text(p, "collectorName"), text(p, "fileName")
    path = _text_path(collector, file_name)
    exclude = [_text_path(collector, e) for e in strings(p, "excludeFiles")]
    files = bundle.paths(path, exclude)
    if not files:
        if flag(p, "ignoreIfNoFiles"):
            return []
        return [result(title, WARN, "No matching files", "", ICON)]
    items = outcomes(p)
    builders = [(go_regex(text(p, kind)), builder) for kind, builder in (("regex", regex_result),
                                                                          ("regexGroups", groups_result))
                if text(p, kind)]
    by_builder: list[list[Result]] = [[] for _ in builders]
    for relative in files:                 # one file in memory at a time
        content = bundle.read(relative).decode("utf-8", errors="replace")
        for i, (pattern, builder) in enumerate(builders):
            by_builder[i].append(builder(pattern, content, items, title))
    results = [r for group in by_builder for r in group]
    return results or [result(title, FAIL, "Invalid analyzer", "", ICON)]


def _text_title(p: Mapping[str, Any]) -> str:
    return text(p, "checkName") or text(p, "collectorName")


def _host_text_title(p: Mapping[str, Any]) -> str:
    return text(p, "checkName") or "Regular Expression"


# --- yamlCompare / jsonCompare -----------------------------------------------------------------

def strict_equal(a: Any, b: Any, *, numbers_alike: bool) -> bool:
    """Go's reflect.DeepEqual on decoded documents: a bool is never a number; with YAML (numbers_alike
    False) an int is not a float either, as yaml.v2 decodes them to different Go types."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b and (numbers_alike or type(a) is type(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(strict_equal(a[k], b[k], numbers_alike=numbers_alike) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(strict_equal(x, y, numbers_alike=numbers_alike) for x, y in zip(a, b))
    return type(a) is type(b) and bool(a == b)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str) + type(value).__name__


def equal_slices_sorted(actual: Any, expected: Any) -> bool:
    """jsonCompare: a top-level list compares in any order."""
    if isinstance(actual, list) and isinstance(expected, list):
        if len(actual) != len(expected):
            return False
        return all(strict_equal(x, y, numbers_alike=True)
                   for x, y in zip(sorted(actual, key=_canonical), sorted(expected, key=_canonical)))
    return strict_equal(actual, expected, numbers_alike=True)


def _compare(p: Mapping[str, Any], title: str, original: Any, equal: bool) -> list[Result]:
    for o in outcomes(p):
        try:
            wanted = when.parse_bool(o.when) if o.when else o.outcome == PASS
        except when.WhenError as exc:
            raise AnalyzerError(f"failed to process when statement: {o.when}: {exc}") from None
        try:
            message = render(o.message, original)
        except TemplateError as exc:
            raise AnalyzerError(f"failed to render template on outcome message: {exc}") from None
        if wanted == equal:
            return [result(title, o.outcome, message, o.uri, ICON)]
    return [result(title, FAIL, "Invalid analyzer", "", ICON)]


def _read(bundle: Bundle, p: Mapping[str, Any]) -> bytes:
    path = os.path.join(text(p, "collectorName"), text(p, "fileName"))
    try:
        return bundle.read(path)
    except NotCollected as exc:
        raise AnalyzerError(f"failed to read collected file name: {path}: {exc}") from None


def _yaml_title(p: Mapping[str, Any]) -> str:
    return text(p, "checkName") or text(p, "collectorName")


def _yaml_compare(p: Mapping[str, Any], bundle: Bundle) -> list[Result]:
    try:
        original = load_yaml(_read(bundle, p))
    except yaml.YAMLError as exc:
        raise AnalyzerError(f"failed to parse collected data as yaml doc: {exc}") from None
    actual = original
    if text(p, "path"):
        try:
            actual = get_at_path(original, text(p, "path"))
        except PathError as exc:
            raise AnalyzerError(f"failed to get object at path: {text(p, 'path')}: {exc}") from None
    try:
        expected = load_yaml(text(p, "value"))
    except yaml.YAMLError as exc:
        raise AnalyzerError(f"failed to parse expected value as yaml doc: {exc}") from None
    return _compare(p, _yaml_title(p), original, strict_equal(actual, expected, numbers_alike=False))


def _json_title(p: Mapping[str, Any]) -> str:
    return text(p, "checkName") or text(p, "collectorName") or "Json Compare"


def _json_compare(p: Mapping[str, Any], bundle: Bundle) -> list[Result]:
    try:
        original = json.loads(_read(bundle, p))
    except ValueError as exc:
        raise AnalyzerError(f"failed to parse collected data as json: {exc}") from None
    actual = original
    try:
        if text(p, "path"):
            actual = get_at_path(original, text(p, "path"))
        elif text(p, "jsonPath"):
            selected = json_path(original, text(p, "jsonPath"))
            actual = selected[0] if len(selected) == 1 else selected
    except PathError as exc:
        raise AnalyzerError(f"failed to get object at path: {text(p, 'path') or text(p, 'jsonPath')}: {exc}") from None
    try:
        expected = json.loads(text(p, "value"))
    except ValueError as exc:
        raise AnalyzerError(f"failed to parse expected value as json: {exc}") from None
    return _compare(p, _json_title(p), original, equal_slices_sorted(actual, expected))


ANALYZERS = {
    "textAnalyze": Analyzer(_text_title, lambda p, b: text_analyze(p, b, _text_title(p))),
    "yamlCompare": Analyzer(_yaml_title, _yaml_compare),
    "jsonCompare": Analyzer(_json_title, _json_compare),
}
HOST_ANALYZERS = {
    "textAnalyze": Analyzer(_host_text_title, lambda p, b: text_analyze(p, b, _host_text_title(p))),
    "jsonCompare": Analyzer(_json_title, _json_compare),
}
