"""What every analyzer shares: reading its parameters, the outcome loop, and its error type."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from .bundle_files import Bundle
from .results import FAIL, NONE, PASS, WARN, Outcome, OutcomeList, Result, outcomes
from .when import WhenError

__all__ = ["AnalyzerError", "Analyzer", "Icon", "FAIL", "NONE", "PASS", "WARN", "Outcome", "OutcomeList",
           "Result", "outcomes", "text", "strings", "flag", "first_match", "WhenError"]


class AnalyzerError(Exception):
    """One analyzer cannot run (a file it needs is missing or unreadable, a `when` it cannot evaluate).
    The message reads like troubleshoot's wrapped Go errors: `failed to ...: cause`."""


@dataclass(frozen=True)
class Icon:
    key: str = ""
    uri: str = ""


@dataclass(frozen=True)
class Analyzer:
    """A kind of analyzer: its title (checkName or troubleshoot's default) and its run over a bundle."""

    title: Callable[[Mapping[str, Any]], str]
    run: Callable[[Mapping[str, Any], Bundle], list[Result]]


def text(params: Mapping[str, Any], key: str) -> str:
    value = params.get(key)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def strings(params: Mapping[str, Any], key: str) -> list[str]:
    value = params.get(key)
    if isinstance(value, list):
        return [str(v) for v in value if v is not None]
    return [str(value)] if isinstance(value, str) and value else []


def flag(params: Mapping[str, Any], key: str) -> bool:
    """A BoolOrString field (`strict`, `ignoreIfNoFiles`): true, "true", "1"... Anything else is false."""
    value = params.get(key)
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "t", "true") if value is not None else False


def result(title: str, outcome: str, message: str = "", uri: str = "", icon: Icon = Icon(), **extra: Any) -> Result:
    return Result(title=title, outcome=outcome, message=message, uri=uri, icon_key=icon.key, icon_uri=icon.uri,
                  **extra)


def first_match(items: OutcomeList, matches: Callable[[Outcome], bool], title: str, icon: Icon = Icon(),
                *, wrap: str = "") -> Result:
    """Outcomes in order, the first whose `when` holds (an empty `when` always holds) decides; none → NONE.
    A `when` that cannot be evaluated is an AnalyzerError (prefixed with `wrap`)."""
    for item in items:
        try:
            hit = item.when == "" or matches(item)
        except WhenError as exc:
            raise AnalyzerError(f"{wrap}{exc}" if wrap else str(exc)) from None
        if hit:
            return result(title, item.outcome, item.message, item.uri, icon)
    return result(title, NONE, "", "", icon)
