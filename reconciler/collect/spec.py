"""Which collectors a schedule runs: troubleshoot spec files (troubleshoot/reader.py says where each kind
keeps them) plus the schedule's inline lists. A collector with `exclude: true` is recorded as skipped, as
troubleshoot does.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping

from . import CollectorSpec
from ..troubleshoot.reader import SpecFile, read_spec_file


def collectors_of(spec_file: SpecFile) -> list[CollectorSpec]:
    """The collector entries of a parsed spec file, in order."""
    return [c for section in spec_file.collectors
            for c in entries(section.items, host=section.host, source=spec_file.path)]


def entries(items: Any, *, host: bool, source: str) -> list[CollectorSpec]:
    """`[{kind: {params}}]` → CollectorSpecs; an entry not of that shape is reported as its own kind."""
    out: list[CollectorSpec] = []
    for item in items if isinstance(items, list) else [] if items is None else [items]:  # `collectors: 1`: malformed
        if isinstance(item, dict) and len(item) == 1:
            kind, params = next(iter(item.items()))
            out.append(CollectorSpec(str(kind), params if isinstance(params, dict) else {}, host, source))
        else:
            out.append(CollectorSpec("<malformed>", {"entry": item}, host, source))
    return out


def load(paths: Iterable[str], *, inline_collectors: Iterable[Mapping[str, Any]] = (),
         inline_host_collectors: Iterable[Mapping[str, Any]] = (),
         read: Callable[[str], SpecFile] = read_spec_file) -> list[CollectorSpec]:
    """Every collector of a schedule: spec files first (in manifest order), then inline entries. `read`
    gives a file parsed (a run reads the applied snapshots, each once). Raises SpecError."""
    found = [c for path in paths for c in collectors_of(read(path))]
    found += entries(list(inline_collectors), host=False, source="inline")
    found += entries(list(inline_host_collectors), host=True, source="inline")
    return found
