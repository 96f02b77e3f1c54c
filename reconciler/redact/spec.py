"""troubleshoot `kind: Redactor` specs (troubleshoot.sh/v1beta2), plain or wrapped in a ConfigMap/Secret,
turned into line rules with troubleshoot's semantics (pkg/redact/redact.go `buildAdditionalRedactors`).

Their regexes are Go RE2 syntax and are translated where Python's `re` differs: a group name may repeat
(`(?P<mask>..)` twice), `(?<name>..)` is a named group, `\\z` ends the text, `\\Q..\\E` quotes, and a `-`
after a class escape (`[\\w\\S-_]`) is literal. A match is replaced by the concatenation of its groups:
unnamed and other named groups as matched, `mask` groups by the mask, `drop` groups by nothing. Text of
the match outside any group is dropped: troubleshoot's own tests pin that behaviour.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable

import yaml

from ..base.errors import PermanentError
from ..base.yamlio import SafeLoader
from ..troubleshoot.specfiles import read_spec_text, wrapped_documents
from .builtin import Edit, Rewrite, Rule, Session, Substitution, SubstitutionRule, masking
from .masker import masked

API_VERSIONS = ("troubleshoot.sh/v1beta2", "troubleshoot.replicated.com/v1beta1")


class RedactorSpecError(PermanentError):
    """A Redactor spec that cannot be used; the message is one line naming the file and the problem."""


@dataclass(frozen=True)
class Redactor:
    """One entry of a Redactor spec's `spec.redactors`, compiled."""

    name: str
    rules: tuple[Rule, ...]                      # values, then regexes, in spec order
    yaml_paths: tuple[tuple[str, ...], ...]
    files: re.Pattern[str] | None = None         # fileSelector; None selects every file

    def selects(self, path: str) -> bool:
        """Whether the fileSelector takes this bundle-relative path."""
        return self.files is None or self.files.fullmatch(path) is not None


def load_redactor_specs(paths: list[str]) -> list[Redactor]:
    """Every redactor of every Redactor spec in these files, in order; RedactorSpecError on the first
    file that is missing, not YAML, holds no Redactor, or has a redactor that cannot compile."""
    redactors: list[Redactor] = []
    seen: set[str] = set()
    for path in paths:
        for index, item in enumerate(_spec_redactors(path)):
            key = repr(item)
            if key not in seen:   # a ConfigMap may carry one spec under two keys: run it once
                seen.add(key)
                redactors.append(_compile(item, index, path))
    return redactors


def _spec_redactors(path: str) -> list[Any]:
    try:
        text = read_spec_text(path)
    except FileNotFoundError:
        raise RedactorSpecError(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RedactorSpecError(f"{path}: cannot read: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        documents = [doc for raw in yaml.load_all(text, Loader=SafeLoader)
                     for doc in wrapped_documents(raw)]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or exc
        raise RedactorSpecError(f"{path}: not valid YAML{where}: {problem}") from None
    specs = [doc for doc in documents if doc.get("kind") == "Redactor"]
    if not specs:
        kinds = sorted({str(doc.get("kind")) for doc in documents})
        found = f"; found kind {', '.join(kinds)}" if kinds else ""
        raise RedactorSpecError(f"{path}: no Redactor spec (expected apiVersion troubleshoot.sh/v1beta2, "
                                f"kind Redactor, plain or in a ConfigMap/Secret){found}")
    items: list[Any] = []
    for spec in specs:
        if spec.get("apiVersion") not in API_VERSIONS:
            raise RedactorSpecError(f"{path}: unsupported apiVersion {spec.get('apiVersion')!r} "
                                    "for kind Redactor")
        items += _list(_mapping(spec.get("spec"), f"{path}: spec").get("redactors"), f"{path}: spec.redactors")
    return items


def _compile(item: Any, index: int, path: str) -> Redactor:
    if not isinstance(item, dict):
        raise RedactorSpecError(f"{path}: redactor {index} must be a mapping")
    name = str(item.get("name") or f"unnamed-{index}")
    where = f"{path}: redactor {name!r}"
    removals = _mapping(item.get("removals"), f"{where}: removals")
    rules: list[Rule] = []
    for value in _list(removals.get("values"), f"{where}: removals.values"):
        rules.append(_literal(name, _literal_value(value, where)))
    for number, regex in enumerate(_list(removals.get("regex"), f"{where}: removals.regex")):
        rules.append(_regex_rule(name, _mapping(regex, f"{where}: removals.regex[{number}]"),
                                 f"{where}: removals.regex[{number}]"))
    yaml_paths = tuple(tuple(str(yaml_path).split("."))
                       for yaml_path in _list(removals.get("yamlPath"), f"{where}: removals.yamlPath"))
    selector = _mapping(item.get("fileSelector"), f"{where}: fileSelector")
    globs = ([selector["file"]] if selector.get("file") else []) + _list(selector.get("files"),
                                                                         f"{where}: fileSelector.files")
    files = re.compile("|".join(_glob(str(g), where) for g in globs)) if globs else None
    return Redactor(name, tuple(rules), yaml_paths, files)


def literal_redactor(name: str, values: Iterable[str], *, shortest: int = 1) -> Redactor:
    """A redactor masking each of `values` wherever it appears (each line of a multi-line value on its own:
    rules match within a line); lines shorter than `shortest` are left out."""
    lines = sorted({line for value in values for line in value.splitlines() if len(line) >= shortest},
                   key=lambda line: (-len(line), line))   # longest first, so no part of a longer one survives
    return Redactor(name, tuple(_literal(name, line.encode()) for line in lines), ())


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RedactorSpecError(f"{where} must be a mapping")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise RedactorSpecError(f"{where} must be a list")
    return value


# --- removals ---------------------------------------------------------------------------------------

def _literal_value(value: Any, where: str) -> bytes:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise RedactorSpecError(f"{where}: removals.values holds {value!r}; quote it as a string")
    text = str(value)
    if not text or "\n" in text:
        raise RedactorSpecError(f"{where}: removals.values entries must be non-empty and on one line "
                                f"(values are matched within a line)")
    return text.encode()


def _literal(name: str, value: bytes) -> Rule:
    """troubleshoot's literal redactor: every occurrence, case-sensitive; the value is its own needle."""
    return SubstitutionRule(name, (masking(b"(?P<value>" + re.escape(value) + b")", "value"),),
                            needles=(value,))


def _regex_rule(name: str, regex: dict[str, Any], where: str) -> Rule:
    if not isinstance(regex.get("redactor"), str) or not regex["redactor"]:
        raise RedactorSpecError(f"{where}: `redactor` (a regex) is required")
    substitution = Substitution(*_go_regex(regex["redactor"], f"{where}.redactor"))
    selector = regex.get("selector")
    if not selector:
        return SubstitutionRule(name, (substitution,))
    if not isinstance(selector, str):
        raise RedactorSpecError(f"{where}: `selector` must be a regex string")
    return SelectorRule(name, _go_regex(selector, f"{where}.selector")[0], substitution)


@dataclass(frozen=True)
class SelectorRule(Rule):
    """troubleshoot's multi-line redactor: a line matching `selector` has the next line redacted; that
    line is then consumed, not tested as a selector itself (lines are taken in pairs after a match)."""

    name: str
    selector: re.Pattern[bytes]
    value: Substitution

    def open(self) -> Session:
        return _SelectorSession(self)


class _SelectorSession(Session):
    def __init__(self, rule: SelectorRule) -> None:
        self.rule = rule

    def feed(self, line: bytes, previous: bytes) -> tuple[bytes, int]:
        if self.pending:
            self.pending = False
            return self.rule.value.apply(line)
        self.pending = self.rule.selector.search(line) is not None
        return line, 0


# --- Go regex syntax --------------------------------------------------------------------------------

_NAMED_GROUP = re.compile(r"\(\?P?<([A-Za-z0-9_]+)>")
_CLASS_ESCAPES = frozenset("dDsSwW")


def _go_regex(source: str, where: str) -> tuple[re.Pattern[bytes], Rewrite]:
    """The compiled translation, and the rewrite giving troubleshoot's replacement for a match."""
    try:
        pattern = re.compile(_translate(source).encode())
    except (re.error, ValueError) as exc:
        raise RedactorSpecError(f"{where}: invalid regex {source!r}: {exc}") from None
    names = {index: name.partition("_")[2] for name, index in pattern.groupindex.items()}
    first: dict[str, int] = {}
    for index in sorted(names, reverse=True):
        first[names[index]] = index
    # per group, in order: the mask, nothing, or the index whose text it contributes (Go's `${name}`
    # is the leftmost group of that name)
    parts: list[_Mask | int | None] = []
    for index in range(1, pattern.groups + 1):
        name = names.get(index)
        parts.append(_Mask(index) if name == "mask" else None if name == "drop"
                     else first[name] if name else index)

    def rewrite(match: re.Match[bytes]) -> list[Edit]:
        text = b"".join(part.text(match) if isinstance(part, _Mask) else match.group(part) or b""
                        for part in parts if part is not None)
        return [(match.start(), match.end(), text)]
    return pattern, rewrite


@dataclass(frozen=True)
class _Mask:
    """A `mask` group: what the run's masker gives for its text (troubleshoot masks it even when empty),
    named by the text of the match before it (`"password": "`)."""

    group: int

    def text(self, match: re.Match[bytes]) -> bytes:
        before = match.string[match.start():max(match.start(self.group), match.start())]
        return masked(match.group(self.group) or b"", before)


def _translate(source: str) -> str:
    """RE2 syntax to Python's; named groups become `n<k>_<name>`, unique, so names may repeat."""
    out: list[str] = []
    i, groups = 0, 0
    while i < len(source):
        char = source[i]
        if char == "\\":
            escaped = source[i + 1:i + 2]
            if escaped == "Q":
                end = source.find("\\E", i + 2)
                end = len(source) if end < 0 else end
                out.append(re.escape(source[i + 2:end]))
                i = end + 2
                continue
            out.append("\\Z" if escaped == "z" else source[i:i + 2])
            i += 2
        elif char == "[":
            end = _class_end(source, i)
            out.append(_translate_class(source[i:end]))
            i = end
        elif (named := _NAMED_GROUP.match(source, i)) is not None:
            groups += 1
            out.append(f"(?P<n{groups}_{named[1]}>")
            i = named.end()
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _class_end(source: str, start: int) -> int:
    """Index just past the `]` closing the class opened at `start` (a leading `]` or `^]` is literal)."""
    i = start + 1
    if source[i:i + 1] == "^":
        i += 1
    if source[i:i + 1] == "]":
        i += 1
    while i < len(source):
        if source[i] == "\\":
            i += 2
        elif source.startswith("[:", i):
            raise ValueError("POSIX classes like [:alpha:] are not supported; use a range like a-z")
        elif source[i] == "]":
            return i + 1
        else:
            i += 1
    return len(source)   # unterminated: left for re.compile to report


def _translate_class(text: str) -> str:
    """Inside a class: `-` after a class escape is literal in RE2, a bad range in Python; `[&~|` are
    literal in both but Python warns of future set syntax, so they are escaped."""
    out = [text[0]]
    i = 1
    while i < len(text):
        if text[i] == "\\":
            out.append(text[i:i + 2])
            if text[i + 1:i + 2] in _CLASS_ESCAPES and text[i + 2:i + 3] == "-" and text[i + 3:i + 4] != "]":
                out.append("\\-")
                i += 1
            i += 2
        elif text[i] in "[&~|":
            out.append("\\" + text[i])
            i += 1
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


# --- fileSelector globs -----------------------------------------------------------------------------

def _glob(glob: str, where: str) -> str:
    """gobwas/glob with `/` as separator (what troubleshoot uses): `*` any run without `/`, `**` any run,
    `?` one character but `/`, `[abc]`/`[!a-z]` classes, `{a,b}` alternatives, `\\` escapes."""
    out: list[str] = []
    depth = 0
    i = 0
    while i < len(glob):
        char = glob[i]
        if char == "*":
            double = glob.startswith("**", i)
            out.append(".*" if double else "[^/]*")
            i += 2 if double else 1
            continue
        if char == "?":
            out.append("[^/]")
        elif char == "[":
            end = glob.find("]", i + 2)
            if end < 0:
                raise RedactorSpecError(f"{where}: invalid file glob {glob!r}: unclosed [")
            body = glob[i + 1:end]
            negated = body.startswith("!")
            members = body[1:] if negated else body
            out.append("[" + ("^" if negated else "") + re.sub(r"[\\\]\[^&~|]", r"\\\g<0>", members) + "]")
            i = end
        elif char == "{":
            depth += 1
            out.append("(?:")
        elif char == "}" and depth:
            depth -= 1
            out.append(")")
        elif char == "," and depth:
            out.append("|")
        elif char == "\\" and i + 1 < len(glob):
            i += 1
            out.append(re.escape(glob[i]))
        else:
            out.append(re.escape(char))
        i += 1
    if depth:
        raise RedactorSpecError(f"{where}: invalid file glob {glob!r}: unclosed {{")
    return "(?:" + "".join(out) + ")"
