"""The manifest as a file: read it, parse it, validate it, normalize it, and place every problem at
FILE:LINE:COL. This is the shell around the pure `yamlio` / `schema` / `manifest` functions; it is the
only part that touches the disk (the manifest itself and the spec files it references)."""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, replace
from typing import Any

from . import schema
from ..base import yamlio
from ..base.errors import Diagnostic, ManifestError, SbschedError
from ..base.yamlio import JsonPath
from .normalize import Problem, ScheduleDefaults, ScheduleSet, normalize
from ..troubleshoot import specfiles
from ..troubleshoot.reader import SpecFile, check_file

SECTION_DEPTH = 3   # the manifest, `schedules:`, a schedule: its sections are parsed shared (yamlio.load)
MAX_MANIFEST_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class LoadResult:
    manifest: ScheduleSet | None  # None unless valid
    diagnostics: tuple[Diagnostic, ...]

    @property
    def valid(self) -> bool:
        return not self.diagnostics


def read_text(path: str) -> str:
    """The manifest's text; a missing, unreadable, oversized or non-UTF-8 file is an error (exit 2)."""
    try:
        size = os.stat(path).st_size
        if size > MAX_MANIFEST_BYTES:
            raise ManifestError(f"{path}: {size:,} bytes is over the {MAX_MANIFEST_BYTES // 2**20} MiB manifest limit")
        with open(path, "rb") as handle:
            raw = handle.read()
    except FileNotFoundError:
        raise ManifestError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ManifestError(f"{path}: is a directory, expected a manifest file") from None
    except OSError as exc:
        raise ManifestError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ManifestError(f"{path}: not UTF-8 text (invalid byte at offset {exc.start})") from None


def load_manifest(path: str, *, config: ScheduleDefaults | None = None) -> LoadResult:
    """Everything `validate` reports, in one pass; raises ManifestError only when the file can't be read.
    `config`: what the host's config files add to every schedule (diff and apply compare with that)."""
    return load_manifest_text(read_text(path), path, config=config)


def load_manifests(paths: list[str]) -> list[tuple[str, LoadResult | SbschedError]]:
    """`validate`'s files, each checked on its own (pre-commit passes several): with several, one that
    cannot be read is its error and the others are still checked; a single one raises."""
    found: list[tuple[str, LoadResult | SbschedError]] = []
    for path in paths:
        try:
            found.append((path, load_manifest(path)))
        except SbschedError as exc:
            if len(paths) == 1:
                raise
            found.append((path, exc))
    return found


def valid_manifest(path: str, *, config: ScheduleDefaults | None = None) -> ScheduleSet:
    """The manifest at `path`, which diff, apply and export need valid: else ManifestError (exit 2)
    listing every diagnostic."""
    result = load_manifest(path, config=config)
    if result.manifest is None:
        message = "\n".join(d.format() for d in result.diagnostics)
        raise ManifestError(f"{path} is invalid ({len(result.diagnostics)} error(s)):\n{message}",
                            diagnostics=result.diagnostics, hint=f"`sbsched validate -f {path}` lists them")
    return result.manifest


def load_manifest_text(text: str, path: str, *, config: ScheduleDefaults | None = None) -> LoadResult:
    """`load_manifest` of a text meant to be `path` (the edit verbs check a text before writing it);
    spec files are looked up next to `path`."""
    try:
        doc = yamlio.load(text, share_below=SECTION_DEPTH)
    except yamlio.YamlSyntaxError as exc:
        return LoadResult(None, (Diagnostic(path, exc.line, exc.column, "", exc.message),))
    if doc.empty:
        return LoadResult(None, (Diagnostic(path, 1, 1, "", "empty manifest: expected a ScheduleSet "
                                                             "(apiVersion: sbsched/v1, kind: ScheduleSet)"),))
    if not isinstance(doc.data, dict):
        kind = "a list" if isinstance(doc.data, list) else "a scalar"
        return LoadResult(None, (Diagnostic(path, 1, 1, "", f"the manifest must be a mapping (apiVersion, kind, "
                                                             f"metadata, schedules), got {kind}"),))
    problems: list[Problem] = [(p, m, True) for p, m in doc.problems]
    schema_problems = schema.validate(doc.data)
    problems += schema_problems
    invalid = frozenset(p[1] for p, _, _ in schema_problems if len(p) > 1 and p[0] == "schedules"
                        and isinstance(p[1], int))
    if any(p[:1] == ("defaults",) for p, _, _ in schema_problems):
        schedules = doc.data.get("schedules")
        invalid = frozenset(range(len(schedules))) if isinstance(schedules, list) else frozenset()
    invalid |= _using_invalid_templates(doc.data, schema_problems)
    base_dir = os.path.dirname(os.path.abspath(path))
    files: dict[str, bytes] = {}
    problems += _spec_file_problems(doc.data, base_dir, files)   # before normalize, which consumes the schedules
    manifest = None
    if isinstance(doc.data.get("schedules"), list) or doc.data.get("schedules", 0) is None:
        manifest, semantic = normalize(doc.data, base_dir=base_dir, source=path, schema_invalid=invalid,
                                       under=config.as_spec() if config is not None else None, consume=True)
        if config is not None and config.max_schedules is not None:
            manifest = replace(manifest, max_schedules=config.max_schedules)
        problems += semantic
    diagnostics = tuple(sorted({_place(path, doc.root, p) for p in problems},
                               key=lambda d: (d.line, d.column, d.path, d.message)))
    if diagnostics or manifest is None:
        return LoadResult(None, diagnostics)
    digest = hashlib.sha256()
    for start in range(0, len(text), 2**20):   # not the whole text encoded at once: 34 MB more at the peak
        digest.update(text[start:start + 2**20].encode("utf-8"))
    return LoadResult(replace(manifest, digest=digest.hexdigest(), files=files), diagnostics)


def _using_invalid_templates(data: dict[str, Any], schema_problems: list[Problem]) -> frozenset[int]:
    """The schedules whose template failed the schema: merged, their specs would not be valid either."""
    bad = {p[1] for p, _, _ in schema_problems if len(p) > 1 and p[0] == "templates"}
    if not bad:
        return frozenset()
    schedules = data.get("schedules")
    return frozenset(i for i, s in enumerate(schedules if isinstance(schedules, list) else [])
                     if isinstance(s, dict) and isinstance(s.get("template"), str) and s["template"] in bad)


def _place(file: str, root: Any, problem: Problem) -> Diagnostic:
    path, message, at_key = problem
    line, column = yamlio.locate(root, path, key=at_key)
    return Diagnostic(file, line, column, yamlio.format_path(path), message)


def _spec_file_problems(data: dict[str, Any], base_dir: str, kept: dict[str, bytes]) -> list[Problem]:
    """Checked on the raw document (not the normalized specs), so that files named in `defaults:`, in a
    template or in a schedule with other errors are checked too; each file is read once however many schedules name it,
    and the bytes of those that pass are kept in `kept`."""
    seen: dict[tuple[str, frozenset[str]], str | None] = {}
    places: list[tuple[JsonPath, Any]] = [(("defaults",), data.get("defaults"))]
    schedules = data.get("schedules")
    places += [(("schedules", i), s) for i, s in enumerate(schedules if isinstance(schedules, list) else [])]
    templates = data.get("templates")
    places += [(("templates", n), t) for n, t in (templates.items() if isinstance(templates, dict) else [])]
    problems: list[Problem] = []
    # (spec file, kinds) -> its problems inside (bad `when`s, bad Redactor fields), reported where each
    # schedule names it
    outcomes: dict[tuple[str, frozenset[str]], list[str]] = {}
    parsed: dict[str, SpecFile] = {}
    for where, block in places:
        if not isinstance(block, dict):
            continue
        for section, key, kinds in (("collect", "specs", specfiles.COLLECT_KINDS),
                                    ("redact", "redactors", specfiles.REDACT_KINDS)):
            files = (block.get(section) or {}).get(key) if isinstance(block.get(section), dict) else None
            for i, file in enumerate(files if isinstance(files, list) else []):
                if not isinstance(file, str) or not file:
                    continue
                absolute = os.path.normpath(os.path.join(base_dir, file))
                if (absolute, kinds) not in seen:
                    seen[(absolute, kinds)] = check_file(absolute, kinds, keep=kept, parsed=parsed)
                    if seen[(absolute, kinds)] is None:
                        check = _when_problems if section == "collect" else _redactor_problems
                        outcomes[(absolute, kinds)] = check(absolute, parsed[absolute])
                if error := seen[(absolute, kinds)]:
                    problems.append(((*where, section, key, i), error, False))
                problems += [((*where, section, key, i), message, False) for message in outcomes.get((absolute, kinds), [])]
    return problems


def _when_problems(path: str, spec_file: SpecFile) -> list[str]:
    """Analyzer outcomes whose `when` cannot be parsed, each placed in the spec file (FILE:LINE:COL)."""
    from ..analyze import when_diagnostics

    return [f"bad analyzer outcome: {specfiles.shown(path)}{line.removeprefix(path)}"
            for line in when_diagnostics(path, read=lambda _: spec_file)]


def _redactor_problems(path: str, spec_file: SpecFile) -> list[str]:
    """Redactor spec fields that cannot be used (types, globs, regexes), each placed in the spec file."""
    from ..redact.spec import redactor_spec_problems

    return [f"bad Redactor spec: {specfiles.shown(path)}{line.removeprefix(path)}"
            for line in redactor_spec_problems(path, read=lambda _: spec_file)]


def write_manifest(path: str, text: str, *, expected: bytes | None) -> None:
    """Replace the manifest atomically (the file's mode kept; a new one gets 0644 less the umask), unless
    it changed since it was read as `expected` (None: it did not exist): two edits at once never lose one.
    A symlink is followed, so the file it points at is the one replaced."""
    from pathlib import Path

    from ..store.atomic import atomic_write

    target = Path(os.path.realpath(path))
    try:
        current: bytes | None = target.read_bytes()
        mode = target.stat().st_mode & 0o7777
    except FileNotFoundError:
        current, mode = None, 0o666 & ~_umask()
    if current != expected:
        raise ManifestError(f"{path} changed while it was being edited; nothing was written",
                            hint="run the command again")
    atomic_write(target, text.encode("utf-8"), mode=mode)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
