"""The bundle on disk: naming, troubleshoot's metadata files, and the streaming .tar.gz.

Layout (as troubleshoot writes it): one top directory named like the archive, holding version.yaml,
analysis.json, execution-data/summary.txt, collector-errors/ and each collector's files. The archive
is written straight from the staging directory through gzip into a temp file, hashed on the way, then
renamed into place: memory stays flat whatever the bundle's size, and a failed write leaves nothing.
"""
from __future__ import annotations

import hashlib
import os
import tarfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Sequence

from ..analyze.results import Result
from ..collect import Output
from ..collect.runner import Outcome
from ..store.atomic import atomic_file
from ..store.paths import DIR_MODE, FILE_MODE, ensure_dir, new_private_dir

VERSION = "v0.1.0+sbsched"
_STATUS_LETTER = {"succeeded": "S", "skipped": "X", "failed": "F"}


@dataclass(frozen=True)
class Archive:
    path: Path
    size: int
    sha256: str


def bundle_name(now: datetime, taken: set[str]) -> str:
    """support-bundle-YYYY-MM-DDTHH_MM_SS (UTC), with -1, -2 ... when that second is taken already."""
    base = "support-bundle-" + now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H_%M_%S")
    name, n = base, 0
    while name in taken:
        n += 1
        name = f"{base}-{n}"
    return name


def claim(directory: Path, now: datetime) -> tuple[str, Path]:
    """A bundle name for a run starting at `now` that no other run has, and its staging dir, created.
    The claim is the mkdir of `.staging-<name>`, which fails when it exists: of two runs in one second
    only one gets a name. A name whose archive exists already is given back (its run has finished and
    removed its staging dir, after the archive was in place): one run never overwrites another's bundle."""
    ensure_dir(directory)
    tried: set[str] = set()
    while True:
        name = bundle_name(now, tried)
        tried.add(name)
        staging = directory / f".staging-{name}"
        try:
            new_private_dir(staging)
        except FileExistsError:
            continue
        if not any(os.path.lexists(directory / f"{name}{suffix}") for suffix in (".tar.gz", ".tar.gz.age")):
            return name, staging
        staging.rmdir()


def write_metadata(output: Output, outcomes: Sequence[Outcome], *, redaction_ms: int, duration_ms: int,
                   analyzers: Sequence[Result] = ()) -> None:
    """version.yaml, analysis.json ([] unless the analyzers wrote theirs) and execution-data/summary.txt."""
    output.write_text("version.yaml", "apiVersion: troubleshoot.sh/v1beta2\nkind: SupportBundle\nspec:\n"
                                      f"  versionNumber: {VERSION}\n")
    if not output.path("analysis.json").exists():
        output.write_text("analysis.json", "[]")
    output.write_text("execution-data/summary.txt", summary(outcomes, redaction_ms=redaction_ms,
                                                            duration_ms=duration_ms, analyzers=analyzers))


def summary(outcomes: Sequence[Outcome], *, redaction_ms: int, duration_ms: int,
            analyzers: Sequence[Result] = ()) -> str:
    """troubleshoot's execution-data/summary.txt: collectors slowest first, then redactors, analyzers."""
    rows = sorted(outcomes, key=lambda o: -o.duration_ms)
    labels = [o.spec.kind if o.spec.name == o.spec.kind else f"{o.spec.kind}/{o.spec.name}" for o in rows]
    width = max([len(f"{label} (S)") for label in labels] + [0])
    lines = ["============ Collectors summary =============", "Succeeded (S), eXcluded (X), Failed (F)",
             "============================================="]
    lines += [f"{f'{label} ({_STATUS_LETTER[o.status]})'.ljust(width)} : {o.duration_ms:,}ms"
              for label, o in zip(labels, rows)]
    lines += ["", "============ Redactors summary =============", f"Redaction : {redaction_ms:,}ms", "",
              "============= Analyzers summary =============", "Succeeded (S), eXcluded (X), Failed (F)",
              "============================================="]
    lines += [f"{result.title} ({_analyzer_letter(result)})" for result in analyzers] or ["No analyzers executed"]
    lines += ["", f"Duration: {duration_ms:,}ms"]
    return "\n".join(lines) + "\n"


def _analyzer_letter(result: Result) -> str:
    """An analyzer that ran succeeded whatever its outcome; one that could not run failed."""
    return "X" if result.outcome == "skipped" else "F" if result.error else "S"


class HashingWriter:
    """A file wrapper that hashes and counts what passes through it (the archive, its encrypted copy)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw, self.digest, self.size = raw, hashlib.sha256(), 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        return self.raw.write(data)

    def flush(self) -> None:
        self.raw.flush()


def archive(staging: Path, destination: Path) -> Archive:
    """Stream `staging` (the bundle's top directory) into `destination` (.tar.gz), atomically."""
    ensure_dir(destination.parent)
    with atomic_file(destination) as raw:
        hashing = HashingWriter(raw)
        with tarfile.open(fileobj=hashing, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:  # type: ignore[call-overload]
            tar.add(staging, arcname=staging.name, filter=_normalize)
    return Archive(destination, hashing.size, hashing.digest.hexdigest())


def _normalize(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    """No host user names or ids in the archive; symlinks are not followed out of the bundle. Directories
    0700 and files 0600 whatever they had in staging, so that whoever unpacks it gets private files."""
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    if info.isdir():
        info.mode = DIR_MODE
    elif info.isreg():
        info.mode = FILE_MODE
    return info
