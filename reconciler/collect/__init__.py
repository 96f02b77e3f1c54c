"""Collection: turn troubleshoot collector specs into files in a bundle's staging directory.

Every collector is a function `collect(spec, ctx) -> None` that writes files through `ctx.output`
(paths relative to the bundle's top directory, as troubleshoot lays them out) and signals what
happened by returning (succeeded) or raising:
  - `Skipped(reason)`: not applicable here (unsupported on this host, excluded, forbidden); recorded,
    the run goes on;
  - any other exception: the collector failed; recorded in collector-errors/, the run goes on.
Collectors must honour `ctx.timeout` in their own blocking calls (subprocess, sockets, HTTP) and may
poll `ctx.cancelled` in long loops; the runner gives up on them after the timeout regardless.
"""
from __future__ import annotations

import json
import os
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING, Any, Callable, Mapping

from ..store.paths import DIR_MODE, FILE_MODE, ensure_dir
from .groups import ProcessGroups

if TYPE_CHECKING:
    from .kube.client import Kube


class Skipped(Exception):
    """The collector does not apply here; `str(exc)` says why."""


@dataclass(frozen=True)
class CollectorSpec:
    """One entry of a spec's `collectors` / `hostCollectors` list: `{kind: {params}}`."""

    kind: str
    params: Mapping[str, Any]
    host: bool          # from hostCollectors (or a HostCollector/HostPreflight spec)
    source: str = ""    # the spec file it came from, or "inline"

    @property
    def name(self) -> str:
        """troubleshoot's collectorName, else the kind: names output files and error records."""
        return str(self.params.get("collectorName") or self.kind)


class Output:
    """The staging directory of one bundle: collectors write here, streaming, never in memory."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, relative: str) -> Path:
        """The absolute path for a bundle-relative path, parents created 0700. Refuses escapes."""
        rel = PurePosixPath(relative)
        if rel.is_absolute() or ".." in rel.parts or not rel.parts:
            raise ValueError(f"bundle path {relative!r} must be relative and stay inside the bundle")
        target = self.root.joinpath(*rel.parts)
        ensure_dir(target.parent)
        return target

    def scratch(self, prefix: str) -> str:
        """A new private (0700) working dir for a collector's process, beside the bundle's root: in the
        run's staging dir, so outside the archive, and removed with the staging dir by the run, or by
        recovery after the run was killed (a dir in the system temp dir stayed there for good)."""
        return tempfile.mkdtemp(prefix=prefix, dir=self.root.parent)

    def open(self, relative: str, mode: str = "wb", *, truncate: bool = True) -> IO[Any]:
        """A file (0600, created if missing) for streaming writes; `truncate=False` with "r+b" to append."""
        target = self.path(relative)
        flags = (os.O_RDWR if "+" in mode else os.O_WRONLY) | os.O_CREAT | (os.O_TRUNC if truncate else 0)
        return os.fdopen(os.open(target, flags, FILE_MODE), mode)

    def write_bytes(self, relative: str, data: bytes) -> None:
        with self.open(relative, "wb") as handle:
            handle.write(data)

    def write_text(self, relative: str, text: str) -> None:
        self.write_bytes(relative, text.encode("utf-8"))

    def link(self, relative: str, target: str) -> None:
        """A relative symlink `relative` → `target` (both bundle paths), as troubleshoot links pod logs.
        Two pods of one name in two namespaces link the same path from two threads: removing then linking
        raced (FileExistsError), so a link in the way is removed and the link tried again; the last one
        wins. (Not made aside and renamed over: a rename cost 4 ms here, 40,000 of them on a large cluster.)"""
        at = self.path(relative)
        pointing = os.path.relpath(self.path(target), at.parent)
        while True:
            try:
                os.symlink(pointing, at)
                return
            except FileExistsError:
                at.unlink(missing_ok=True)

    def write_json(self, relative: str, value: Any) -> None:
        """JSON as troubleshoot writes it (Go's json.MarshalIndent with two spaces)."""
        self.write_text(relative, json.dumps(value, indent=2, ensure_ascii=False))


class BundleTooLarge(RuntimeError):
    """The run's bundle reached its `limits.maxBundleSizeBytes`: no more output is accepted."""


class Budget:
    """A byte budget shared by all collectors of a run (`limits.maxBundleSizeBytes`). Writes take from it
    as they stream; the one that would pass the limit writes what still fits and stops the collection
    (`exceeded`), so the bundle keeps what it has. Output that bypasses the writes (a `run` collector's
    child process writing into its file) is counted when `measure` walks the staging directory."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self.exceeded = threading.Event()
        self._lock = threading.Lock()

    def take(self, size: int) -> int:
        """How many of `size` bytes may still be written (all, or what is left, setting `exceeded`)."""
        with self._lock:
            allowed = max(0, min(size, self.limit - self.used))
            self.used += allowed
        if allowed < size:
            self.exceeded.set()
        return allowed

    def measure(self, root: Path) -> int:
        """The staged bytes (regular files under `root`), taken as used when more than counted."""
        total = 0
        for directory, _, files in os.walk(root):
            for name in files:
                try:
                    info = os.lstat(os.path.join(directory, name))
                except OSError:
                    continue
                total += info.st_size if not os.path.islink(os.path.join(directory, name)) else 0
        with self._lock:
            self.used = max(self.used, total)
        if total > self.limit:
            self.exceeded.set()
        return total

    def message(self) -> str:
        return f"the bundle reached limits.maxBundleSizeBytes ({self.limit:,} bytes): no more output is accepted"


class GuardedOutput(Output):
    """The Output a collector gets: once its run gives up on it (`cancelled`), writes fail, so a collector
    that overran its timeout cannot add files or bytes after redaction has begun; with a `budget`, writes
    past the run's bundle size limit fail too (after writing what still fits)."""

    def __init__(self, root: Path, cancelled: threading.Event, budget: Budget | None = None) -> None:
        super().__init__(root)
        self.cancelled = cancelled
        self.budget = budget
        self.written = 0   # bytes written through this output (its one collector's thread only): for progress

    def path(self, relative: str) -> Path:
        self._check()
        return super().path(relative)

    def open(self, relative: str, mode: str = "wb", *, truncate: bool = True) -> IO[Any]:
        return _GuardedFile(super().open(relative, mode, truncate=truncate), self._check,  # type: ignore[return-value]
                            self.budget, self._count)  # duck-typed IO

    def _count(self, size: int) -> None:
        self.written += size

    def _check(self) -> None:
        if self.cancelled.is_set():
            raise RuntimeError("the run stopped waiting for this collector: no more output is accepted")
        if self.budget is not None and self.budget.exceeded.is_set():
            raise BundleTooLarge(self.budget.message())


class _GuardedFile:
    """A file whose every write first checks that its collector may still write (and takes its bytes
    from the run's budget)."""

    def __init__(self, raw: IO[Any], check: Callable[[], None], budget: Budget | None = None,
                 count: Callable[[int], None] = lambda _size: None) -> None:
        self._raw, self._check, self._budget, self._count = raw, check, budget, count

    def write(self, data: Any) -> int:
        self._check()
        size = len(data.encode("utf-8")) if isinstance(data, str) else memoryview(data).nbytes
        if self._budget is not None:
            allowed = self._budget.take(size)
            if allowed < size:
                if allowed:   # keep what fits: the bundle has everything up to the limit
                    self._raw.write(data[:allowed] if isinstance(data, str) else memoryview(data).cast("B")[:allowed])
                    self._count(allowed)
                raise BundleTooLarge(self._budget.message())
        written = int(self._raw.write(data))
        self._count(size)
        return written

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)

    def __enter__(self) -> _GuardedFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self._raw.close()


@dataclass
class CollectContext:
    """What a collector may use besides its spec."""

    output: Output
    timeout: float                                   # seconds this collector may take
    cancelled: threading.Event = field(default_factory=threading.Event)  # set when the run gives up
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    kube: Kube | None = None                         # the run's API connection; None: no cluster access
    warnings: list[str] = field(default_factory=list)  # what it could not collect yet went on without (RBAC)
    groups: ProcessGroups = field(default_factory=ProcessGroups)  # the run's: children register here (host/proc)

    def cluster(self) -> Kube:
        """The API connection, for in-cluster collectors."""
        if self.kube is None:
            raise Skipped("no Kubernetes connection for this run (collect.cluster: false)")
        return self.kube


Collector = Callable[[CollectorSpec, CollectContext], None]
