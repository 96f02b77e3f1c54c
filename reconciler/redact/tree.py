"""Redaction of a staged bundle directory, in place, file by file, with flat memory.

A file is read in blocks of whole lines. A block none of whose lines holds a rule's needle (see
builtin.py) is copied as is: most of a log is, and it costs a few `bytes.find` calls, not a regex a
line. Lines that do hold one go through the rules in order, as troubleshoot pipes a file through its
redactors: built-ins first, then each Redactor spec's values and regexes. yamlPath removals run before
the lines, on the original text, while it still parses. A JSON or YAML file must come out a document
of the same structure (structure.py): one that would not is redacted value by value instead.

Output goes to a temporary file beside the original (mode 0600), which replaces it only if something
was masked. A gzip-compressed file is redacted inside, decompressed to a temporary file beside it and
compressed again. A file that is not text (a NUL in its first 8 KiB, compressed or not: archives,
binaries) is not scanned and the report says so; anything that is not a regular file (symlinks,
wherever they point) is left alone.
"""
from __future__ import annotations

import gzip
import io
import os
import re
import shutil
import stat
import tempfile
import zlib
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import IO, Any, Callable, Iterator, NamedTuple, Sequence

import yaml
from yaml.events import (CollectionEndEvent, CollectionStartEvent, DocumentStartEvent, Event,
                         MappingStartEvent, NodeEvent, ScalarEvent)

from . import structure
from .builtin import BUILTIN_RULES, Rule, Session, secret_key
from .masker import Masker, masked, quoted, unquoted, using
from .spec import Redactor

BLOCK = 1 << 20            # bytes read at a time
LINE_LIMIT = 4 << 20       # a longer line is cut (at a `}` or space if it has one) to keep memory flat
BINARY_SNIFF = 8192
GZIP_MAGIC = b"\x1f\x8b"
GZIP_LEVEL = 6             # what the bundle's own archive uses


@dataclass
class RedactionReport:
    """What was masked: counts only, never a value; and the files that were not scanned, with why."""

    count: int = 0
    by_redactor: dict[str, int] = field(default_factory=dict)
    by_file: dict[str, int] = field(default_factory=dict)
    not_scanned: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"count": self.count, "byRedactor": dict(self.by_redactor), "byFile": dict(self.by_file),
                "notScanned": dict(self.not_scanned)}

    def add(self, path: str, counts: Counter[str]) -> None:
        total = sum(counts.values())
        if not total:
            return
        self.count += total
        self.by_file[path] = self.by_file.get(path, 0) + total
        for name, count in counts.items():
            self.by_redactor[name] = self.by_redactor.get(name, 0) + count


YamlPaths = Sequence[tuple[str, tuple[str, ...]]]   # (redactor name, path) pairs


class NotText(Exception):
    """The file is not scanned; the message says why (`binary`, `unreadable gzip`)."""


def redact_tree(root: Path, *, builtin: bool = True, redactors: Sequence[Redactor] = (),
                masker: Masker | None = None) -> RedactionReport:
    """Mask secrets in every regular file under `root` (a bundle's top directory), in place; each
    masked value becomes what `masker` gives (default: ***HIDDEN***)."""
    if not root.is_dir():
        raise NotADirectoryError(f"not a directory: {root}")
    with using(masker):
        return _redact_files(root, builtin, redactors)


def _redact_files(root: Path, builtin: bool, redactors: Sequence[Redactor]) -> RedactionReport:
    report = RedactionReport()
    for path, relative in _regular_files(root):
        rules = [rule for rule in BUILTIN_RULES if rule.applies_to(relative)] if builtin else []
        yaml_paths: list[tuple[str, tuple[str, ...]]] = []
        for redactor in redactors:
            if redactor.selects(relative):
                rules += redactor.rules
                yaml_paths += [(redactor.name, yaml_path) for yaml_path in redactor.yaml_paths]
        if rules or yaml_paths:
            try:
                report.add(relative, _redact_file(path, relative, _Rules(rules, yaml_paths, builtin)))
            except NotText as reason:
                report.not_scanned[relative] = str(reason)
    return report


@dataclass(frozen=True)
class _Rules:
    """What runs on one file: its line rules, its yamlPaths, and whether a secret's name masks a value
    when the file is redacted value by value (the built-ins are on)."""

    lines: Sequence[Rule]
    yaml_paths: YamlPaths
    secret_keys: bool


def _regular_files(root: Path) -> Iterator[tuple[Path, str]]:
    """Regular files in a stable order. os.walk lists a linked directory but never enters it, and lstat
    leaves out linked files: nothing outside `root` is reached (a link's target inside it is redacted
    where it lies)."""
    for directory, subdirectories, names in os.walk(root):
        subdirectories.sort()
        for name in sorted(names):
            path = Path(directory, name)
            if stat.S_ISREG(os.lstat(path).st_mode):
                yield path, path.relative_to(root).as_posix()


def _redact_file(path: Path, relative: str, rules: _Rules) -> Counter[str]:
    """yamlPath first, on the text as collected (a masked line may no longer parse), then the lines.
    NotText when the file is not text."""
    counts: Counter[str] = Counter()
    with _open(path) as source:
        head = source.read(BINARY_SNIFF)
    if head.startswith(GZIP_MAGIC):
        return _redact_compressed(path, relative.removesuffix(".gz"), rules)
    if b"\0" in head:
        raise NotText("binary")
    if rules.yaml_paths:
        _rewrite(path, lambda source, out: _yaml_stage(source, out, rules.yaml_paths, counts))
    if rules.lines:
        kind = structure.kind_of(relative, head)
        _rewrite(path, lambda source, out: _line_stage(source, out, rules, counts, kind))
    return counts


def _redact_compressed(path: Path, relative: str, rules: _Rules) -> Counter[str]:
    """The text inside a gzip file, streamed: decompressed to a 0600 temporary file beside it, redacted
    there like any file, and compressed again only if something was masked."""
    descriptor, plain = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".plain")
    try:
        with open(descriptor, "wb") as out, gzip.open(_open(path)) as inflated:
            head = inflated.read(BINARY_SNIFF)
            if b"\0" in head:   # a tar (ustar headers are NUL-padded) or any other binary
                raise NotText("binary")
            out.write(head)
            shutil.copyfileobj(inflated, out, BLOCK)
    except (EOFError, zlib.error, gzip.BadGzipFile):
        os.unlink(plain)
        raise NotText("unreadable gzip") from None
    except BaseException:
        os.unlink(plain)
        raise
    try:
        os.chmod(plain, 0o600)
        counts = _redact_file(Path(plain), relative, rules)
        if counts:
            _rewrite(path, lambda _, out: _compress(plain, out))
        return counts
    finally:
        os.unlink(plain)


def _compress(plain: str, descriptor: int) -> bool:
    with open(plain, "rb") as source, open(descriptor, "wb", closefd=False) as raw, \
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=GZIP_LEVEL, mtime=0) as out:
        shutil.copyfileobj(source, out, BLOCK)
    return True


def _open(path: Path | str) -> IO[bytes]:
    return open(os.open(path, os.O_RDONLY | os.O_NOFOLLOW), "rb")


def _rewrite(path: Path, stage: Callable[[IO[bytes], int], bool]) -> None:
    """Run `stage` from the file into a 0600 temporary file beside it, which replaces the file if the
    stage changed anything and is removed otherwise (or on any error)."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".redacting")
    try:
        os.fchmod(descriptor, 0o600)
        with _open(path) as source:
            changed = stage(source, descriptor)
        os.close(descriptor)
        descriptor = -1
        if changed:
            os.replace(temporary, path)
    finally:
        if descriptor >= 0:
            os.close(descriptor)
        if os.path.exists(temporary):
            os.unlink(temporary)


# --- lines ------------------------------------------------------------------------------------------

def _line_stage(source: IO[bytes], descriptor: int, rules: _Rules, counts: Counter[str],
                kind: structure.Kind | None) -> bool:
    found: Counter[str] = Counter()
    with open(descriptor, "wb", buffering=BLOCK, closefd=False) as out:
        _redact_lines(source, out, rules.lines, found)
    # a YAML scalar may be folded over lines the rules see one at a time: a YAML file is read as a document
    # even when the lines masked nothing
    if kind is not None and (found or kind == "yaml"):
        _keep_structure(source, descriptor, rules, found, kind)
    counts.update(found)
    return bool(found)


def _keep_structure(source: IO[bytes], descriptor: int, rules: _Rules, found: Counter[str],
                    kind: structure.Kind) -> None:
    """If the file was a document and the redacted text is not one of the same shape, or a secret's name
    still holds an unmasked value in it, redact the original value by value instead (`found` then
    counts that pass)."""
    if os.fstat(source.fileno()).st_size > structure.LIMIT:
        return
    source.seek(0)
    original = source.read()
    documents = structure.parse(kind, original)
    if documents is None:
        return
    secret_keys = _secret_key if rules.secret_keys else None
    redacted = structure.parse(kind, os.pread(descriptor, 2 * structure.LIMIT, 0)) if found else documents
    whole = redacted is not None and (not found or structure.kept(documents, redacted))
    if whole and not (secret_keys and structure.leaks(redacted or [], secret_keys)):
        return
    documents = structure.parse(kind, original) or []   # afresh: `leaks` may have changed them
    found.clear()
    masked = structure.redact_document(documents, lambda text: _redact_text(text, rules.lines, found),
                                       secret_keys, _mask_value)
    if masked:
        found["secret-assignment"] += masked
    os.ftruncate(descriptor, 0)
    os.pwrite(descriptor, structure.dump(kind, documents, original), 0)


def _secret_key(name: str) -> bool:
    return secret_key(name.encode("utf-8", "surrogatepass"))


def _mask_value(value: str, key: str) -> str:
    """A parsed document's value under a secret's name, masked by the run's masker."""
    return masked(value.encode("utf-8", "surrogatepass"), key.encode("utf-8", "surrogatepass")).decode(
        "utf-8", "surrogatepass")


def _redact_text(text: str, rules: Sequence[Rule], counts: Counter[str]) -> str:
    """One string value through the line rules."""
    out = io.BytesIO()
    _redact_lines(io.BytesIO(text.encode("utf-8", "surrogatepass")), out, rules, counts)
    return out.getvalue().decode("utf-8", "surrogatepass")


def _redact_lines(source: IO[bytes], out: IO[bytes], rules: Sequence[Rule], counts: Counter[str]) -> None:
    """Copy `source` to `out`, feeding the rules only the lines that can concern them."""
    lines = _Lines(rules, counts)
    previous = b""
    for block in _blocks(source):
        view = memoryview(block)
        hits = lines.line_starts(block)
        upcoming = iter(hits)
        pos, size = 0, len(block)
        while pos < size:
            if not lines.every_line and not lines.pending:   # skip to the next line with a needle
                start = next((s for s in upcoming if s >= pos), size)
                out.write(view[pos:start])
                pos = start
                if pos == size:
                    break
            end = block.find(b"\n", pos) + 1 or size
            out.write(lines.feed(block[pos:end], _line_before(block, pos) if pos else previous,
                                 hits.get(pos, _NOTHING)))
            pos = end
        previous = _line_before(block, size)


def _line_before(data: bytes, end: int) -> bytes:
    """The line that ends at `end` (a line start, or the end of the data), without its newline."""
    stop = end - 1 if end and data[end - 1] == 10 else end
    return data[data.rfind(b"\n", 0, stop) + 1:stop]


def _blocks(source: IO[bytes]) -> Iterator[bytes]:
    """Blocks of whole lines; a line longer than LINE_LIMIT is cut, preferably after a `}` or a space,
    so that no record (a JSON object, a `name=value`) is split where that can be helped."""
    rest = b""
    while chunk := source.read(BLOCK):
        data = rest + chunk if rest else chunk
        cut = data.rfind(b"\n") + 1
        if not cut:
            if len(data) < LINE_LIMIT:
                rest = data
                continue
            half = len(data) // 2
            cut = max(data.rfind(b"}", half), data.rfind(b" ", half)) + 1 or len(data)
        yield data[:cut]
        rest = data[cut:]
    if rest:
        yield rest


Needle = bytes | re.Pattern[bytes]   # a needle, or a rule's `scan`
_NOTHING: frozenset[Needle] = frozenset()


@dataclass(frozen=True)
class _Needles:
    """What a list of rules searches a block for, worked out once per list (files share their rules)."""

    needles: tuple[tuple[bytes, tuple[bytes, ...]], ...]          # raw needles, each with its gate
    folded: tuple[tuple[bytes, tuple[bytes, ...]], ...]           # searched in the lowercased block
    scans: tuple[tuple[re.Pattern[bytes], tuple[bytes, ...]], ...]
    keys: tuple[frozenset[Needle], ...]   # per rule: the searched needles that make it worth a closer look
    asks: tuple[tuple[tuple[bytes, ...], tuple[bytes, ...], tuple[bytes, ...]], ...]   # per rule: needles,
    #                                                                                   folded, requires

    @staticmethod
    @lru_cache(maxsize=64)
    def of(rules: tuple[Rule, ...]) -> _Needles:
        # a line with `"key"` has `key`, so only `key` is searched for
        folded = _minimal({needle for rule in rules for needle in rule.folded})
        raw = [needle for needle in _minimal({needle for rule in rules for needle in rule.needles})
               if not any(f in needle.lower() for f in folded)]
        scans = list(dict.fromkeys(rule.scan for rule in rules if rule.scan is not None))
        return _Needles(
            tuple((needle, _gate(needle, folded=False)) for needle in raw),
            tuple((needle, _gate(needle, folded=True)) for needle in folded),
            # a scan's pattern starts with a literal letter (see builtin.Rule.scan): its gate
            tuple((scan, _gate(scan.pattern[:1], folded=False, single=True)) for scan in scans),
            tuple(frozenset([*(n for n in raw if any(n in own for own in rule.needles)),
                             *(f for f in folded if any(f in own.lower() for own in rule.needles + rule.folded)),
                             *(scan for scan in scans if scan is rule.scan)]) for rule in rules),
            tuple((rule.needles, rule.folded, rule.requires) for rule in rules))


class _Lines:
    """One file's rules with their state, and the needles that pick the lines they must see."""

    def __init__(self, rules: Sequence[Rule], counts: Counter[str]) -> None:
        # (rule, session, whether it sees every line); a stateless rule is its own session
        self.sessions = [(rule, rule.open(), rule.every_line) for rule in rules]
        self.stateful = [(index, session) for index, (rule, session, _) in enumerate(self.sessions)
                         if not isinstance(rule, Session)]
        self.every_line = any(rule.every_line for rule in rules)
        plan = _Needles.of(tuple(rules))
        self.needles, self.folded, self.scans, self.keys, self.asks = (plan.needles, plan.folded, plan.scans,
                                                                       plan.keys, plan.asks)
        self.candidates: dict[frozenset[Needle], tuple[int, ...]] = {}   # a line's needles -> rules to look at
        self.counts = counts

    @property
    def pending(self) -> bool:
        return any(session.pending for _, session in self.stateful)

    def line_starts(self, block: bytes) -> dict[int, frozenset[Needle]]:
        """The lines of `block` that hold a needle: their offsets, with the needles each holds. A needle is
        searched for only if its gate byte is in the block: one memchr, ~40x cheaper than a `find` of the
        needle itself, so a block without the letters the needles need (random hex) costs almost nothing."""
        found: dict[int, set[Needle]] = {}
        seen: dict[bytes, bool] = {}

        def open_gate(gate: tuple[bytes, ...]) -> bool:
            for byte in gate:
                if byte not in seen:
                    seen[byte] = block.find(byte) >= 0
            return not gate or any(seen[byte] for byte in gate)

        lowered = b""
        for text_needles, is_folded in ((self.needles, False), (self.folded, True)):
            for needle, gate in text_needles:
                if open_gate(gate):
                    if is_folded and not lowered:
                        lowered = block.lower()
                    _mark(lowered if is_folded else block, needle, found)
        for scan, gate in self.scans:
            if open_gate(gate):
                for match in scan.finditer(block):
                    found.setdefault(block.rfind(b"\n", 0, match.start()) + 1, set()).add(scan)
        return {start: frozenset(needles) for start, needles in sorted(found.items())}

    def _candidates(self, found: frozenset[Needle]) -> tuple[int, ...]:
        """The rules (indices) a line holding these needles may concern, and those that see every line
        (lines repeat their needles: cached)."""
        chosen = self.candidates.get(found)
        if chosen is None:
            chosen = self.candidates[found] = tuple(
                index for index, keys in enumerate(self.keys) if self.sessions[index][2] or not keys.isdisjoint(found))
        return chosen

    def feed(self, line: bytes, previous: bytes, found: frozenset[Needle]) -> bytes:
        """The line through every rule that concerns it; `found`: the needles line_starts found on it. A rule
        it may concern is asked precisely, on the line as the rules before left it: one of its own needles
        (`"key"`, not only the `key` searched for) and everything it requires."""
        newline = line.endswith(b"\n")
        body = line[:-1] if newline else line
        order = self._candidates(found)
        pending = [index for index, session in self.stateful if session.pending]
        if pending:
            order = tuple(sorted({*order, *pending}))
        lowered = b""
        for index in order:
            rule, session, every_line = self.sessions[index]
            if not (session.pending or every_line):
                lowered = lowered or body.lower()
                needles, folded, requires = self.asks[index]
                if not (((rule.scan is not None and rule.scan in found) or any(map(body.__contains__, needles))
                         or any(map(lowered.__contains__, folded))) and all(map(lowered.__contains__, requires))):
                    continue
            new, count = session.feed(body, previous)
            if count:
                self.counts[rule.name] += count
            if new is not body:
                body, lowered = new, b""
        return body + b"\n" if newline else body


def _mark(text: bytes, needle: bytes, found: dict[int, set[Needle]]) -> None:
    """Record `needle` on every line of `text` that holds it (by the line's start)."""
    at = text.find(needle)
    while at >= 0:
        found.setdefault(text.rfind(b"\n", 0, at) + 1, set()).add(needle)
        next_line = text.find(b"\n", at) + 1
        at = text.find(needle, next_line) if next_line else -1


_RARITY = b"zqxjkvbpygfwmucldrhsnioate"   # English letters, the rarest first


def _gate(needle: bytes, *, folded: bool, single: bool = False) -> tuple[bytes, ...]:
    """Bytes one of which a block must hold for `needle` to be in it: its rarest letter (either case when
    the needle is searched in the lowercased block). None for a one-byte needle, itself a memchr."""
    letters = [byte for byte in needle.lower() if byte in _RARITY]
    if (len(needle) < 2 and not single) or not letters:
        return ()
    rarest = min(letters, key=_RARITY.index)
    if folded:
        return bytes([rarest]), bytes([rarest]).upper()
    at = needle.lower().index(rarest)
    return (needle[at:at + 1],)


def _minimal(needles: set[bytes]) -> list[bytes]:
    """The needles that hold no other."""
    return sorted(n for n in needles if not any(other != n and other in n for other in needles))


# --- yamlPath ---------------------------------------------------------------------------------------

YamlKey = str | int


class _Span(NamedTuple):
    start: int        # character offsets in the text
    end: int
    redactor: str
    keyed: bool       # a mapping value: the span starts right after its key


@dataclass
class _Frame:
    """A collection being read: its path from the document root (None inside a complex key)."""

    path: tuple[YamlKey, ...] | None
    is_map: bool
    key: str | None = None     # the key whose value comes next (mappings)
    key_end: int = 0           # where that key ends in the text
    wants_key: bool = True
    index: int = 0             # the next item's index (sequences)
    masked: _Span | None = None  # this whole collection is masked; its end is known at its end event


def _yaml_stage(source: IO[bytes], descriptor: int, yaml_paths: YamlPaths, counts: Counter[str]) -> bool:
    try:
        with _text(source) as text:
            spans = _walk_events(yaml.parse(text, Loader=yaml.CSafeLoader), yaml_paths)
    except (yaml.YAMLError, UnicodeDecodeError):
        return False   # not YAML or JSON: nothing a yamlPath can select
    if not spans:
        return False
    source.seek(0)
    with _text(source) as text, open(descriptor, "w", encoding="utf-8", newline="", closefd=False) as out:
        _splice_text(_CharReader(text), out, spans)
    counts.update(span.redactor for span in spans)
    return True


def _text(source: IO[bytes]) -> IO[str]:
    """The file as UTF-8 text, newlines untouched (the parser's offsets count every character)."""
    return open(source.fileno(), encoding="utf-8", newline="", closefd=False)


def _selects(pattern: tuple[str, ...], path: tuple[YamlKey, ...]) -> bool:
    """troubleshoot's yamlPath: dotted keys, `*` for every key or item, a number for a list index."""
    return len(pattern) == len(path) and all(
        want == "*" or (want == have if isinstance(have, str) else want.isdigit() and int(want) == have)
        for want, have in zip(pattern, path))


def _walk_events(events: Iterator[Event], yaml_paths: YamlPaths) -> list[_Span]:
    """The spans the paths select, from the parser's event stream: no document tree is built, so a
    large file costs time, not memory. A selected collection is masked whole, once."""
    spans: list[_Span] = []
    stack: list[_Frame] = []
    for event in events:
        if isinstance(event, DocumentStartEvent):
            stack = []
        elif isinstance(event, CollectionEndEvent):
            masked = stack.pop().masked
            if masked is not None:
                spans.append(masked._replace(end=_marks(event)[1]))
        elif isinstance(event, NodeEvent):
            path, start, keyed = _place(stack, event)
            span = None
            if path and not any(frame.masked for frame in stack):
                redactor = next((name for name, pattern in yaml_paths if _selects(pattern, path)), None)
                if redactor is not None:
                    span = _Span(start, _marks(event)[1], redactor, keyed)
            if isinstance(event, CollectionStartEvent):
                stack.append(_Frame(path, isinstance(event, MappingStartEvent), masked=span))
            elif span is not None:
                spans.append(span)
    return spans


def _place(stack: list[_Frame], event: NodeEvent) -> tuple[tuple[YamlKey, ...] | None, int, bool]:
    """The node's path (None for a key, or inside one) and where its span starts: right after its key
    in a mapping, so that `key: <anything, any style>` becomes `key: "***HIDDEN***"`."""
    start, end = _marks(event)
    if not stack:
        return (), start, False
    parent = stack[-1]
    if parent.is_map and parent.wants_key:
        parent.wants_key = False
        parent.key = event.value if isinstance(event, ScalarEvent) else None
        parent.key_end = end
        return None, start, False
    component: YamlKey | None
    keyed = parent.is_map
    if keyed:
        parent.wants_key = True
        component, start = parent.key, parent.key_end
    else:
        component = parent.index
        parent.index += 1
    if parent.path is None or component is None:
        return None, start, keyed
    return parent.path + (component,), start, keyed


def _marks(event: Event) -> tuple[int, int]:
    """The event's start and end offsets (the parser always sets both; the stubs allow None)."""
    start, end = event.start_mark, event.end_mark
    assert start is not None and end is not None
    return start.index, end.index


class _CharReader:
    """A text stream read by absolute character offsets (the parser's marks count characters)."""

    def __init__(self, text: IO[str]) -> None:
        self.text = text
        self.buffer = ""
        self.at = 0        # position in buffer
        self.offset = 0    # absolute offset of buffer[at]

    def take(self, end: int | None) -> Iterator[str]:
        """The text from the current offset up to `end` (None: to the end)."""
        while end is None or self.offset < end:
            if self.at == len(self.buffer):
                self.buffer, self.at = self.text.read(BLOCK), 0
                if not self.buffer:
                    return
            stop = len(self.buffer) if end is None else min(len(self.buffer), self.at + end - self.offset)
            yield self.buffer[self.at:stop]
            self.offset += stop - self.at
            self.at = stop


def _splice_text(reader: _CharReader, out: IO[str], spans: Sequence[_Span]) -> None:
    """Copy the text, replacing each span; its trailing whitespace is kept (a block collection's span
    runs to the next line), so the lines around it stay as they were."""
    for span in spans:
        out.writelines(reader.take(span.start))
        trailing = ""
        pieces = []
        for piece in reader.take(span.end):
            pieces.append(piece)
            kept = piece.rstrip()
            trailing = piece[len(kept):] if kept else trailing + piece
        mask = masked(_scalar("".join(pieces)), span.redactor.encode())
        out.write((": " if span.keyed else "") + quoted(mask).decode() + trailing)
    out.writelines(reader.take(None))


def _scalar(text: str) -> bytes:
    """A span's value as the masker sees it: without the `: ` after its key, and without the quotes
    of a quoted scalar (masker.unquoted)."""
    return unquoted(text.strip().removeprefix(":").strip().encode())
