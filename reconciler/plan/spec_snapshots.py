"""Spec snapshots: the troubleshoot spec files a schedule references, kept in the state dir by content.

`apply` stores the bytes of every collector, redactor and analyzer spec file a schedule names as
`spec-snapshots/<sha256>` (0600 files in a 0700 dir). The stored spec names each file by its path
relative to the manifest's directory (`collect.specs`, `redact.redactors`; a file that shares no directory
but `/` with the manifest stays absolute) and maps that path to its digest in `specFiles`. Runs read the
snapshot, never the file on disk: what was applied is what runs, after the checkout is edited or deleted
too; and the same manifest checked out at another path is the same spec, so `diff` there comes out clean.
kubeconfigs, CA files and credential files are not snapshotted: they stay references, read at run time.

Crash order: snapshots are written (each whole or not at all) before the state that references them, and
removed only under the state lock, when neither state.json nor state.json.backup references them. A
state never references a missing snapshot; a crash leaves at worst an unreferenced one (or a temp file),
which the next apply or `cleanup` removes.

A state written before snapshots holds absolute paths and no `specFiles`: its runs read those paths, as
they did, and the next apply of its set upgrades it (`upgrade`), snapshotting the files that still exist.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import posixpath
import re
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

from ..base.errors import ManifestError, SbschedError
from ..base.sections import Pool, share_sections
from ..store.atomic import atomic_write
from ..manifest.normalize import ScheduleSet
from ..store.nofollow import directory_fd, real_directory, unlink_below
from .plan import FILES
from ..troubleshoot.reader import SpecFile, read_spec_file
from ..troubleshoot.specfiles import MAX_SPEC_BYTES, read_spec_bytes, read_spec_text

if TYPE_CHECKING:
    from ..store.state import StateStore

STORE = "spec-snapshots"
_DIGEST = re.compile(r"[0-9a-f]{64}")
_TEMP = re.compile(r"\.[0-9a-f]{64}\.[^/]+\.tmp")   # atomic_file's, left by a writer killed mid-write


class SnapshotError(SbschedError):
    """A snapshot a schedule references is missing or no longer matches its digest."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def display_path(absolute: str, base_dir: str) -> str:
    """How a spec file is named in the state: relative to the manifest's directory, unless the two share
    nothing but `/` (an absolute path into the host, /etc/...), which is kept as it is."""
    if posixpath.commonpath([absolute, base_dir]) == "/":
        return absolute
    return posixpath.relpath(absolute, base_dir)


def spec_paths(spec: Mapping[str, Any]) -> list[str]:
    """The spec files a (normalized) spec reads: collect.specs, then redact.redactors, each once."""
    collect, redact = spec.get("collect") or {}, spec.get("redact") or {}
    return list(dict.fromkeys([*(collect.get("specs") or []), *(redact.get("redactors") or [])]))


def is_legacy(spec: Mapping[str, Any]) -> bool:
    """Written before snapshots: spec files named by absolute path, no digests."""
    return FILES not in spec and bool(spec_paths(spec))


def snapshot(desired: ScheduleSet) -> ScheduleSet:
    """The set as it is planned and stored: spec file paths relative to the manifest, their digests in
    `specFiles`, their bytes in `contents` (as validated, else read now), and `inputs` for a saved plan."""
    if desired.contents is not None:
        return desired
    contents: dict[str, bytes] = {}
    digests: dict[str, str] = {}

    def digest_of(path: str) -> str:
        if path not in digests:
            data = desired.files.get(path)
            if data is None:
                try:
                    data = read_spec_bytes(path)
                except OSError as exc:
                    raise ManifestError(f"cannot read spec file {path}: {exc.strerror or exc}") from None
            digests[path] = sha256(data)
            contents[digests[path]] = data
        return digests[path]

    base = os.path.dirname(os.path.abspath(desired.source)) if desired.source else os.getcwd()
    shown = functools.cache(lambda path: display_path(path, base))   # 10,000 schedules name a few files
    pool: Pool = {}   # the few distinct collect / redact / specFiles sections, each held once
    schedules = {name: share_sections(stored_form(spec, shown, digest_of=digest_of), pool, (
        "collect", "redact", FILES)) for name, spec in desired.schedules.items()}
    files = {path: digest for spec in schedules.values() for path, digest in (spec.get(FILES) or {}).items()}
    inputs = {"manifest": {"path": _shown(desired.source), "sha256": desired.digest},
              FILES: dict(sorted(files.items()))}
    return replace(desired, schedules=schedules, contents=contents, inputs=inputs)


def stored_form(spec: Mapping[str, Any], display: Callable[[str], str], *,
                digest_of: Callable[[str], str | None]) -> dict[str, Any]:
    """`spec` with its spec files named by `display` (relative to the manifest) and their digests in `specFiles`."""
    paths = spec_paths(spec)
    if not paths:
        return dict(spec)
    shown = {path: display(path) for path in paths}
    out = dict(spec)
    collect, redact = spec.get("collect") or {}, spec.get("redact") or {}
    if collect.get("specs"):
        out["collect"] = {**collect, "specs": [shown[p] for p in collect["specs"]]}
    if redact.get("redactors"):
        out["redact"] = {**redact, "redactors": [shown[p] for p in redact["redactors"]]}
    out[FILES] = {shown[path]: digest_of(path) for path in sorted(paths, key=lambda p: shown[p])}
    return out


def _shown(manifest: str) -> str:
    """The manifest as a saved plan names it: relative to the working directory when it is below it."""
    if not manifest:
        return ""
    relative = os.path.relpath(os.path.abspath(manifest))
    return manifest if relative.startswith("..") else relative


@dataclass(frozen=True)
class Upgrade:
    """A state whose schedules of one set, written before snapshots, are in snapshot form."""

    state: dict[str, Any]
    names: tuple[str, ...]          # the schedules upgraded
    contents: dict[str, bytes]      # their files' bytes by digest
    notes: tuple[str, ...]          # the files that could not be read, one line each


def upgrade(state: Mapping[str, Any], set_name: str, base_dir: str) -> Upgrade:
    """`state` with set `set_name`'s schedules written before snapshots read into snapshot form, against the
    directory of the manifest being applied; a file that cannot be read has no digest (the plan shows it
    as changed) and a note naming it. Nothing is written here: apply persists what it plans."""
    legacy = sorted(name for name, record in state["schedules"].items()
                    if record["set"] == set_name and is_legacy(record["spec"]))
    schedules = dict(state["schedules"])
    contents: dict[str, bytes] = {}
    notes: list[str] = []
    for name in legacy:
        def digest_of(path: str, name: str = name) -> str | None:
            try:
                data = read_spec_bytes(path)
            except OSError as exc:
                notes.append(f"{name}: {path}, applied before spec snapshots, cannot be read "
                             f"({exc.strerror or exc}): what changed in it cannot be shown")
                return None
            digest = sha256(data)
            contents[digest] = data
            return digest

        schedules[name] = dict(schedules[name], spec=stored_form(schedules[name]["spec"],
                                                                 lambda path: display_path(path, base_dir),
                                                                 digest_of=digest_of))
    return Upgrade(dict(state, schedules=schedules), tuple(legacy), contents, tuple(notes))


def referenced(state: Mapping[str, Any]) -> set[str]:
    """Every digest a state's schedules reference."""
    return {digest for record in state["schedules"].values() if isinstance(record.get("spec"), dict)
            for digest in (record["spec"].get(FILES) or {}).values() if isinstance(digest, str)}


def backup_references(store: StateStore) -> set[str]:
    """The digests state.json.backup references, kept too: restoring the backup (as a corrupt state's
    error suggests) must not leave its schedules without their specs. An unreadable backup: none."""
    try:
        backup = json.loads(store.backup_path.read_bytes())
        return referenced({"schedules": {n: r for n, r in backup["schedules"].items() if isinstance(r, dict)}})
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return set()


def collect_garbage(store: StateStore, *, now: datetime, command: str, dry_run: bool) -> list[str]:
    """`cleanup`: the snapshots no state references (and debris of interrupted writes), removed under the
    state lock unless `dry_run`; their names."""
    snapshots = SnapshotStore(store.root)
    if dry_run:
        return snapshots.prune(referenced(store.read()) | backup_references(store), dry_run=True)
    with store.locked(timeout=30.0, command=command, now=now):
        return snapshots.prune(referenced(store.read()) | backup_references(store))


class SnapshotStore:
    """`<state dir>/spec-snapshots/`: written and pruned under the state lock, read by runs at any time."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def read(self, digest: str, *, shown: str) -> bytes:
        """The snapshot's bytes, checked against its digest; `shown` names the spec file in errors."""
        where = f"{self.root / STORE}/{digest}"
        if not _DIGEST.fullmatch(str(digest)):
            raise SnapshotError(f"{shown}: the state names no valid snapshot for it ({digest!r})")
        try:
            with directory_fd(self.root, (STORE,)) as fd:
                handle = os.open(digest, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=fd)
                with open(handle, "rb") as stream:
                    data = stream.read(MAX_SPEC_BYTES + 1)
        except FileNotFoundError:
            raise SnapshotError(f"{shown}: its snapshot {where} is missing",
                                hint="apply the manifest again to store it") from None
        except OSError as exc:
            raise SnapshotError(f"{shown}: cannot read its snapshot {where}: {exc.strerror or exc}") from None
        if sha256(data) != digest:
            raise SnapshotError(f"{shown}: its snapshot {where} was changed after it was applied",
                                hint="apply the manifest again to store it anew")
        return data

    def write(self, contents: Mapping[str, bytes], digests: Iterable[str]) -> list[str]:
        """Store each of `digests` from `contents`, unless an intact copy is there; the ones written."""
        directory = real_directory(self.root, STORE)
        written = []
        for digest in sorted(set(digests)):
            try:
                self.read(digest, shown=digest)
                continue
            except SnapshotError:
                pass
            atomic_write(directory / digest, contents[digest])
            written.append(digest)
        return written

    def prune(self, keep: set[str], *, dry_run: bool = False) -> list[str]:
        """Remove the snapshots not in `keep`, and temp files of interrupted writes; the names removed
        (or, `dry_run`, that would be). Only under the state lock, which every writer of snapshots holds.
        Any other name there is not sbsched's and stays."""
        directory = self.root / STORE
        if not directory.is_dir():
            return []
        with directory_fd(self.root, (STORE,)) as fd:
            names = sorted(os.listdir(fd))
        gone = [name for name in names
                if (_DIGEST.fullmatch(name) and name not in keep) or _TEMP.fullmatch(name)]
        for name in [] if dry_run else gone:
            unlink_below(self.root, directory / name)
        return gone


def reader(root: Path, spec: Mapping[str, Any]) -> Callable[[str], SpecFile]:
    """How a run reads `spec`'s spec files, each parsed once however many stages ask: those in `specFiles`
    from their snapshots; any other path (a state written before snapshots, `run --from-configmap`'s
    files) from disk, as before."""
    files = spec.get(FILES) or {}
    store = SnapshotStore(root)

    def text(path: str) -> str:
        digest = files.get(path)
        if digest is None:
            return read_spec_text(path)
        try:
            return store.read(digest, shown=path).decode("utf-8")
        except UnicodeDecodeError:
            raise SnapshotError(f"{path}: its snapshot is not UTF-8 text") from None

    @functools.cache
    def read(path: str) -> SpecFile:
        return read_spec_file(path, text)
    return read


def drift(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per snapshotted spec file of a stored schedule: where it was applied from and whether the file
    there still matches (`drift`: none, changed, missing; unknown when no manifest path was recorded)."""
    manifest = (record.get("metadata") or {}).get("manifest")
    out = []
    for path, digest in sorted(((record.get("spec") or {}).get(FILES) or {}).items()):
        where = path if posixpath.isabs(path) or not manifest else \
            posixpath.normpath(posixpath.join(posixpath.dirname(manifest), path))
        state = "unknown" if where == path and not posixpath.isabs(path) else "none"
        if state == "none":
            try:
                state = "none" if sha256(read_spec_bytes(where)) == digest else "changed"
            except OSError:
                state = "missing"
        out.append({"path": path, "sha256": digest, "file": where, "drift": state})
    return out
