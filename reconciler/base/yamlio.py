"""YAML in, plain JSON-like data out, with the node tree kept for line numbers.

Parsing uses libyaml through PyYAML's C loader: on a 10,000-schedule manifest it is ~2.5x faster than
ruamel's C path and ~6x faster than its round-trip loader. The composed node tree is kept so that a
diagnostic can be placed at FILE:LINE:COL afterwards; placing costs nothing while the manifest is valid.

Scalars resolve as YAML 1.2's core schema, not PyYAML's YAML 1.1: `on`, `yes`, `no` stay strings
(`notify: [{on: [failure]}]` must not become `{True: ...}`), `2026-01-01` stays a string, `010` is 10.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .gcpause import paused_gc

JsonPath = tuple[str | int, ...]

MAX_NODES = 5_000_000   # node visits, aliases counted each time: stops "billion laughs" expansion
MAX_DEPTH = 64          # far above any real manifest; deep nesting is hostile input
MAX_TEXT = 64 * 2**20   # characters of keys and scalars, aliases counted each time: what the state would hold

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
    """Parsed data plus what is needed to place diagnostics in the source text."""

    data: Any
    root: Node | None
    problems: list[tuple[JsonPath, str]] = field(default_factory=list)  # (path, message): duplicate keys etc.


def load(text: str) -> YamlDocument:
    """Parse one YAML document. Structural problems (duplicate or non-string keys) are returned, not
    raised, so that they are reported together with schema errors."""
    with paused_gc():
        return _load(text)


def _load(text: str) -> YamlDocument:
    loader = _Core12Loader(text)
    try:
        root = loader.get_single_node()
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
    doc = YamlDocument(data=None, root=root)
    if root is not None:
        builder = _Builder()
        doc.data = builder.build(root, 0)
        doc.problems = builder.paths(root) if builder.problems else []
    return doc


class _Builder:
    """Turns nodes into dicts/lists/scalars, counting visits so alias bombs stop early, and characters, so
    that a few aliases of one large scalar (a 1 MB label under 300 schedules: 300 MB once stored) stop too.

    Problems are recorded against nodes, and turned into JSON paths only if there are any: building
    a path for each of 400,000 nodes of a large manifest would cost more than the rest of the walk."""

    def __init__(self) -> None:
        self.visits = 0
        self.text = 0
        self.problems: list[tuple[Node, str | None, str]] = []  # (node or parent, key under it, message)

    def build(self, node: Node, depth: int) -> Any:
        self.visits += 1
        if self.visits > MAX_NODES:
            raise YamlSyntaxError(f"document too large: more than {MAX_NODES:,} nodes (alias expansion?)",
                                  node.start_mark.line + 1, node.start_mark.column + 1)
        cls = node.__class__
        if cls is ScalarNode:
            self._count(node)
            return node.value if node.tag == _STR else self._scalar(node)  # type: ignore[arg-type]
        if depth > MAX_DEPTH:
            raise YamlSyntaxError(f"nesting deeper than {MAX_DEPTH} levels", node.start_mark.line + 1,
                                  node.start_mark.column + 1)
        if cls is SequenceNode:
            return [self.build(item, depth + 1) for item in node.value]
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.__class__ is ScalarNode and key_node.tag == _STR:
                self._count(key_node)
                key = key_node.value
            else:
                key = self.build(key_node, depth + 1)
            if not isinstance(key, str):
                self.problems.append((node, str(key), f"mapping keys must be strings, got {key!r}"))
                key = str(key)
            if key in out:
                self.problems.append((node, key, f"duplicate key {key!r}"))
            out[key] = self.build(value_node, depth + 1)
        return out

    def _count(self, node: Node) -> None:
        self.text += len(node.value)
        if self.text > MAX_TEXT:
            raise YamlSyntaxError(f"document too large: more than {MAX_TEXT // 2**20} MiB of text once aliases are "
                                  "expanded", node.start_mark.line + 1, node.start_mark.column + 1)

    def _scalar(self, node: ScalarNode) -> Any:
        tag, value = node.tag, node.value
        try:
            if tag == _INT:
                return int(value, 0) if value[:2] in ("0o", "0x") else int(value)
            if tag == _FLOAT:
                lowered = value.lower().lstrip("+")
                number = -math.inf if lowered == "-.inf" else math.inf if lowered == ".inf" \
                    else math.nan if lowered == ".nan" else float(value)
                if not math.isfinite(number):   # .inf, .nan, 1e999: JSON has no such number, and no field wants one
                    self.problems.append((node, None, f"{value!r} is not a finite number"))
                return number
            if tag == _BOOL:
                return value.lower() == "true"
            if tag == _NULL:
                return None
        except ValueError:
            self.problems.append((node, None, f"{value!r} is not a valid {tag.rsplit(':', 1)[-1]}"))
            return value
        self.problems.append((node, None, f"unsupported YAML tag {tag!r}"))
        return value

    def paths(self, root: Node) -> list[tuple[JsonPath, str]]:
        where = _paths_of(root, {id(n) for n, _, _ in self.problems})
        return [((*where[id(n)], key) if key is not None else where[id(n)], message)
                for n, key, message in self.problems]


def _paths_of(root: Node, wanted: set[int]) -> dict[int, JsonPath]:
    """JSON paths of the nodes in `wanted` (by id), found by one walk of the tree."""
    found: dict[int, JsonPath] = {}
    stack: list[tuple[Node, JsonPath]] = [(root, ())]
    while stack and len(found) < len(wanted):
        node, path = stack.pop()
        if id(node) in wanted:
            found.setdefault(id(node), path)
        if isinstance(node, SequenceNode):
            stack.extend((item, (*path, i)) for i, item in enumerate(node.value))
        elif isinstance(node, MappingNode):
            for k, v in node.value:  # a key node's problem (say a bad tag) is placed at its entry
                stack.extend(((k, (*path, str(k.value))), (v, (*path, str(k.value)))))
    return found


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
