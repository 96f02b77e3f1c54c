"""Reading an extracted bundle the way troubleshoot's analyzers do, but leniently and confined to the bundle.

- `read(path)`: one file, relative to the bundle's top directory (troubleshoot's getFileContents); a
  missing file raises NotCollected, whose message is troubleshoot's (`<path>: not found`).
- `glob(pattern, exclude)`: every file a glob matches (getChildFileContents), sorted by path so results
  come in a stable order (Go's map order is random); directories are skipped.
- No path leaves the bundle: `..` and absolute paths are resolved inside the top directory, and a
  symlink that points outside it is treated as not collected.
- JSON lists may be Kubernetes List objects or bare arrays (older bundles); YAML that troubleshoot's
  redaction left unparseable (`key: ***HIDDEN***` reads as an alias) is read with the mask replaced.
"""
from __future__ import annotations

import glob as globmod
import os
from pathlib import Path
from typing import Any, Iterable, Sequence

import yaml

from ..base.yamlio import SafeLoader

MASK = "***HIDDEN***"


class NotCollected(Exception):
    """The file is not in the bundle."""

    def __init__(self, name: str) -> None:
        super().__init__(f"{name}: not found")
        self.name = name


class Bundle:
    """An extracted bundle's top directory (the one holding version.yaml, cluster-resources/, ...)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()

    def _inside(self, relative: str) -> Path | None:
        joined = Path(os.path.normpath(os.path.join(str(self.root), relative.lstrip("/"))))
        try:
            real = joined.resolve()
        except OSError:
            return None
        if real != self.root and self.root not in real.parents:
            return None
        return joined

    def read(self, relative: str) -> bytes:
        path = self._inside(relative)
        if path is None or not path.is_file():
            raise NotCollected(relative)
        return path.read_bytes()

    def exists(self, relative: str) -> bool:
        path = self._inside(relative)
        return path is not None and path.is_file()

    def paths(self, pattern: str, exclude: Sequence[str] = ()) -> list[str]:
        """Files matching `pattern` (relative, Go filepath.Glob syntax), minus those `exclude` globs match,
        sorted; read them one at a time with `read` to keep memory to one file."""
        excluded = {p for ex in exclude for p in self._matches(ex)}
        found: list[str] = []
        for relative in self._matches(pattern):
            path = self._inside(relative)
            if relative not in excluded and path is not None and path.is_file():
                found.append(relative)
        return found

    def glob(self, pattern: str, exclude: Sequence[str] = ()) -> dict[str, bytes]:
        """The contents of `paths(pattern, exclude)`, by path."""
        return {relative: self.read(relative) for relative in self.paths(pattern, exclude)}

    def _matches(self, pattern: str) -> list[str]:
        cleaned = os.path.normpath(pattern.lstrip("/"))
        if cleaned.startswith(".."):
            return []
        full = os.path.join(globmod.escape(str(self.root)), cleaned)
        hits = globmod.glob(full, include_hidden=True)
        return sorted(os.path.relpath(hit, self.root) for hit in hits)


def list_items(document: Any) -> list[dict[str, Any]]:
    """The objects of a Kubernetes List (`{"items": [...]}`) or of a bare JSON array."""
    if isinstance(document, dict):
        items = document.get("items")
        return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []
    if isinstance(document, list):
        return [i for i in document if isinstance(i, dict)]
    raise ValueError(f"expected a Kubernetes List, not {type(document).__name__}")


def load_yaml(data: bytes | str) -> Any:
    """The first YAML document of `data`; if redaction broke it, again with the mask made plain text."""
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    try:
        return _first_document(text)
    except yaml.YAMLError:
        if MASK not in text:
            raise
    return _first_document(text.replace(MASK, "HIDDEN"))


def _first_document(text: str) -> Any:
    documents: Iterable[Any] = yaml.load_all(text, Loader=SafeLoader)
    for document in documents:
        return document
    return None
