"""The manifest as a file: read it, parse it, validate it, normalize it, and place every problem at
FILE:LINE:COL. This is the shell around the pure `yamlio` / `schema` / `manifest` functions; it is the
only part that touches the disk (the manifest itself and the spec files it references)."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from . import schema, specfiles, yamlio
from .errors import Diagnostic, ManifestError
from .manifest import Problem, ScheduleSet, normalize

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


def load_manifest(path: str) -> LoadResult:
    """Everything `validate` reports, in one pass; raises ManifestError only when the file can't be read."""
    text = read_text(path)
    try:
        doc = yamlio.load(text)
    except yamlio.YamlSyntaxError as exc:
        return LoadResult(None, (Diagnostic(path, exc.line, exc.column, "", exc.message),))
    if doc.root is None:
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
        invalid = frozenset(range(len(doc.data.get("schedules") or [])))
    base_dir = os.path.dirname(os.path.abspath(path))
    manifest, semantic = (None, [])
    if isinstance(doc.data.get("schedules"), list):
        manifest, semantic = normalize(doc.data, base_dir=base_dir, source=path, schema_invalid=invalid)
        problems += semantic
        if manifest is not None:
            problems += _spec_file_problems(manifest, doc.data)
    diagnostics = tuple(sorted({_place(path, doc.root, p) for p in problems},
                               key=lambda d: (d.line, d.column, d.path, d.message)))
    return LoadResult(None if diagnostics else manifest, diagnostics)


def _place(file: str, root: Any, problem: Problem) -> Diagnostic:
    path, message, at_key = problem
    line, column = yamlio.locate(root, path, key=at_key)
    return Diagnostic(file, line, column, yamlio.format_path(path), message)


def _spec_file_problems(manifest: ScheduleSet, data: dict[str, Any]) -> list[Problem]:
    """Each referenced file is read once, however many schedules name it."""
    seen: dict[tuple[str, frozenset[str]], str | None] = {}
    problems: list[Problem] = []
    raw_by_name = {s["name"]: (i, s) for i, s in enumerate(data["schedules"]) if isinstance(s, dict)}
    for name, spec in manifest.schedules.items():
        index, raw = raw_by_name[name]
        for section, key, kinds in (("collect", "specs", specfiles.COLLECT_KINDS),
                                    ("redact", "redactors", specfiles.REDACT_KINDS)):
            for i, file in enumerate(spec[section][key]):
                if (file, kinds) not in seen:
                    seen[(file, kinds)] = specfiles.check_file(file, kinds)
                error = seen[(file, kinds)]
                if error:
                    own = key in (raw.get(section) or {})
                    where = ("schedules", index, section, key, i) if own else ("defaults", section, key, i)
                    problems.append((where, error, False))
    return problems
