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
from typing import Any, Callable, Iterable, TypeVar

from ..base.names import did_you_mean
from ..base.yamlio import JsonPath, format_path, locate
from ..troubleshoot.reader import SpecError, SpecFile, read_spec_file
from .builtin import Edit, Rewrite, Rule, Session, Substitution, SubstitutionRule, masking
from .masker import masked

API_VERSIONS = ("troubleshoot.sh/v1beta2", "troubleshoot.replicated.com/v1beta1")


class RedactorSpecError(SpecError):
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


def load_redactor_specs(paths: list[str], *, read: Callable[[str], SpecFile] = read_spec_file) -> list[Redactor]:
    """Every redactor of every Redactor spec in these files, in order. A file with a problem (missing, not
    YAML, no Redactor in it, a field of the wrong type, a regex or glob that cannot compile) raises
    RedactorSpecError with its first problem, placed, and how many more there are: a spec is refused
    when it is loaded, before collection, never half-way through a run. `read` gives a file parsed (a
    run reads the applied snapshots, each once)."""
    redactors: list[Redactor] = []
    seen: set[str] = set()
    for path in paths:
        found, problems = _read(path, read)
        if problems:
            more = len(problems) - 1
            raise RedactorSpecError(problems[0] + (f" (and {more} more problem{'s' * (more > 1)})" if more else ""))
        for key, redactor in found:
            if key not in seen:   # a ConfigMap may carry one spec under two keys: run it once
                seen.add(key)
                redactors.append(redactor)
    return redactors


def redactor_spec_problems(path: str, *, read: Callable[[str], SpecFile] = read_spec_file) -> list[str]:
    """Every problem of a Redactor spec file, `FILE:LINE:COL: spec.redactors[i].<field>: message`, in file
    order: what `sbsched validate` reports (`read`: the file validate parsed already)."""
    return _read(path, read)[1]


Problem = tuple[JsonPath, str, bool]             # (path in the document, message, placed at the key)


def _read(path: str, read: Callable[[str], SpecFile]) -> tuple[list[tuple[str, Redactor]], list[str]]:
    try:
        spec_file = read(path)
    except SpecError as exc:
        return [], [_READ_PROBLEMS[exc.cause](path, exc.detail)]
    specs = spec_file.redactors
    if not specs:
        kinds = sorted(spec_file.kinds)
        found = f"; found kind {', '.join(kinds)}" if kinds else ""
        return [], [f"{path}: no Redactor spec (expected apiVersion troubleshoot.sh/v1beta2, kind Redactor, "
                    f"plain or in a ConfigMap/Secret){found}"]
    redactors: list[tuple[str, Redactor]] = []
    placed: list[tuple[int, int, str]] = []
    for document in specs:
        problems: list[Problem] = []
        redactors += _compile_document(document.data, problems)
        for field, message, at_key in problems:
            line, column = locate(document.node, field, key=at_key)
            placed.append((*document.place(line - 1, column - 1), f"{format_path(field)}: {message}"))
    return redactors, [f"{path}:{line}:{column}: {message}" for line, column, message in sorted(placed)]


_READ_PROBLEMS: dict[str, Callable[[str, str], str]] = {   # a Redactor spec's problems all read FILE[:L:C]: ...
    "missing": lambda path, detail: f"{path}: file not found",
    "unreadable": lambda path, detail: f"{path}: cannot read: {detail}",
    "yaml": lambda path, detail: f"{path}{detail}",
}


def literal_redactor(name: str, values: Iterable[str], *, shortest: int = 1) -> Redactor:
    """A redactor masking each of `values` wherever it appears (each line of a multi-line value on its own:
    rules match within a line); lines shorter than `shortest` are left out."""
    lines = sorted({line for value in values for line in value.splitlines() if len(line) >= shortest},
                   key=lambda line: (-len(line), line))   # longest first, so no part of a longer one survives
    return Redactor(name, tuple(_literal(name, line.encode()) for line in lines), ())


def _compile_document(doc: dict[str, Any], problems: list[Problem]) -> list[tuple[str, Redactor]]:
    if doc.get("apiVersion") not in API_VERSIONS:
        problems.append((("apiVersion",), f"unsupported apiVersion {doc.get('apiVersion')!r} for kind Redactor",
                         False))
    spec = _fields(doc.get("spec"), ("spec",), ("redactors",), problems) or {}
    compiled = []
    for index, item in enumerate(_items(spec.get("redactors"), ("spec", "redactors"), problems)):
        redactor = _compile(item, index, ("spec", "redactors", index), problems)
        if redactor is not None:
            compiled.append((repr(item), redactor))
    return compiled


def _compile(item: Any, index: int, where: JsonPath, problems: list[Problem]) -> Redactor | None:
    """One `spec.redactors` entry, every field checked (troubleshoot's Go types: a wrong type fails its
    unmarshalling too); None when it has a problem."""
    before = len(problems)
    fields = _fields(item, where, ("name", "fileSelector", "removals"), problems)
    if fields is None:
        return None
    name = _string(fields.get("name"), (*where, "name"), problems) or f"unnamed-{index}"
    selector = _fields(fields.get("fileSelector"), (*where, "fileSelector"), ("file", "files"), problems) or {}
    globs = [((*where, "fileSelector", "file"), _string(selector.get("file"), (*where, "fileSelector", "file"),
                                                         problems))]
    globs += [((*where, "fileSelector", "files", i), _string(glob, (*where, "fileSelector", "files", i), problems,
                                                             empty=True))
              for i, glob in enumerate(_items(selector.get("files"), (*where, "fileSelector", "files"), problems))]
    patterns = [_attempt(_glob, glob, path, problems) for path, glob in globs if glob is not None]
    removals = _fields(fields.get("removals"), (*where, "removals"), ("values", "regex", "yamlPath"), problems) or {}
    rules: list[Rule | None] = []
    for i, value in enumerate(_items(removals.get("values"), (*where, "removals", "values"), problems)):
        literal = _attempt(_literal_value, value, (*where, "removals", "values", i), problems)
        rules.append(None if literal is None else _literal(name, literal))
    for i, regex in enumerate(_items(removals.get("regex"), (*where, "removals", "regex"), problems)):
        rules.append(_regex_rule(name, regex, (*where, "removals", "regex", i), problems))
    yaml_paths = []
    for i, yaml_path in enumerate(_items(removals.get("yamlPath"), (*where, "removals", "yamlPath"), problems)):
        text = _string(yaml_path, (*where, "removals", "yamlPath", i), problems, empty=True)
        if text == "":
            problems.append(((*where, "removals", "yamlPath", i), "must not be empty", False))
        elif text is not None:
            yaml_paths.append(tuple(text.split(".")))
    if len(problems) > before:
        return None
    files = re.compile("|".join(p for p in patterns if p is not None)) if patterns else None
    return Redactor(name, tuple(rule for rule in rules if rule is not None), tuple(yaml_paths), files)


T = TypeVar("T")


def _attempt(convert: Callable[[Any], T], value: Any, where: JsonPath, problems: list[Problem]) -> T | None:
    """convert(value), or None with its ValueError recorded as a problem at `where`."""
    try:
        return convert(value)
    except ValueError as exc:
        problems.append((where, str(exc), False))
        return None


def _fields(value: Any, where: JsonPath, known: tuple[str, ...], problems: list[Problem]) -> dict[str, Any] | None:
    """A mapping (null: empty), each unknown key a problem; None when it is not a mapping."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        problems.append((where, "must be a mapping", False))
        return None
    for key in value:
        if key not in known:
            problems.append(((*where, str(key)), f"unknown key {str(key)!r}{did_you_mean(str(key), list(known))}",
                             True))
    return value


def _items(value: Any, where: JsonPath, problems: list[Problem]) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        problems.append((where, "must be a list", False))
        return []
    return value


def _string(value: Any, where: JsonPath, problems: list[Problem], *, empty: bool = False) -> str | None:
    """A string, or None (unset; `empty`: only null is unset, troubleshoot's Go zero value otherwise)."""
    if value is None or (value == "" and not empty):
        return None
    if not isinstance(value, str):
        problems.append((where, f"must be a string, got {_kind_of(value)}", False))
        return None
    return value


def _kind_of(value: Any) -> str:
    return "a list" if isinstance(value, list) else "a mapping" if isinstance(value, dict) else repr(value)


# --- removals ---------------------------------------------------------------------------------------

def _literal_value(value: Any) -> bytes:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"must be a string, got {_kind_of(value)}" + (" (quote it)" if isinstance(value, bool)
                                                                         else ""))
    text = str(value)
    if not text or "\n" in text:
        raise ValueError("entries must be non-empty and on one line (values are matched within a line)")
    return text.encode()


def _literal(name: str, value: bytes) -> Rule:
    """troubleshoot's literal redactor: every occurrence, case-sensitive; the value is its own needle."""
    return SubstitutionRule(name, (masking(b"(?P<value>" + re.escape(value) + b")", "value"),),
                            needles=(value,))


def _regex_rule(name: str, regex: Any, where: JsonPath, problems: list[Problem]) -> Rule | None:
    fields = _fields(regex, where, ("selector", "redactor"), problems)
    if fields is None:
        return None
    redactor = _string(fields.get("redactor"), (*where, "redactor"), problems)
    selector = _string(fields.get("selector"), (*where, "selector"), problems)
    if redactor is None:
        if fields.get("redactor") in (None, ""):
            problems.append((where, "`redactor` (a regex) is required", False))
        return None
    substitution = _attempt(_go_regex, redactor, (*where, "redactor"), problems)
    selects = None if selector is None else _attempt(_go_regex, selector, (*where, "selector"), problems)
    if substitution is None or (selector is not None and selects is None):
        return None
    if selects is None:
        return SubstitutionRule(name, (Substitution(*substitution),))
    return SelectorRule(name, selects[0], Substitution(*substitution))


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


def _go_regex(source: str) -> tuple[re.Pattern[bytes], Rewrite]:
    """The compiled translation, and the rewrite giving troubleshoot's replacement for a match; ValueError
    when it cannot compile."""
    try:
        pattern = re.compile(_translate(source).encode())
    except (re.error, ValueError) as exc:
        raise ValueError(f"invalid regex {source!r}: {getattr(exc, 'msg', exc)}") from None
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

def _glob(glob: str) -> str:
    """gobwas/glob with `/` as separator (what troubleshoot uses): `*` any run without `/`, `**` any run,
    `?` one character but `/`, `[abc]`/`[!a-z]` classes, `{a,b}` alternatives, `\\` escapes. ValueError
    when it cannot be used (a class range backwards, `[e-1]`, is no glob either)."""
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
                raise ValueError(f"invalid file glob {glob!r}: unclosed [")
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
        raise ValueError(f"invalid file glob {glob!r}: unclosed {{")
    pattern = "(?:" + "".join(out) + ")"
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"invalid file glob {glob!r}: {exc.msg}") from None
    return pattern
