"""The analysis data: analyzer specs in, results out, and troubleshoot's on-disk analysis.json shape.

A Result is one of troubleshoot's AnalyzeResult values: an outcome (pass, warn or fail, or `none` when
troubleshoot's own analyzer returns a result with no outcome set, e.g. no outcome matched), a title, a
message. `skipped` marks an analyzer sbsched does not run, so it is listed and never silently dropped.
`analysis_json` is pkg/convert's FromAnalyzerResult: severity debug/warn/error, `error` only on fail. Pure.
"""
from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping, Sequence

PASS, WARN, FAIL, NONE, SKIPPED = "pass", "warn", "fail", "none", "skipped"
SEVERITY = {PASS: "debug", WARN: "warn", FAIL: "error", NONE: "", SKIPPED: "info"}
_NAME = re.compile(r"[^a-zA-Z0-9]+")


@dataclass(frozen=True)
class AnalyzerSpec:
    """One entry of a spec's `analyzers` (host=False) or `hostAnalyzers` list: `{kind: params}`."""

    kind: str
    params: Mapping[str, Any]
    host: bool = False
    source: str = "inline"    # the spec file, or "inline" for a schedule's own list
    index: int = 0            # position in that list


@dataclass(frozen=True)
class Result:
    title: str
    outcome: str              # pass | warn | fail | none | skipped
    message: str = ""
    uri: str = ""
    icon_key: str = ""
    icon_uri: str = ""
    strict: bool = False
    kind: str = ""
    host: bool = False
    error: bool = False       # the analyzer could not run; `message` says why (the outcome is fail)
    involved_object: Mapping[str, str] | None = None

    def with_(self, **changes: Any) -> Result:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class Outcome:
    """One `outcomes` entry: troubleshoot reads fail, then warn, then pass, whichever is set first."""

    outcome: str              # fail | warn | pass
    when: str
    message: str
    uri: str
    index: int = 0


@dataclass
class OutcomeList:
    items: list[Outcome] = field(default_factory=list)
    empty: list[int] = field(default_factory=list)   # entries with none of fail/warn/pass

    def __iter__(self) -> Iterator[Outcome]:
        return iter(self.items)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def outcomes(params: Mapping[str, Any]) -> OutcomeList:
    parsed = OutcomeList()
    raw = params.get("outcomes")
    for i, entry in enumerate(raw if isinstance(raw, list) else []):
        chosen = next((k for k in (FAIL, WARN, PASS) if isinstance(entry, dict) and entry.get(k) is not None), None)
        if chosen is None:
            parsed.empty.append(i)
            continue
        body = entry[chosen] if isinstance(entry[chosen], dict) else {}
        parsed.items.append(Outcome(chosen, _text(body.get("when")), _text(body.get("message")),
                                    _text(body.get("uri")), i))
    return parsed


def name_of(title: str) -> str:
    """troubleshoot's result name: the title lowercased, each run of non-alphanumerics a dot."""
    return _NAME.sub(".", title.lower())


def analysis_json(results: Sequence[Result]) -> list[dict[str, Any]]:
    """The list troubleshoot writes as analysis.json (pkg/convert FromAnalyzerResult), key order included."""
    converted: list[dict[str, Any]] = []
    for r in results:
        name = name_of(r.title)
        severity = SEVERITY[r.outcome]
        insight: dict[str, Any] = {}
        if name:
            insight["name"] = name
        insight["labels"] = {"iconKey": r.icon_key, "iconUri": r.icon_uri}
        insight["primary"] = r.title
        insight["detail"] = r.message
        if severity:
            insight["severity"] = severity
        entry: dict[str, Any] = {}
        if name:
            entry["name"] = name
        entry["labels"] = {"desiredPosition": "1", "iconKey": r.icon_key, "iconUri": r.icon_uri}
        entry["insight"] = insight
        entry["severity"] = severity
        entry["analyzerSpec"] = ""
        if r.outcome == FAIL and r.message:
            entry["error"] = r.message
        if r.involved_object:
            entry["involvedObject"] = dict(r.involved_object)
        converted.append(entry)
    return converted


def dumps_analysis(results: Sequence[Result]) -> str:
    """analysis.json's bytes as troubleshoot writes them: 4-space indent, `<`, `>` and `&` escaped as Go does."""
    text = json.dumps(analysis_json(results), indent=4, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def counts(results: Sequence[Result]) -> dict[str, int]:
    """{"pass", "warn", "fail"} for the execution record; skipped and outcome-less results are not counted."""
    tally = {PASS: 0, WARN: 0, FAIL: 0}
    for r in results:
        if r.outcome in tally:
            tally[r.outcome] += 1
    return tally


def skipped_count(results: Sequence[Result]) -> int:
    """Analyzers listed but not run (kinds sbsched does not implement)."""
    return sum(1 for r in results if r.outcome == SKIPPED)
