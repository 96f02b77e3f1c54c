"""Helpers for analyzer tests: a bundle directory made of real files, and one analyzer run over it."""
from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Any, Callable, Mapping

import pytest

from reconciler.analyze import AnalyzerSpec, Result, analyze_dir

FIXTURES = Path(__file__).parents[2] / "fixtures"
ANALYZE_FILES = FIXTURES / "troubleshoot" / "analyze-files"     # troubleshoot's pkg/analyze/files
FIXTURE_BUNDLE = FIXTURES / "troubleshoot" / "baseline-k3s-1.31.tar.gz"
SPECS = FIXTURES / "specs" / "support-bundle"

Files = Mapping[str, "str | bytes | Path | Any"]


def write_bundle(root: Path, files: Files) -> Path:
    """A bundle top directory: version.yaml plus `files` (text, bytes, a real file to copy, or JSON data)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "version.yaml").write_text("apiVersion: troubleshoot.sh/v1beta2\nkind: SupportBundle\n")
    for relative, content in files.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Path):
            target.write_bytes(content.read_bytes())
        elif isinstance(content, bytes):
            target.write_bytes(content)
        elif isinstance(content, str):
            target.write_text(content)
        else:
            target.write_text(json.dumps(content))
    return root


@pytest.fixture
def bundle(tmp_path: Path) -> Callable[[Files], Path]:
    counter = iter(range(1_000_000))

    def make(files: Files) -> Path:
        return write_bundle(tmp_path / f"bundle-{next(counter)}", files)

    return make


def run(kind: str, params: Mapping[str, Any], root: Path, *, host: bool = False) -> list[Result]:
    return analyze_dir(root, [AnalyzerSpec(kind, params, host=host)])


def brief(results: list[Result]) -> list[tuple[str, str, str]]:
    """(outcome, title, message) of each result, the way tables state expectations."""
    return [(r.outcome, r.title, r.message) for r in results]


def outcomes(*items: tuple[str, str, str]) -> list[dict[str, Any]]:
    """[("fail", when, message), ...] → a spec's outcomes list (an empty when is left out)."""
    return [{severity: ({"when": when} if when else {}) | {"message": message}}
            for severity, when, message in items]


@pytest.fixture(scope="session")
def fixture_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real k3s bundle, extracted once: its top directory."""
    target = tmp_path_factory.mktemp("k3s")
    with tarfile.open(FIXTURE_BUNDLE, "r:gz") as tar:
        tar.extractall(target, filter="data")
    return target / "supportbundle"
