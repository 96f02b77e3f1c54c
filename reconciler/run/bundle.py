"""The bundle on disk: naming, troubleshoot's metadata files, and the streaming .tar.gz.

Layout (as troubleshoot writes it): one top directory named like the archive, holding version.yaml,
analysis.json, execution-data/summary.txt, collector-errors/ and each collector's files. The archive
is written straight from the staging directory through gzip into a temp file, hashed on the way, then
renamed into place: memory stays flat whatever the bundle's size, and a failed write leaves nothing.

gzip is most of a large bundle's cost, so the tar stream is cut into MEMBER-sized pieces, each deflated
as a gzip member of its own on a pool of threads (zlib releases the GIL: one per CPU, up to 4), and the members
are written in order. RFC 1952 allows several members in one file and every reader the bundle meets
(gzip, tar, Python's tarfile, Go's compress/gzip in troubleshoot and sbctl) reads them as one stream;
pigz writes the same shape. Each member restarts deflate's 32 KiB window, which costs well under 1 %
of size at 1 MiB a member.
"""
from __future__ import annotations

import hashlib
import os
import tarfile
import zlib
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
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
MEMBER = 1 << 20        # uncompressed bytes per gzip member
LEVEL = 6               # gzip's default, the speed/size balance the bundle is measured against
COPY_BLOCK = 1 << 20    # tarfile's read size for a file's content (its default is 16 KiB)
# A pod sees every CPU of its node whatever its CPU limit: threads past the CPUs it may use add members
# in flight (memory, 2 per worker), not speed. 4 keeps that under ~12 MiB and still takes a run well
# below gzip's time on a small machine.
MAX_WORKERS = 4
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
    workers = min(len(os.sched_getaffinity(0)), MAX_WORKERS)
    with atomic_file(destination) as raw, ThreadPoolExecutor(workers, "gzip-member") as pool:
        hashing = HashingWriter(raw)
        members = GzipMembers(hashing, pool, in_flight=2 * workers)
        try:
            with tarfile.open(fileobj=members, mode="w", format=tarfile.PAX_FORMAT,  # type: ignore[call-overload]
                              copybufsize=COPY_BLOCK) as tar:
                tar.add(staging, arcname=staging.name, filter=_normalize)
            members.close()
        finally:
            members.cancel()
    return Archive(destination, hashing.size, hashing.digest.hexdigest())


class GzipMembers:
    """The write side of a .gz file made of independent members, deflated on `pool` and written to
    `raw` in order. At most `in_flight` members wait for a worker or to be written: memory stays flat
    and the writer (tar reading the staged files) never runs far ahead of compression."""

    def __init__(self, raw: HashingWriter, pool: ThreadPoolExecutor, *, in_flight: int) -> None:
        self.raw, self.pool, self.in_flight = raw, pool, in_flight
        self.buffer = bytearray()
        self.position = 0      # uncompressed bytes written: tarfile asks with tell()
        self.pending: deque[Future[bytes]] = deque()

    def write(self, data: bytes) -> int:
        self.buffer += data
        self.position += len(data)
        if len(self.buffer) >= MEMBER:
            self._submit()
        return len(data)

    def tell(self) -> int:
        return self.position

    def close(self) -> None:
        """Compress what is left and write every member still pending."""
        if self.buffer:
            self._submit()
        while self.pending:
            self.raw.write(self.pending.popleft().result())

    def cancel(self) -> None:
        """Drop the members not yet started (after a failure: nothing more is written)."""
        for future in self.pending:
            future.cancel()
        self.pending.clear()

    def _submit(self) -> None:
        self.pending.append(self.pool.submit(_deflate_member, bytes(self.buffer)))
        self.buffer.clear()
        while len(self.pending) > self.in_flight:
            self.raw.write(self.pending.popleft().result())


def _deflate_member(data: bytes) -> bytes:
    """One complete gzip member (header with mtime 0: the same bytes give the same member)."""
    deflate = zlib.compressobj(LEVEL, zlib.DEFLATED, 31)
    return deflate.compress(data) + deflate.flush()


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
