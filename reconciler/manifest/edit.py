"""Edit a manifest's text in place: add, change, remove and suspend schedules, keeping everything else.

Pure (text in, text out; no disk): the imperative verbs (`create`, `modify`, `delete`, `enable`,
`disable`, `import troubleshoot`) load the file with ruamel.yaml's round-trip loader, change the
CommentedMap, and render it. Three things keep a hand-written file as it was:

- **Indentation is read from the file** (mapping indent, sequence indent and dash offset separately),
  so ruamel re-emits the document the way it was written.
- **Only the lines the edit changed are taken from ruamel.** ruamel normalizes a few things on the
  way through (`key: null` becomes `key:`, a `---` line goes, odd spacing is evened out). The rendered
  text is therefore the original with the hunks that separate ruamel's rendering of the unedited
  document from its rendering of the edited one patched in (a three-way merge); the result is checked
  to mean what ruamel's own output means, else ruamel's output is used as it is.
- **Comments travel with what they describe.** A comment line directly above a deleted schedule goes
  with it (one separated from it by a blank line stays); comment lines after the key a new key is
  inserted behind stay in front of the key that followed; a list emptied by a delete is written `[]`
  without the comments that sat inside it (design §7: ruamel dumps `# comment\\n[]`, invalid YAML).

ruamel.yaml is imported here only, by commands that edit: `sbsched --help` never loads it.
"""
from __future__ import annotations

import difflib
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

from ..base.errors import ManifestError, NotFound, UsageError
from ..base.names import did_you_mean

if TYPE_CHECKING:
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.tokens import CommentToken

# A schedule's keys in the schema's order: a key an edit adds goes where this order puts it.
KEY_ORDER = ("name", "description", "template", "cron", "timezone", "suspend", "labels", "limits", "collect",
             "redact", "analyze", "upload", "encrypt", "policy", "retention", "notify")
COLLECT_ORDER = ("specs", "namespaces", "kubeconfig", "context", "collectors", "hostCollectors", "cluster", "auto",
                 "loadClusterSpecs", "apiRateLimit")
WIDTH = 4096   # never fold a long line that the file keeps on one


@dataclass
class Document:
    """A manifest loaded for editing: the original text and ruamel's tree of it."""

    original: str
    data: CommentedMap
    indent: tuple[int, int, int]                 # mapping, sequence, offset
    newline: str = "\n"
    unedited: str = ""        # ruamel's rendering of `data` as loaded, before any edit
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Changes:
    """What `modify` (and `create`) set; None leaves a field as it is. An empty string (or a list of one
    empty string) removes the field: `--upload ''`, `--namespace ''`."""

    cron: str | None = None
    timezone: str | None = None
    namespaces: Sequence[str] | None = None
    specs: Sequence[str] | None = None
    upload: str | None = None
    suspend: bool | None = None
    labels: Mapping[str, str] | None = None
    collectors: Sequence[Mapping[str, Any]] | None = None   # collect.collectors (inline, troubleshoot's)
    auto: bool | None = None       # collect.auto: troubleshoot's auto-discovery (--auto)
    redaction: str | None = None   # one of REDACTION: --redact, --tokenize, --no-redact
    description: str | None = None
    analyze: bool | None = None    # analyze.enabled
    upload_settings: Mapping[str, Mapping[str, Any]] | None = None   # {options, credentials} merged into upload
    template: str | None = None    # a template of `templates:` (create --template)

    def empty(self) -> bool:
        return all(getattr(self, f) is None for f in ("cron", "timezone", "namespaces", "specs", "upload",
                                                      "suspend", "labels", "collectors", "auto", "redaction",
                                                      "description", "analyze", "upload_settings", "template"))


# `redaction` modes, as the `redact` keys that make them (the schema's defaults: enabled, not tokenized)
REDACTION = {"mask": {"enabled": True, "tokenize": False}, "tokenize": {"enabled": True, "tokenize": True},
             "off": {"enabled": False, "tokenize": False}}


# -- load and render ------------------------------------------------------------------------------------
def _yaml(indent: tuple[int, int, int]) -> YAML:
    from ruamel.yaml import YAML

    yaml = YAML()  # round-trip
    yaml.preserve_quotes = True
    yaml.width = WIDTH
    yaml.indent(mapping=indent[0], sequence=indent[1], offset=indent[2])
    yaml.representer.add_representer(type(None), _null)   # `key: null`, as people write it, not `key:`
    return yaml


def _null(representer: Any, _: None) -> Any:
    return representer.represent_scalar("tag:yaml.org,2002:null", "null")


def parse(text: str, *, source: str = "the manifest") -> Document:
    """The document to edit; a text that is not a YAML mapping is a ManifestError (exit 2)."""
    from ruamel.yaml.comments import CommentedMap
    from ruamel.yaml.error import YAMLError

    newline = "\r\n" if "\r\n" in text else "\n"
    text = text.replace("\r\n", "\n").removeprefix("\ufeff")
    indent = guess_indent(text)
    try:
        data = _yaml(indent).load(text)
    except YAMLError as exc:
        raise ManifestError(f"{source}: not valid YAML, so it cannot be edited: {str(exc).splitlines()[0]}",
                            hint=f"`sbsched validate -f {source}` places the error") from None
    if not isinstance(data, CommentedMap):
        raise ManifestError(f"{source}: expected a ScheduleSet mapping (apiVersion, kind, metadata, schedules)")
    # rendered now, before any edit: dumping the tree costs about half of loading the text again later
    return Document(text, data, indent, newline, unedited=_dump(data, indent))


def new_document(set_name: str) -> Document:
    """A ScheduleSet with no schedules yet, as `create` starts a missing file."""
    text = (f"apiVersion: sbsched/v1\nkind: ScheduleSet\nmetadata:\n  name: {set_name}\nschedules:\n")
    doc = parse(text)
    doc.original = ""   # all of it is new: the patch has nothing to keep
    return doc


def render(doc: Document) -> str:
    """The edited text: the original with ruamel's changed lines patched in (see the module doc)."""
    edited = _dump(doc.data, doc.indent)
    if not doc.original:
        return edited.replace("\n", doc.newline)
    patched = three_way(doc.original, doc.unedited, edited)
    if patched is None or not _same_meaning(patched, edited):
        patched = edited
    return patched.replace("\n", doc.newline)


def _dump(data: Any, indent: tuple[int, int, int]) -> str:
    out = io.StringIO()
    _yaml(indent).dump(data, out)
    return out.getvalue()


def _same_meaning(a: str, b: str) -> bool:
    from ..base import yamlio

    try:
        return bool(yamlio.load(a).data == yamlio.load(b).data)
    except yamlio.YamlSyntaxError:
        return False


def three_way(original: str, unedited: str, edited: str) -> str | None:
    """`original` with the hunks that turn `unedited` into `edited` applied. A hunk that touches lines
    ruamel renders differently from `original` grows to cover them, and takes ruamel's lines there."""
    if unedited == original:
        return edited
    o, r, m = (s.splitlines(keepends=True) for s in (original, unedited, edited))
    to_o = difflib.SequenceMatcher(None, r, o, autojunk=False).get_opcodes()
    to_m = difflib.SequenceMatcher(None, r, m, autojunk=False).get_opcodes()
    regions = [(i1, i2) for tag, i1, i2, _, _ in to_m if tag != "equal"]
    blocks = [(i1, i2) for tag, i1, i2, _, _ in to_o + to_m if tag != "equal"]
    merged: list[tuple[int, int]] = []
    for start, end in sorted(regions):
        changed = True
        while changed:   # grow to every differing block it touches, in either comparison
            changed = False
            for a, b in blocks:
                if (a < end and b > start) or (start == end and a < start < b) or (a == b and start < a < end):
                    if a < start or b > end:
                        start, end, changed = min(start, a), max(end, b), True
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    out: list[str] = []
    at = 0
    for start, end in merged:
        o_start, o_end = _map(to_o, start, end=False, inside=False), _map(to_o, end, end=True, inside=False)
        m_start, m_end = _map(to_m, start, end=False, inside=True), _map(to_m, end, end=True, inside=True)
        if o_start is None or o_end is None or m_start is None or m_end is None or o_start < at:
            return None
        out += o[at:o_start] + m[m_start:m_end]
        at = max(o_end, o_start)
    return "".join(out + o[at:])


def _map(opcodes: Sequence[tuple[str, int, int, int, int]], position: int, *, end: bool, inside: bool) -> int | None:
    """Where a region boundary at line `position` of one side falls on the other side. Lines that only
    the other side has, right at the boundary, go inside the region (`inside`) or stay outside it."""
    for _, i1, i2, j1, j2 in opcodes:
        if i1 == i2 == position:
            return (j2 if end else j1) if inside else (j1 if end else j2)
    for tag, i1, i2, j1, j2 in opcodes:
        if i1 <= position <= i2 and i1 < i2:
            if tag == "equal":
                return j1 + position - i1
            if position in (i1, i2):
                return j1 if position == i1 else j2
            return None   # inside a differing block: the region should have grown over it
    return opcodes[-1][4] if opcodes else 0


_KEY_LINE = re.compile(r"( *)(?!- )[^\s#][^#]*?:\s*(#.*)?")
_DASH_LINE = re.compile(r"^( *)-( +)\S")
_CONTENT = re.compile(r"^( *)(\S)")


def guess_indent(text: str) -> tuple[int, int, int]:
    """(mapping indent, sequence indent, dash offset) as ruamel's `indent()` takes them, read from the
    block collections of the file; (2, 4, 2) (the examples' style) where it has none."""
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    maps: Counter[int] = Counter()
    seqs: Counter[tuple[int, int]] = Counter()
    for line, below in zip(lines, lines[1:]):
        key = _KEY_LINE.fullmatch(line)
        if not key:
            continue
        dash, content = _DASH_LINE.match(below), _CONTENT.match(below)
        if dash and len(dash.group(1)) >= len(key.group(1)):
            offset = len(dash.group(1)) - len(key.group(1))
            seqs[(offset + 1 + len(dash.group(2)), offset)] += 1
        elif content and len(content.group(1)) > len(key.group(1)):
            maps[len(content.group(1)) - len(key.group(1))] += 1
    mapping = maps.most_common(1)[0][0] if maps else 2
    sequence, offset = seqs.most_common(1)[0][0] if seqs else (mapping + 2, mapping)
    return mapping, max(sequence, offset + 2), offset


# -- reading -------------------------------------------------------------------------------------------
def set_name(doc: Document) -> str | None:
    metadata = doc.data.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return name if isinstance(name, str) else None


def schedules(doc: Document) -> list[Any]:
    items = doc.data.get("schedules")
    return list(items) if isinstance(items, list) else []


def names(doc: Document) -> list[str]:
    return [s["name"] for s in schedules(doc) if isinstance(s, dict) and isinstance(s.get("name"), str)]


def find(doc: Document, name: str, *, source: str = "the manifest") -> CommentedMap:
    for item in schedules(doc):
        if isinstance(item, dict) and item.get("name") == name:
            return item  # type: ignore[return-value]  # a loaded mapping is a CommentedMap
    close = difflib.get_close_matches(name, names(doc), n=1)
    raise NotFound(f"no schedule {name!r} in {source}",
                   hint=f"did you mean {close[0]!r}?" if close else _listing(source, names(doc)))


def _listing(source: str, listed: list[str]) -> str:
    shown = ", ".join(listed[:5]) + (f" and {len(listed) - 5} more" if len(listed) > 5 else "")
    return f"{source} lists {shown}" if listed else f"{source} lists no schedules"


def default(doc: Document, *path: str) -> Any:
    """A value of the manifest's `defaults:` block (None when not set)."""
    node: Any = doc.data.get("defaults")
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return node


# -- the verbs -------------------------------------------------------------------------------------------
def create(doc: Document, name: str, changes: Changes, *, source: str = "the manifest") -> None:
    """Append schedule `name` (cron required) at the end of `schedules:`."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if name in names(doc):
        raise UsageError(f"schedule {name!r} already exists in {source}",
                         hint=f"`sbsched modify {name} ...` changes it")
    if not changes.cron:
        raise UsageError("create needs --cron")
    templates = doc.data.get("templates")
    known = sorted(templates) if isinstance(templates, dict) else []
    if changes.template is not None and changes.template not in known:
        raise UsageError(f"--template {changes.template!r}: no such template in {source}"
                         f"{did_you_mean(changes.template, known)}",
                         hint=f"templates: {', '.join(known)}" if known else "add it under `templates:` first")
    items = doc.data.get("schedules")
    if not isinstance(items, CommentedSeq) or not items:
        if items is not None and not isinstance(items, list):
            raise ManifestError(f"{source}: `schedules` is not a list; fix it first")
        items = CommentedSeq()
        _set_key(doc.data, "schedules", items, order=("apiVersion", "kind", "metadata", "defaults", "schedules"))
    item = CommentedMap()
    item["name"] = name
    items.append(item)
    _apply(doc, item, changes)
    if _blank_separated(doc):
        _set_before(doc, len(items) - 1, ["\n"])


def modify(doc: Document, name: str, changes: Changes, *, source: str = "the manifest") -> None:
    if changes.empty():
        raise UsageError("nothing to change: give at least one of --cron, --timezone, --enabled, --namespace, --spec, "
                         "--auto, --redact, --no-redact, --tokenize, --analyze, --no-analyze, --upload, "
                         "--upload-options, --upload-credentials, --description, --labels")
    _apply(doc, find(doc, name, source=source), changes)


def delete(doc: Document, name: str, *, source: str = "the manifest") -> None:
    """Remove schedule `name` with the comment lines directly above it."""
    from ruamel.yaml.comments import CommentedSeq

    item = find(doc, name, source=source)
    items = doc.data["schedules"]
    index = next(i for i, s in enumerate(items) if s is item)
    column = _dash_column(doc, item)
    # Between the previous item's last line and this one's dash: a comment directly above the dash,
    # at most as indented as it, is this item's own and goes with it; the rest stays.
    above = (_take_tail_lines(items[index - 1]) if index else []) + _before(doc, index)
    keep = len(above)
    while keep and above[keep - 1].strip() and _indent(above[keep - 1]) <= column:
        keep -= 1
    kept = above[:keep]
    rest = [line for line in _take_tail_lines(item)   # lines indented into the item go with it
            if not line.strip() or _indent(line) <= column]
    following = _before(doc, index + 1) if index + 1 < len(items) else None
    del items[index]
    if not len(items):
        # design §7: ruamel would dump `schedules:\n  # comment\n[]`, which is not YAML
        empty = CommentedSeq()
        empty.fa.set_flow_style()
        doc.data["schedules"] = empty
        _clear_comments_of_key(doc.data, "schedules")
    elif following is not None:   # what led into the deleted item now leads into the next one
        after = rest + following
        while kept and not kept[-1].strip() and after and not after[0].strip():
            kept.pop()            # one blank line where the item was, not two
        _set_before(doc, index, kept + after)
    else:
        lines = kept + rest
        while lines and not lines[-1].strip():
            lines.pop()
        _append_tail_lines(items[index - 1], lines)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def set_suspended(doc: Document, name: str, suspended: bool, *, source: str = "the manifest") -> bool:
    """`suspend: true` (disable) or `false` (enable); False when the schedule already was that way."""
    item = find(doc, name, source=source)
    current = item.get("suspend", default(doc, "suspend") or False)
    if bool(current) == suspended:
        return False
    _set_key(item, "suspend", suspended, order=KEY_ORDER)
    return True


# -- applying Changes -----------------------------------------------------------------------------------
def _apply(doc: Document, item: CommentedMap, changes: Changes) -> None:
    from ruamel.yaml.comments import CommentedMap

    if changes.description is not None:
        if changes.description:
            _set_key(item, "description", _like(item.get("description"), changes.description), order=KEY_ORDER)
        else:
            _remove_key(item, "description")
    if changes.template is not None:
        _set_key(item, "template", changes.template, order=KEY_ORDER)
    if changes.cron is not None:
        _set_key(item, "cron", _like(item.get("cron"), changes.cron, quoted=True), order=KEY_ORDER)
    if changes.timezone is not None:
        if changes.timezone:
            _set_key(item, "timezone", _like(item.get("timezone"), changes.timezone), order=KEY_ORDER)
        else:
            _remove_key(item, "timezone")
    if changes.suspend is not None and bool(item.get("suspend", default(doc, "suspend") or False)) != changes.suspend:
        _set_key(item, "suspend", changes.suspend, order=KEY_ORDER)
    if changes.labels:
        labels = item.get("labels")
        if not isinstance(labels, CommentedMap):
            labels = CommentedMap()
            labels.fa.set_flow_style()
            _set_key(item, "labels", labels, order=KEY_ORDER)
        for key, value in changes.labels.items():
            labels[key] = value
    for key, values in (("namespaces", changes.namespaces), ("specs", changes.specs)):
        if values is None:
            continue
        values = [v for v in values if v]
        collect = item.get("collect")
        if not isinstance(collect, CommentedMap):
            if not values:
                continue
            collect = CommentedMap()
            _set_key(item, "collect", collect, order=KEY_ORDER)
        if values:
            _set_key(collect, key, _list_like(collect.get(key), values), order=COLLECT_ORDER)
        else:
            _remove_key(collect, key)
            if not collect:
                _remove_key(item, "collect")
    if changes.collectors or changes.auto:
        collect = item.get("collect")
        if not isinstance(collect, CommentedMap):
            collect = CommentedMap()
            _set_key(item, "collect", collect, order=KEY_ORDER)
        if changes.auto:
            _set_key(collect, "auto", True, order=COLLECT_ORDER)
    if changes.collectors:
        from ruamel.yaml.comments import CommentedSeq

        listed = CommentedSeq(_flow(entry) for entry in changes.collectors)   # block: `- clusterInfo: {}`
        listed.fa.set_block_style()
        _set_key(collect, "collectors", listed, order=COLLECT_ORDER)
    if changes.upload is not None:
        _set_upload(doc, item, changes.upload)
    if changes.upload_settings:
        _merge_upload(item, changes.upload_settings)
    if changes.redaction is not None:
        _set_flags(doc, item, "redact", REDACTION[changes.redaction], REDACTION["mask"],
                   order=("enabled", "redactors", "tokenize", "tokenScope"))
    if changes.analyze is not None:
        _set_flags(doc, item, "analyze", {"enabled": changes.analyze}, {"enabled": True},
                   order=("enabled", "failRun", "analyzers", "hostAnalyzers"))


def _set_flags(doc: Document, item: CommentedMap, section: str, wanted: Mapping[str, bool],
               schema_defaults: Mapping[str, bool], *, order: Sequence[str]) -> None:
    """The schedule's `section` keys that give `wanted`: a key the `defaults:` block (or the schema,
    `schema_defaults`) already gives is left out, one the schedule sets otherwise is changed, and a
    section left empty goes (its other keys, e.g. redact.tokenScope, stay as they are)."""
    from ruamel.yaml.comments import CommentedMap

    block = item.get(section)
    if not isinstance(block, CommentedMap):
        block = CommentedMap()
        block.fa.set_flow_style()
    for key, value in wanted.items():
        inherited = default(doc, section, key)
        if bool(inherited if inherited is not None else schema_defaults[key]) == value:
            _remove_key(block, key)
        else:
            _set_key(block, key, value, order=order)
    if block:
        _set_key(item, section, block, order=KEY_ORDER)
    else:
        _remove_key(item, section)


def _merge_upload(item: CommentedMap, settings: Mapping[str, Mapping[str, Any]]) -> None:
    """`upload.options` and `upload.credentials` keys set (headers merged), the rest left as it is."""
    from ruamel.yaml.comments import CommentedMap

    upload = item.get("upload")
    if not isinstance(upload, CommentedMap):
        upload = CommentedMap()
        _set_key(item, "upload", upload, order=KEY_ORDER)
    for section in ("options", "credentials"):
        given = settings.get(section) or {}
        if not given:
            continue
        block = upload.get(section)
        if not isinstance(block, CommentedMap):
            block = CommentedMap()
            block.fa.set_flow_style()
            _set_key(upload, section, block, order=("url", "options", "credentials"))
        for key, value in given.items():
            current = block.get(key)
            if key == "headers" and isinstance(current, CommentedMap):
                for name, header in value.items():
                    current[name] = _flow(header)
            else:
                _set_key(block, key, _flow(value), order=())


def _set_upload(doc: Document, item: CommentedMap, url: str) -> None:
    from ruamel.yaml.comments import CommentedMap

    upload = item.get("upload")
    if not url:   # no upload: drop the schedule's own; write `upload: null` when defaults would give one
        if default(doc, "upload", "url"):
            _set_key(item, "upload", None, order=KEY_ORDER)
        else:
            _remove_key(item, "upload")
        return
    if isinstance(upload, CommentedMap):
        _set_key(upload, "url", _like(upload.get("url"), url), order=("url", "options", "credentials"))
        return
    fresh = CommentedMap()
    fresh["url"] = url
    _set_key(item, "upload", fresh, order=KEY_ORDER)


def _like(old: Any, new: str, *, quoted: bool = False) -> Any:
    """`new` written with the quotes `old` had (a new cron is double-quoted: `*` cannot start a plain one)."""
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString

    if isinstance(old, SingleQuotedScalarString):
        return SingleQuotedScalarString(new)
    if isinstance(old, DoubleQuotedScalarString) or (quoted and not isinstance(old, str)):
        return DoubleQuotedScalarString(new)
    return new


def _flow(value: Any) -> Any:
    """`value` (lists and mappings of plain data) as flow-style ruamel nodes: `{clusterInfo: {}}`."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if isinstance(value, Mapping):
        node: Any = CommentedMap((k, _flow(v)) for k, v in value.items())
    elif isinstance(value, (list, tuple)):
        node = CommentedSeq(_flow(v) for v in value)
    else:
        return value
    node.fa.set_flow_style()
    return node


def _list_like(old: Any, values: Iterable[str]) -> CommentedSeq:
    """A list of `values` in `old`'s style: block if it was block, else flow."""
    from ruamel.yaml.comments import CommentedSeq

    seq = CommentedSeq(values)
    if isinstance(old, CommentedSeq) and old.fa.flow_style() is False and len(old):
        seq.fa.set_block_style()
    else:
        seq.fa.set_flow_style()
    return seq


# -- keys and their comments ----------------------------------------------------------------------------
def _set_key(mapping: CommentedMap, key: str, value: Any, *, order: Sequence[str]) -> None:
    """Set `key` in place, or insert it where `order` puts it, comments kept in front of what they lead."""
    if key in mapping:
        old = mapping[key]
        rest = _take_tail_lines_of_value(mapping, key) if _is_block(old) or _is_block(value) else []
        mapping[key] = value
        if rest:
            _append_tail_lines_at(mapping, key, rest)
        return
    keys = list(mapping.keys())
    rank = {k: i for i, k in enumerate(order)}
    position = len(keys)
    if key in rank:
        for i, existing in enumerate(keys):
            if rank.get(existing, len(order)) > rank[key]:
                position = i
                break
    previous = keys[position - 1] if position else None
    rest = _take_tail_lines_of_value(mapping, previous) if previous is not None else []
    mapping.insert(position, key, value)
    if rest:
        _append_tail_lines_at(mapping, key, rest)


def _remove_key(mapping: CommentedMap, key: str) -> None:
    if key not in mapping:
        return
    keys = list(mapping.keys())
    rest = _take_tail_lines_of_value(mapping, key)
    del mapping[key]
    index = keys.index(key)
    if rest and index:
        _append_tail_lines_at(mapping, keys[index - 1], rest)


def _is_block(value: Any) -> bool:
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    return isinstance(value, (CommentedMap, CommentedSeq)) and bool(value) and value.fa.flow_style() is not True


def _tail(container: Any, key: Any) -> tuple[Any, Any, int]:
    """Where the comment token at the end of `container[key]`'s last line lives: (holder, key, slot)."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    value = container[key]
    if _is_block(value):
        last = list(value.keys())[-1] if isinstance(value, CommentedMap) else len(value) - 1
        return _tail(value, last)
    return container, key, 2 if isinstance(container, CommentedMap) else 0


def _take_tail_lines_of_value(mapping: CommentedMap, key: Any) -> list[str]:
    holder, at, slot = _tail(mapping, key)
    return _split_token(holder, at, slot)


def _take_tail_lines(node: Any) -> list[str]:
    """The whole-line comments after block node `node` (a schedule), taken off it."""
    from ruamel.yaml.comments import CommentedMap

    if not node:
        return []
    last = list(node.keys())[-1] if isinstance(node, CommentedMap) else len(node) - 1
    return _take_tail_lines_of_value(node, last) if isinstance(node, CommentedMap) else \
        _split_token(*_tail(node, last))


def _split_token(holder: Any, key: Any, slot: int) -> list[str]:
    """Cut the whole-line part off a tail token, leaving its end-of-line comment; the lines cut."""
    entry = holder.ca.items.get(key)
    token = entry[slot] if entry and len(entry) > slot else None
    if token is None or "\n" not in token.value:
        return []
    head, rest = str(token.value).split("\n", 1)
    token.value = head + "\n"
    return rest.splitlines(keepends=True)


def _append_tail_lines_at(mapping: CommentedMap, key: Any, lines: list[str]) -> None:
    holder, at, slot = _tail(mapping, key)
    _append_to_token(holder, at, slot, lines)


def _append_tail_lines(node: Any, lines: list[str]) -> None:
    from ruamel.yaml.comments import CommentedMap

    last = list(node.keys())[-1] if isinstance(node, CommentedMap) else len(node) - 1
    holder, at, slot = _tail(node, last)
    _append_to_token(holder, at, slot, lines)


def _append_to_token(holder: Any, key: Any, slot: int, lines: list[str]) -> None:
    if not lines:
        return
    entry = holder.ca.items.setdefault(key, [None, None, None, None])
    while len(entry) <= slot:
        entry.append(None)
    if entry[slot] is None:
        entry[slot] = _token("\n" + "".join(lines))
    else:
        value = entry[slot].value
        entry[slot].value = (value if value.endswith("\n") else value + "\n") + "".join(lines)


def _token(value: str, column: int = 0) -> CommentToken:
    from ruamel.yaml.error import CommentMark
    from ruamel.yaml.tokens import CommentToken

    return CommentToken(value, CommentMark(column), None)


def _before(doc: Document, index: int) -> list[str]:
    """The comment lines (and blank lines) in front of schedule `index`, as text lines. Those of the
    first item sit on the `schedules` key (ruamel emits them from there); the others on the item."""
    items = doc.data["schedules"]
    tokens: list[Any] = []
    if index == 0:
        entry = doc.data.ca.items.get("schedules")
        tokens += list(entry[3] or []) if entry and len(entry) > 3 else []
    entry = items.ca.items.get(index)
    tokens += list(entry[1] or []) if entry and len(entry) > 1 else []
    lines: list[str] = []
    for token in tokens:   # a before-token keeps its indentation in its mark, not in its text
        first, *more = token.value.splitlines(keepends=True) or [""]
        lines += [" " * (token.column if first.strip() else 0) + first, *more]
    return lines


def _set_before(doc: Document, index: int, lines: list[str]) -> None:
    items = doc.data["schedules"]
    if index == 0:
        while lines and not lines[0].strip():
            lines = lines[1:]
    tokens = [_token(line.lstrip(" "), len(line) - len(line.lstrip(" "))) for line in lines]
    if index == 0:
        entry = doc.data.ca.items.setdefault("schedules", [None, None, None, None])
        entry[3] = tokens or None
        items.ca.comment = [None, tokens] if tokens else None
        if index in items.ca.items:
            items.ca.items[index][1] = None
        return
    items.ca.items.setdefault(index, [None, None, None, None])[1] = tokens or None


def _dash_column(doc: Document, item: CommentedMap) -> int:
    """The column of a schedule's `-`: its first key's, less the sequence indent, plus the offset."""
    return max(0, int(item.lc.col or 0) - (doc.indent[1] - doc.indent[2]))


def _blank_separated(doc: Document) -> bool:
    """True when most schedules after the first have a blank line above them (comments aside) in the
    original text: a new one then gets one too."""
    lines = doc.original.splitlines()
    items = [s for s in doc.data["schedules"][1:-1] if hasattr(s, "lc") and s.lc.line is not None]
    if not items or not lines:
        return False
    separated = 0
    for item in items:
        row = int(item.lc.line) - 1
        while row >= 0 and lines[row].lstrip().startswith("#"):
            row -= 1
        separated += row >= 0 and not lines[row].strip()
    return separated * 2 > len(items)


def _clear_comments_of_key(mapping: CommentedMap, key: str) -> None:
    entry = mapping.ca.items.get(key)
    if entry:
        mapping.ca.items[key] = [entry[0], entry[1], None, None]
