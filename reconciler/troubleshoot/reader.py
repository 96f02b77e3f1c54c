"""The one reader of troubleshoot spec files: a file is read and parsed once into a SpecFile, whose
collectors, analyzers and redactors validate, run, export and check all take from there; a file that
cannot be read or parsed is one SpecError, whoever asked.

Where troubleshoot keeps each list, by kind (v1beta3 specs have the same shape):
  SupportBundle   spec.collectors, spec.hostCollectors, spec.analyzers, spec.hostAnalyzers
  Collector       spec.collectors
  Preflight       spec.collectors, spec.analyzers
  HostCollector   spec.collectors (host)
  HostPreflight   spec.collectors (host), spec.analyzers (host)
  Analyzer        spec.analyzers, spec.hostAnalyzers
  Redactor        spec.redactors
A spec may also be wrapped in a ConfigMap/Secret (troubleshoot's labelled specs). Each document keeps its
YAML node and where its text lies in the file, so that `validate` places a problem inside a wrapped spec
at FILE:LINE:COL.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import yaml

from ..base.errors import PermanentError
from ..base.yamlio import SafeLoader
from .specfiles import read_spec_bytes, read_spec_text, shown, wrapped_texts

Place = Callable[[int, int], tuple[int, int]]   # 0-based line and column in a text -> 1-based in the file

_HOST_COLLECTOR_KINDS = frozenset({"HostCollector", "HostPreflight"})
_CLUSTER_COLLECTOR_KINDS = frozenset({"SupportBundle", "Collector", "Preflight"})
ANALYZER_KINDS = frozenset({"SupportBundle", "Analyzer", "Preflight", "HostPreflight"})


class SpecError(PermanentError):
    """A spec file that cannot be used; the message is one line naming the file. `cause` says which way
    (missing, unreadable, yaml) for callers that word it in their own place (validate's diagnostics)."""

    def __init__(self, message: str, *, cause: str = "", detail: str = "", hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.cause, self.detail = cause, detail


@dataclass(frozen=True)
class Document:
    """One troubleshoot document of a file: its data, its node, and where its text lies in the file."""

    data: dict[str, Any]
    node: yaml.Node
    place: Place

    @property
    def kind(self) -> str:
        return str(self.data.get("kind", ""))


@dataclass(frozen=True)
class Section:
    """One list of a document (`spec.collectors`, `spec.hostAnalyzers`, ...), as written: a list of
    `{kind: params}` entries when well formed, anything else when not."""

    document: Document
    name: str
    items: Any
    host: bool


@dataclass(frozen=True)
class SpecFile:
    """A spec file, parsed once. Sections are in file order, cluster and host lists interleaved as the
    documents hold them (troubleshoot's order)."""

    path: str
    documents: tuple[Document, ...]

    @property
    def kinds(self) -> set[str]:
        return {document.kind for document in self.documents}

    @property
    def collectors(self) -> list[Section]:
        return [s for d in self.documents for s in _collector_sections(d)]

    @property
    def analyzers(self) -> list[Section]:
        return [s for d in self.documents for s in analyzer_sections(d)]

    @property
    def redactors(self) -> list[Document]:
        """The Redactor documents; their fields are redact/spec.py's to check."""
        return [d for d in self.documents if d.data.get("kind") == "Redactor"]


def read_spec_file(path: str, read: Callable[[str], str] = read_spec_text) -> SpecFile:
    """The spec file at `path`, parsed; `read` gives its text (a run reads the applied snapshots:
    plan/spec_snapshots.reader). Raises SpecError."""
    text = read_text(path, read)
    try:
        return SpecFile(path, tuple(documents(text, lambda line, column: (line + 1, column + 1))))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SpecError(f"spec {path}{where} is not valid YAML: {problem}", cause="yaml",
                        detail=f"{where}: not valid YAML: {getattr(exc, 'problem', None) or exc}") from None


def read_text(path: str, read: Callable[[str], str] = read_spec_text, *, noun: str = "spec") -> str:
    """A file's text as `read` gives it, or SpecError: also for the other files a spec's schedule
    reads (`noun` says which, e.g. caFile), so that their failures read alike."""
    try:
        return read(path)
    except FileNotFoundError:
        raise SpecError(f"{noun} file not found: {path}", cause="missing") from None
    except IsADirectoryError:
        raise SpecError(f"{noun} {path} is a directory, not a file", cause="unreadable",
                        detail="Is a directory") from None
    except OSError as exc:
        raise SpecError(f"cannot read {noun} {path}: {exc.strerror}", cause="unreadable",
                        detail=str(exc.strerror or exc)) from None
    except UnicodeDecodeError as exc:
        raise SpecError(f"{noun} {path} is not UTF-8 text", cause="unreadable", detail=str(exc)) from None


def check_file(path: str, wanted: frozenset[str], *, keep: dict[str, bytes] | None = None,
               parsed: dict[str, SpecFile] | None = None) -> str | None:
    """None when `path` holds at least one troubleshoot spec of a `wanted` kind; else why not, worded
    for validate's diagnostics. `keep` gets the bytes that passed, so that what apply snapshots is
    exactly what was checked; `parsed` gets the file parsed, for the checks inside it (one parse)."""
    displayed = shown(path)
    raw: list[bytes] = []

    def read(at: str) -> str:
        raw.append(read_spec_bytes(at))
        return raw[-1].decode("utf-8")

    try:
        spec_file = read_spec_file(path, read)
    except SpecError as exc:
        return {"missing": f"file not found: {displayed}", "yaml": f"{displayed} is not valid YAML"}.get(
            exc.cause, f"cannot read {displayed}: {exc.detail}")
    kinds = spec_file.kinds
    if not kinds & wanted:
        found = f"; found kind {', '.join(sorted(kinds))}" if kinds else ""
        return (f"{displayed} is not a troubleshoot spec: expected apiVersion troubleshoot.sh/v1beta2 with kind "
                f"{' or '.join(sorted(wanted, key=_KIND_ORDER.index))}{found}")
    if keep is not None:
        keep[path] = raw[0]
    if parsed is not None:
        parsed[path] = spec_file
    return None


_KIND_ORDER = ("SupportBundle", "HostCollector", "Collector", "Preflight", "HostPreflight", "Analyzer", "Redactor")


def documents(text: str, place: Place) -> list[Document]:
    """The troubleshoot documents of a text, plain or inside a ConfigMap/Secret (a wrapped value that does
    not parse holds none). Raises yaml.YAMLError for the text itself."""
    found: list[Document] = []
    for node in yaml.compose_all(text, Loader=SafeLoader):
        data = _construct(node)
        if not isinstance(data, dict):
            continue
        if str(data.get("apiVersion", "")).startswith(("troubleshoot.sh/", "troubleshoot.replicated.com/")):
            found.append(Document(data, node, place))
            continue
        for value, line0, column0, inner in wrapped_texts(node, text):
            if "troubleshoot" in inner:
                try:
                    found += documents(inner, _inside(place, value, line0, column0))
                except yaml.YAMLError:
                    continue
    return found


def _inside(place: Place, value: yaml.Node, line0: int, column0: int) -> Place:
    """Places in a wrapped text: shifted into a literal block, else the wrapping value's own place."""
    if line0 >= 0:
        return lambda line, column: place(line0 + line, column0 + column)
    at = value.start_mark
    return lambda line, column: place(at.line, at.column)


def _construct(node: yaml.Node) -> Any:
    loader = SafeLoader("")
    try:
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _spec(document: Document) -> dict[str, Any] | None:
    kind, spec = document.data.get("kind"), document.data.get("spec") or {}
    return spec if isinstance(kind, str) and isinstance(spec, dict) else None   # `kind: []` is no kind at all


def _collector_sections(document: Document) -> list[Section]:
    spec = _spec(document)
    if spec is None:
        return []
    if document.kind in _HOST_COLLECTOR_KINDS:
        return [Section(document, "collectors", spec.get("collectors"), True)]
    if document.kind not in _CLUSTER_COLLECTOR_KINDS:
        return []
    found = [Section(document, "collectors", spec.get("collectors"), False)]
    if document.kind == "SupportBundle":
        found.append(Section(document, "hostCollectors", spec.get("hostCollectors"), True))
    return found


def analyzer_sections(document: Document) -> list[Section]:
    """A document's analyzer lists; validate places their `when`s through the document's node."""
    spec = _spec(document)
    if spec is None or document.kind not in ANALYZER_KINDS:
        return []
    found = [Section(document, "analyzers", spec.get("analyzers"), document.kind == "HostPreflight")]
    if document.kind in ("SupportBundle", "Analyzer"):
        found.append(Section(document, "hostAnalyzers", spec.get("hostAnalyzers"), True))
    return found
