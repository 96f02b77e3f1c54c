"""Tokenized redaction on the host: a run's salt, where its tokens landed, and its token map.

The map (token → value, type, and where each was found: bundle file and line) holds every secret
the bundle no longer does, so it is written only here, `redaction-maps/<execution-id>.json` in the
state dir (0600), never into the bundle or an upload; with `encrypt.ageRecipients` it is kept only
age-encrypted, `<execution-id>.json.age`, like the bundle. It goes with its run: retention and
`cleanup` remove it with the run's record. A schedule with `tokenScope: schedule` keeps one salt,
`redaction-salts/<schedule>` (0600, made once), so its tokens are the same from run to run; with
`run` (the default) each run draws a new one and keeps none.
"""
from __future__ import annotations

import base64
import contextlib
import errno
import gzip
import io
import json
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from ..base.errors import NotFound, SbschedError, UnsafePath
from ..redact.masker import TOKEN
from ..redact.tokens import Tokenizer
from ..redact.tree import GZIP_MAGIC
from ..store.atomic import atomic_write
from ..store.nofollow import real_directory

MAPS = "redaction-maps"
SALTS = "redaction-salts"
ENCRYPTED = ".age"
SALT_BYTES = 32
LOCATIONS = 100            # kept per token; `occurrences` counts them all
BLOCK = 1 << 20
TOKEN_LENGTH = 64          # no token is longer: a match starting this far before a block's end is whole
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,252}")


class EncryptedMap(SbschedError):
    """The map is age-encrypted: sbsched holds no identity to read it."""


@dataclass
class Found:
    """Where one token is in the bundle."""

    occurrences: int = 0
    locations: list[tuple[str, int]] = field(default_factory=list)


@dataclass
class TokenRun:
    """A tokenizing run: its tokenizer, and what `locate` found in the redacted files."""

    tokenizer: Tokenizer
    scope: str
    found: dict[str, Found] = field(default_factory=dict)

    def locate(self, root: Path, files: Iterable[str]) -> None:
        """Find each token in the redacted files (those the report says were changed), line by line,
        before the staging directory goes: the map says where each value was, in the bundle's terms."""
        for relative in sorted(files):
            for line, token in _tokens_in(root / relative):
                if token in self.tokenizer.tokens:
                    found = self.found.setdefault(token, Found())
                    found.occurrences += 1
                    if len(found.locations) < LOCATIONS:
                        found.locations.append((relative, line))

    def save(self, root: Path, run_id: str, schedule: str, recipients: list[str] | None) -> dict[str, Any]:
        """Write the map (nothing when no token made it into the bundle); the record's summary of it."""
        by_type: Counter[str] = Counter()
        for token, found in self.found.items():
            by_type[self.tokenizer.tokens[token].type] += found.occurrences
        path = None
        if self.found:
            path = write_map(root, run_id, self.document(run_id, schedule), recipients)
        return {"scope": self.scope, "unique": len(self.found), "byType": dict(sorted(by_type.items())),
                "map": str(path) if path else None}

    def document(self, run_id: str, schedule: str) -> dict[str, Any]:
        tokens = {}
        for token in sorted(self.found):
            entry, found = self.tokenizer.tokens[token], self.found[token]
            tokens[token] = {"type": entry.type, **_value(entry.value), "occurrences": found.occurrences,
                             "locations": [{"file": file, "line": line} for file, line in found.locations]}
        return {"formatVersion": 1, "executionId": run_id, "schedule": schedule, "scope": self.scope,
                "tokens": tokens}


def start(root: Path, schedule: str, redact: Mapping[str, Any], *, hidden: Iterable[str]) -> TokenRun | None:
    """The run's tokenizer when its schedule tokenizes (redaction on and `tokenize: true`), else None."""
    if not (redact.get("enabled", True) and redact.get("tokenize")):
        return None
    scope = redact.get("tokenScope") or "run"
    salt = schedule_salt(root, schedule) if scope == "schedule" else os.urandom(SALT_BYTES)
    return TokenRun(Tokenizer(salt, hidden=[value.encode() for value in hidden]), scope)


def schedule_salt(root: Path, schedule: str) -> bytes:
    """The schedule's kept salt, made on first use (two runs racing both read the one that won)."""
    path = real_directory(root, SALTS) / schedule
    try:
        atomic_write(path, os.urandom(SALT_BYTES).hex().encode() + b"\n", exclusive=True)
    except FileExistsError:
        pass
    text = _read(path).strip()
    if not re.fullmatch(rb"[0-9a-f]{%d}" % (2 * SALT_BYTES), text):
        raise SbschedError(f"{path} is not a salt ({2 * SALT_BYTES} hex digits)",
                           hint="remove it to start a new one: the schedule's tokens will change")
    return bytes.fromhex(text.decode())


def _read(path: Path) -> bytes:
    """A file of the layout, never through a link."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafePath(f"{path} is a symbolic link; sbsched does not follow links inside its "
                             "directories") from None
        raise
    with open(fd, "rb") as handle:
        return handle.read()


def _tokens_in(path: Path) -> Iterator[tuple[int, str]]:
    """(line number, token) for every token-shaped text in the file, read in blocks."""
    line, rest = 1, b""
    with _text_of(path) as source:
        while True:
            chunk = source.read(BLOCK)
            data = rest + chunk
            cut = len(data) - TOKEN_LENGTH if chunk else len(data)   # a token after `cut` may be cut off
            counted = end = 0      # newlines are counted up to `counted`
            for match in TOKEN.finditer(data):
                if match.start() >= cut:
                    break
                line += data.count(b"\n", counted, match.start())
                counted, end = match.start(), match.end()
                yield line, match[0].decode()
            if not chunk:
                return
            keep = max(cut, end, 0)   # the next block starts here: after the last token taken
            line += data.count(b"\n", counted, keep)
            rest = data[keep:]


@contextlib.contextmanager
def _text_of(path: Path) -> Iterator[io.BufferedIOBase]:
    """The file's text: a gzip file decompressed (redaction masks inside one, engine.py), so its lines are
    those of the text it holds."""
    with open(os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC), "rb") as raw:
        compressed = raw.read(len(GZIP_MAGIC)) == GZIP_MAGIC
        raw.seek(0)
        if not compressed:
            yield raw
            return
        with gzip.GzipFile(fileobj=raw, mode="rb") as inflated:
            yield inflated


def _value(value: bytes) -> dict[str, str]:
    """The value as JSON holds it: text, or base64 when it is not UTF-8."""
    try:
        return {"value": value.decode("utf-8")}
    except UnicodeDecodeError:
        return {"valueBase64": base64.b64encode(value).decode()}


def write_map(root: Path, run_id: str, document: Mapping[str, Any], recipients: list[str] | None) -> Path:
    """The map, 0600, written whole or not at all; only age-encrypted when the schedule has recipients."""
    data = (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    name = f"{run_id}.json"
    if recipients:
        import pyrage

        from .encryption import recipients_of

        data, name = pyrage.encrypt(data, recipients_of(recipients)), name + ENCRYPTED
    path = real_directory(root, MAPS) / name
    atomic_write(path, data)
    return path


def map_path(root: Path, run_id: str) -> Path | None:
    """The run's map, plain or encrypted, if it has one."""
    if not _ID.fullmatch(run_id):
        return None
    for name in (f"{run_id}.json", f"{run_id}.json{ENCRYPTED}"):
        path = root / MAPS / name
        if os.path.lexists(path):
            return path
    return None


def load_map(root: Path, run_id: str) -> dict[str, Any]:
    """The run's map; NotFound when it has none, EncryptedMap (saying how to read it) when encrypted."""
    path = map_path(root, run_id)
    if path is None:
        raise NotFound(f"no redaction map for execution {run_id!r}",
                       hint="maps exist for runs of schedules with redact.tokenize that masked something, "
                            "until retention removes the run; `sbsched history` lists the runs")
    if path.name.endswith(ENCRYPTED):
        raise EncryptedMap(f"the redaction map of {run_id} is age-encrypted to the schedule's "
                           f"encrypt.ageRecipients: {path}",
                           hint=f"decrypt it with an identity: age -d -i KEY_FILE {path}")
    try:
        document = json.loads(_read(path))
    except ValueError:
        document = None
    if not isinstance(document, dict) or not isinstance(document.get("tokens"), dict):
        raise SbschedError(f"{path} is not a redaction map (not the JSON sbsched writes)")
    return document


def token_entry(document: Mapping[str, Any], run_id: str, token: str) -> dict[str, Any]:
    """One token of run `run_id`'s map `document`: its type, value and places. Raises NotFound."""
    entry = document["tokens"].get(token)
    if entry is None:
        raise NotFound(f"no token {token!r} in the redaction map of {run_id}",
                       hint=f"`sbsched redaction-map {run_id}` lists its {len(document['tokens'])} token(s)")
    return dict(entry)
