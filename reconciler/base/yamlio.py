"""YAML in, plain JSON-like data out; line numbers only when a diagnostic needs one.

Parsing uses libyaml through PyYAML's C parser: on a 10,000-schedule manifest it is ~2.5x faster than
ruamel's C path and ~6x faster than its round-trip loader. The data is built from libyaml's events as
they come, with no node tree: a tree with marks was ~50x the text (2 GiB for a 100,000-schedule
manifest), kept only to place diagnostics. A diagnostic is placed at FILE:LINE:COL by parsing the text
again, with marks (`YamlDocument.root`): that costs nothing while the manifest is valid.

Scalars resolve as YAML 1.2's core schema, not PyYAML's YAML 1.1: `on`, `yes`, `no` stay strings
(`notify: [{on: [failure]}]` must not become `{True: ...}`), `2026-01-01` stays a string, `010` is 10.
"""
from __future__ import annotations

import functools
import math
import re
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

import yaml
from yaml.events import (AliasEvent, DocumentEndEvent, DocumentStartEvent, MappingEndEvent, MappingStartEvent,
                         ScalarEvent, SequenceEndEvent, SequenceStartEvent, StreamEndEvent)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .gcpause import paused_gc

JsonPath = tuple[str | int, ...]

MAX_NODES = 5_000_000   # node visits, aliases counted each time: stops "billion laughs" expansion
MAX_DEPTH = 64          # far above any real manifest; deep nesting is hostile input
MAX_TEXT = 64 * 2**20   # characters of keys and scalars, aliases counted each time: what the state would hold
SHARE_NODES, SHARE_TEXT = 256, 4096   # the largest collection `load(share_below=)` shares: it is keyed by
                                      # its repr, made again at each level above it (a section is far smaller)

_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"


class _Core12Loader(yaml.CSafeLoader):
    """libyaml parser with YAML 1.2 core-schema implicit typing.

    libyaml calls back into Python to resolve every scalar's tag; PyYAML's generic resolver (path
    resolvers, wildcard lookups) costs ~1 us a scalar, so this one does only what we use."""

    yaml_implicit_resolvers: dict[str, list[tuple[str, re.Pattern[str]]]] = {}

    def resolve(self, kind: type, value: str, implicit: tuple[bool, bool]) -> str:
        if kind is ScalarNode:
            if implicit[0]:
                for tag, regexp in self.yaml_implicit_resolvers.get(value[:1], ()):
                    if regexp.fullmatch(value):
                        return tag
            return _STR
        return _SEQ if kind is SequenceNode else _MAP

    _depth = 0

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        """No path resolvers; but libyaml's composer (recursive C code) calls this on its way down, so
        nesting is counted here: a document some 30,000 levels deep (`[[[[...`, `- - - ...`) would
        overflow the C stack (SIGSEGV) before the builder's check, and libyaml's scanner slows down
        quadratically with flow depth. Stopping here costs one counter per node."""
        self._depth += 1
        if self._depth > MAX_DEPTH + 2:  # the root and a scalar leaf: the builder's own check fires first
            mark = getattr(current_node, "start_mark", None)
            raise YamlSyntaxError(f"nesting deeper than {MAX_DEPTH} levels", mark.line + 1 if mark else 1,
                                  mark.column + 1 if mark else 1)

    def ascend_resolver(self) -> None:
        self._depth -= 1


for _tag, _regex, _first in (
    (_BOOL, r"true|True|TRUE|false|False|FALSE", "tTfF"),
    (_INT, r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+", "-+0123456789"),
    (_FLOAT, r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)",
     "-+0123456789."),
    (_NULL, r"~|null|Null|NULL|", ["~", "n", "N", ""]),
):
    _Core12Loader.add_implicit_resolver(_tag, re.compile(_regex), list(_first))


SPEC_MAX_DEPTH = 1_000  # troubleshoot specs and bundle files: far above real ones, far below a C stack overflow


class NestingTooDeep(yaml.MarkedYAMLError):
    """A yaml.YAMLError, so that every reader's `except yaml.YAMLError` reports it as bad YAML."""


class SafeLoader(yaml.CSafeLoader):
    """PyYAML's C safe loader (same results as yaml.safe_load) that refuses documents nested deeper than
    `max_depth`: libyaml's composer recurses in C, and ~30,000 levels (`[[[[...`, 60 KB) overflow the stack
    with SIGSEGV. For troubleshoot spec files and the YAML files of bundles; manifests use `load`."""

    max_depth = SPEC_MAX_DEPTH
    _depth = 0

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        self._depth += 1
        if self._depth > self.max_depth:
            mark = getattr(current_node, "start_mark", None)
            raise NestingTooDeep(problem=f"nesting deeper than {self.max_depth:,} levels", problem_mark=mark)
        super().descend_resolver(current_node, current_index)

    def ascend_resolver(self) -> None:
        self._depth -= 1
        super().ascend_resolver()


class YamlSyntaxError(Exception):
    """The text is not one well-formed YAML document; line and column are 1-based."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.message, self.line, self.column = message, line, column


@dataclass
class YamlDocument:
    """Parsed data, and the text it came from: a diagnostic is placed by parsing that text again, with
    marks, and only then (`root`); a valid manifest never holds a node tree (at 100,000 schedules it was
    ~60x the file's size)."""

    data: Any
    text: str = ""
    empty: bool = False   # no document at all (an empty file, or only comments)
    problems: list[tuple[JsonPath, str]] = field(default_factory=list)  # (path, message): duplicate keys etc.

    @functools.cached_property
    def root(self) -> Node | None:
        """The node tree of `text`, with marks: parsed again on the error path only."""
        with paused_gc():
            loader = _Core12Loader(self.text)
            try:
                return loader.get_single_node()
            finally:
                loader.dispose()


def load(text: str, *, share_below: int | None = None) -> YamlDocument:
    """Parse one YAML document. Structural problems (duplicate or non-string keys) are returned, not
    raised, so that they are reported together with schema errors. `share_below`: equal collections
    nested at least this deep are one object (a manifest's schedules repeat their sections: 100,000 of them
    parsed took ~190 MiB, mostly small dicts); only for a reader that never edits the data in place."""
    with paused_gc():
        loader = _Core12Loader(text)
        try:
            return _Builder(text, share_below).build(loader.get_event)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            problem = exc.problem or exc.context or "invalid YAML"
            if exc.context and exc.problem:
                problem = f"{exc.context}: {exc.problem}" if "expected" not in exc.problem else exc.problem
            raise YamlSyntaxError(f"YAML syntax error: {problem}", (mark.line + 1) if mark else 1,
                                  (mark.column + 1) if mark else 1) from None
        except yaml.YAMLError as exc:
            raise YamlSyntaxError(f"YAML syntax error: {exc}", 1, 1) from None
        finally:
            loader.dispose()


_NO_KEY = object()   # a mapping waiting for its next key


def _copy(value: Any) -> Any:
    """A copy of parsed data (dicts, lists, scalars): several times faster than copy.deepcopy, which an
    alias bomb would make copy up to MAX_NODES nodes."""
    if value.__class__ is dict:
        return {k: _copy(v) for k, v in value.items()}
    if value.__class__ is list:
        return [_copy(v) for v in value]
    return value


class _Builder:
    """Turns libyaml's events into dicts/lists/scalars as they come, without a node tree; counts nodes, so
    alias bombs stop early, and characters, so that a few aliases of one large scalar (a 1 MB label under
    300 schedules: 300 MB once stored) stop too; bounds nesting (the events are not recursive, but the
    data and every reader of it are).

    An open collection is a frame [container, key, step]: for a mapping, `key` is the key waiting for its
    value (_NO_KEY: none yet) and `step` its text as written; a problem's path is read off the frames."""

    def __init__(self, text: str, share_below: int | None = None) -> None:
        self.text = text
        self.share_below = sys.maxsize if share_below is None else share_below
        self.shared: dict[str, Any] = {}   # repr -> the one object of that value (repr tells True from 1)
        self.problems: list[tuple[JsonPath, str]] = []
        self.frames: list[list[Any]] = []
        self.anchors: dict[str, tuple[Any, int, int] | None] = {}   # None: still open (a recursive alias)

    def build(self, next_event: Callable[[], Any]) -> YamlDocument:
        next_event()                                   # StreamStart
        event = next_event()
        if event.__class__ is StreamEndEvent:
            return YamlDocument(None, self.text, empty=True)
        frames, visits, chars = self.frames, 0, 0   # locals: this loop runs once per event
        resolvers, intern = _Core12Loader.yaml_implicit_resolvers, sys.intern
        opened: list[tuple[str | None, int, int]] = []   # each open collection's anchor, visits and chars at its start
        result = None
        while True:
            event = next_event()
            cls = event.__class__
            if cls is ScalarEvent:
                value = event.value
                visits += 1
                chars += len(value)
                if visits > MAX_NODES or chars > MAX_TEXT:
                    self._too_large(visits, event)
                tag = event.tag
                if tag is None or tag == "!":
                    if event.implicit[0]:
                        for rtag, regexp in resolvers.get(value[:1], ()):
                            if regexp.fullmatch(value):
                                value = self._scalar(rtag, value, event)
                                break
                else:
                    value = self._scalar(tag, value, event)
                if value.__class__ is str:   # one object per distinct text: large manifests repeat most values
                    value = intern(value)
                if event.anchor is not None:
                    self.anchors[event.anchor] = (value, 1, len(event.value))
            elif cls is MappingStartEvent or cls is SequenceStartEvent:
                visits += 1
                if visits > MAX_NODES:
                    self._too_large(visits, event)
                if len(frames) >= MAX_DEPTH + 1:
                    raise YamlSyntaxError(f"nesting deeper than {MAX_DEPTH} levels", event.start_mark.line + 1,
                                          event.start_mark.column + 1)
                if event.anchor is not None:
                    self.anchors[event.anchor] = None
                opened.append((event.anchor, visits, chars))
                frames.append([{} if cls is MappingStartEvent else [], _NO_KEY, None])
                continue
            elif cls is MappingEndEvent or cls is SequenceEndEvent:
                value = frames.pop()[0]
                anchor, visits0, chars0 = opened.pop()
                if anchor is not None:
                    self.anchors[anchor] = (value, visits - visits0 + 1, chars - chars0)
                elif (len(frames) >= self.share_below and visits - visits0 < SHARE_NODES
                      and chars - chars0 <= SHARE_TEXT):
                    value = self.shared.setdefault(repr(value), value)
            elif cls is AliasEvent:
                target = self.anchors.get(event.anchor, ...)
                if not isinstance(target, tuple):
                    what = "found undefined alias" if target is ... else "found a recursive alias"
                    raise YamlSyntaxError(f"YAML syntax error: {what} {event.anchor!r}", event.start_mark.line + 1,
                                          event.start_mark.column + 1)
                value, size, length = target
                visits += size
                chars += length
                if visits > MAX_NODES or chars > MAX_TEXT:
                    self._too_large(visits, event)
                value = _copy(value)   # each use its own copy, as an expanded alias
            elif cls is DocumentEndEvent:
                continue
            elif cls is DocumentStartEvent:
                mark = event.start_mark
                raise YamlSyntaxError("YAML syntax error: expected a single document in the stream, but found "
                                      "another document", mark.line + 1, mark.column + 1)
            else:   # StreamEnd
                return YamlDocument(result, self.text, problems=self.problems)
            if not frames:
                result = value
                continue
            frame = frames[-1]
            container = frame[0]
            if container.__class__ is list:
                container.append(value)
            elif frame[1] is _NO_KEY:
                frame[2] = event.value if cls is ScalarEvent else value
                frame[1] = value if value.__class__ is str else self._bad_key(value, frame)
            else:
                key = frame[1]
                if key in container:
                    self.problems.append((self._path(), f"duplicate key {key!r}"))
                container[key] = value
                frame[1] = _NO_KEY

    def _bad_key(self, key: Any, frame: list[Any]) -> str:
        self.problems.append(((*self._path()[:-1], str(key)), f"mapping keys must be strings, got {key!r}"))
        frame[2] = str(key)
        return str(key)

    def _path(self) -> JsonPath:
        """Where the value being added goes: each open collection's key or next index."""
        return tuple(len(c) if c.__class__ is list else str(step) for c, _, step in self.frames)

    def _too_large(self, visits: int, event: Any) -> None:
        line, column = event.start_mark.line + 1, event.start_mark.column + 1
        if visits > MAX_NODES:
            raise YamlSyntaxError(f"document too large: more than {MAX_NODES:,} nodes (alias expansion?)", line, column)
        raise YamlSyntaxError(f"document too large: more than {MAX_TEXT // 2**20} MiB of text once aliases are "
                              "expanded", line, column)

    def _scalar(self, tag: str, value: str, event: Any) -> Any:
        """A scalar of a resolved or explicit tag other than str; a problem (placed where it is) if it does
        not fit the tag."""
        try:
            if tag == _STR:
                return value
            if tag == _INT:
                return int(value, 0) if value[:2] in ("0o", "0x") else int(value)
            if tag == _FLOAT:
                lowered = value.lower().lstrip("+")
                number = -math.inf if lowered == "-.inf" else math.inf if lowered == ".inf" \
                    else math.nan if lowered == ".nan" else float(value)
                if not math.isfinite(number):   # .inf, .nan, 1e999: JSON has no such number, and no field wants one
                    self.problems.append((self._here(value), f"{value!r} is not a finite number"))
                return number
            if tag == _BOOL:
                return value.lower() == "true"
            if tag == _NULL:
                return None
        except ValueError:
            self.problems.append((self._here(value), f"{value!r} is not a valid {tag.rsplit(':', 1)[-1]}"))
            return value
        self.problems.append((self._here(value), f"unsupported YAML tag {tag!r}"))
        return value

    def _here(self, raw: str) -> JsonPath:
        """The path of the scalar being read: a key's problem is placed at its entry."""
        frame = self.frames[-1] if self.frames else None
        if frame is not None and frame[0].__class__ is dict and frame[1] is _NO_KEY:
            return (*self._path()[:-1], raw)
        return self._path()


def locate(root: Node | None, path: Iterable[str | int], *, key: bool = False) -> tuple[int, int]:
    """1-based (line, column) of the node at `path`, or of its nearest existing ancestor.
    With key=True, the last step's key node (where an unknown or duplicate key is written)."""
    node = root
    if node is None:
        return 1, 1
    steps = list(path)
    for i, step in enumerate(steps):
        last = i == len(steps) - 1
        if isinstance(node, MappingNode):
            match = None
            for k, v in node.value:
                if isinstance(k, ScalarNode) and k.value == str(step):
                    match = (k, v)  # the last duplicate wins, as in the data
            if match is None:
                break
            node = match[0] if (last and key) else match[1]
        elif isinstance(node, SequenceNode) and isinstance(step, int) and 0 <= step < len(node.value):
            node = node.value[step]
        else:
            break
    return node.start_mark.line + 1, node.start_mark.column + 1


def format_path(path: Iterable[str | int]) -> str:
    """schedules[0].policy.timeoutSeconds: the JSON path style kubectl users read every day."""
    out = ""
    for step in path:
        if isinstance(step, int):
            out += f"[{step}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", step):
            out += f".{step}" if out else step
        else:
            out += f"[{step!r}]"
    return out
